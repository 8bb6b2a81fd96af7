from __future__ import annotations

from django.urls import URLPattern, path

from arena.judges import views

urlpatterns: list[URLPattern] = [
    path("research/judges/", views.judges_page, name="arena-judges"),
    path("research/judges/runs/new", views.run_new, name="arena-judge-run-new"),
    path("research/judges/runs/<int:run_id>/", views.run_row, name="arena-judge-run"),
    path(
        "research/judges/runs/<int:run_id>/report", views.report_new, name="arena-judge-report-new"
    ),
    path("research/judges/reports/<int:report_id>/", views.report_page, name="arena-judge-report"),
    path(
        "research/judges/reports/<int:report_id>/report.json",
        views.report_json,
        name="arena-judge-report-json",
    ),
    path(
        "research/judges/reports/<int:report_id>/<str:mode>-execution.<str:fmt>",
        views.report_rows,
        name="arena-judge-report-rows",
    ),
    path("research/judges/auto/", views.auto_page, name="arena-auto"),
    path("research/judges/auto/new", views.auto_new, name="arena-auto-new"),
    path("research/judges/auto/<int:run_id>/", views.auto_run, name="arena-auto-run"),
    path("research/judges/auto/<int:run_id>/board.json", views.auto_json, name="arena-auto-json"),
]
