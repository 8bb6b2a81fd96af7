from __future__ import annotations

from django.urls import URLPattern, path

from arena.exports import views

urlpatterns: list[URLPattern] = [
    # /research/exports/: the researcher page (session login)
    path("research/exports/", views.exports_page, name="arena-exports"),
    path("research/exports/new", views.export_new, name="arena-export-new"),
    path("research/exports/<int:export_id>/", views.export_row, name="arena-export-row"),
    path(
        "research/exports/<int:export_id>/download",
        views.export_download,
        name="arena-export-download",
    ),
    # /api/v1/: bearer tokens
    path("api/v1/exports", views.api_exports, name="arena-api-exports"),
    path(
        "api/v1/exports/<int:export_id>/download",
        views.api_export_download,
        name="arena-api-export-download",
    ),
    path("api/v1/leaderboard", views.api_leaderboard, name="arena-api-leaderboard"),
]
