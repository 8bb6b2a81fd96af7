"""URLs of the preview origin (arena.runs.middleware routes its requests here)."""

from __future__ import annotations

from django.urls import path

from arena.runs import views

urlpatterns = [
    path("p/<str:token>/", views.preview_page, name="preview-page"),
    path("p/<str:token>/events", views.preview_events, name="preview-events"),
    path("_vendor/<str:name>", views.preview_vendor, name="preview-vendor"),
    path("favicon.ico", views.no_icon),
]

# The arena's error pages link to arena pages, which do not exist here.
handler404 = "arena.runs.views.not_found"
handler500 = "arena.runs.views.server_error"
