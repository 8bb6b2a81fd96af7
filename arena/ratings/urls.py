from __future__ import annotations

from django.urls import path

from arena.ratings import views

urlpatterns = [
    path("leaderboard/", views.leaderboard, name="arena-leaderboard"),
    # path: any stored name links (names are slugs in admin, but imports may add dots, "/"...)
    path("leaderboard/models/<path:name>/", views.model_detail, name="arena-leaderboard-model"),
]
