from __future__ import annotations

from django.urls import path

from arena.ratings import views

urlpatterns = [
    path("leaderboard/", views.leaderboard, name="arena-leaderboard"),
    path("leaderboard/models/<str:name>/", views.model_detail, name="arena-leaderboard-model"),
]
