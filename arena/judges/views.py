"""The judges research pages (staff, or users with `judges.view_judgereport`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from arena.judges.autoarena import AutoArenaError, auto_arena_start, human_board
from arena.judges.forms import AutoArenaForm, RunForm
from arena.judges.models import AutoArenaRun, Judge, JudgeReport, JudgingRun
from arena.judges.prompts import EVIDENCE_MODES
from arena.judges.reports import ROW_FIELDS, latest_reports, store_report
from arena.judges.services import run_start

View = Callable[..., HttpResponseBase]
PAGE_SIZE = 50
DIMENSIONS = ("category", "language", "environment")
PERMISSION = "judges.view_judgereport"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def can_read_reports(user: Any) -> bool:
    return bool(user.is_active and (user.is_staff or user.has_perm(PERMISSION)))


def reports_access(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not can_read_reports(request.user):
            raise PermissionDenied("Judge reports are for researchers.")
        return view(request, *args, **kwargs)

    return wrapped


# --- Judges, runs, comparison ------------------------------------------------------------


@require_GET
@reports_access
def judges_page(request: HttpRequest) -> HttpResponse:
    return _page(request, RunForm())


def _page(request: HttpRequest, form: RunForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "judges": Judge.objects.all(),
        "runs": JudgingRun.objects.select_related("judge")[:PAGE_SIZE],
        "comparison": [_comparison_row(report) for report in latest_reports()],
    }
    return render(request, "judges/judges.html", context, status=status)


def _comparison_row(report: JudgeReport) -> dict[str, Any]:
    modes = {}
    for mode in EVIDENCE_MODES:
        section = report.mode(mode)
        agreement = (section or {}).get("agreement") or {}
        modes[mode] = {
            "overall": agreement.get("overall"),
            "consistency": agreement.get("position_consistency"),
            "spearman": ((section or {}).get("correlation") or {}).get("spearman"),
        }
    return {"report": report, "modes": modes}


@require_POST
@reports_access
def run_new(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    run_start(
        judge=form.cleaned_data["judge"],
        selection=form.selection(),
        modes=form.cleaned_data["modes"],
        user=request.user,
    )
    return HttpResponse(status=303, headers={"Location": reverse("arena-judges")})


@require_GET
@reports_access
def run_row(request: HttpRequest, run_id: int) -> HttpResponse:
    """The htmx poll of one run's row (its progress bar)."""
    run = get_object_or_404(JudgingRun.objects.select_related("judge"), pk=run_id)
    return render(request, "judges/judges.html#run-row", {"run": run})


@require_POST
@reports_access
def report_new(request: HttpRequest, run_id: int) -> HttpResponse:
    """Recompute a finished run's report (e.g. after more votes stopped counting)."""
    run = get_object_or_404(JudgingRun.objects.select_related("judge"), pk=run_id)
    if not run.is_finished:
        return HttpResponse("The run has not finished yet.", status=409)
    report = store_report(run)
    return HttpResponse(
        status=303, headers={"Location": reverse("arena-judge-report", args=[report.pk])}
    )


# --- One report --------------------------------------------------------------------------


@require_GET
@reports_access
def report_page(request: HtmxHttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(JudgeReport.objects.select_related("judge", "run"), pk=report_id)
    dimension = request.GET.get("dimension", "category")
    if dimension not in DIMENSIONS:
        dimension = "category"
    context = {
        "report": report,
        "modes": _mode_views(report),
        "dimension": dimension,
        "dimensions": DIMENSIONS,
        "breakdown": _breakdown(report, dimension),
        "boards": _boards(report),
    }
    template = "judges/report.html#breakdown" if request.htmx else "judges/report.html"
    return render(request, template, context)


def _mode_views(report: JudgeReport) -> list[dict[str, Any]]:
    views = []
    for mode in EVIDENCE_MODES:
        section = report.mode(mode)
        if section is None:
            continue
        agreement = section.get("agreement") or {}
        views.append(
            {
                "name": mode,
                "section": section,
                "agreement": agreement,
                "confusion": [
                    _confusion_view(agreement["confusion"][label_set], label_set)
                    for label_set in ("4class", "3class")
                ]
                if agreement
                else [],
            }
        )
    return views


def _confusion_view(confusion: dict[str, Any], label_set: str) -> dict[str, Any]:
    """Rows of (human label, cells) with each cell's share of its row, for shading."""
    rows = []
    for i, (label, counts) in enumerate(zip(confusion["labels"], confusion["matrix"], strict=True)):
        total = sum(counts)
        cells = [
            {"count": n, "shade": round(10 * n / total) if total else 0, "diagonal": i == j}
            for j, n in enumerate(counts)
        ]
        rows.append({"label": label, "cells": cells, "total": total})
    return {"label_set": label_set, "labels": confusion["labels"], "rows": rows}


def _breakdown(report: JudgeReport, dimension: str) -> list[dict[str, Any]]:
    """One row per group, each mode's metrics side by side."""
    modes = [mode for mode in EVIDENCE_MODES if report.mode(mode) is not None]
    groups: dict[str, dict[str, Any]] = {}
    for mode in modes:
        agreement = (report.mode(mode) or {}).get("agreement") or {}
        for name, metrics in (agreement.get(f"by_{dimension}") or {}).items():
            groups.setdefault(name, {})[mode] = metrics
    return [
        {"name": name, "cells": [groups[name].get(mode) for mode in modes]}
        for name in sorted(groups)
    ]


def _boards(report: JudgeReport) -> list[dict[str, Any]]:
    """Human and judge ratings per model, side by side."""
    human = {m["model"]: m for m in report.data.get("human_board", {}).get("models", [])}
    judge_boards = {
        mode: {m["model"]: m for m in (report.mode(mode) or {}).get("board", {}).get("models", [])}
        for mode in EVIDENCE_MODES
        if report.mode(mode) is not None
    }
    names = sorted(
        set(human).union(*judge_boards.values()), key=lambda n: -human.get(n, {}).get("bt", 0)
    )
    return [
        {
            "model": name,
            "human": human.get(name),
            "judges": [judge_boards[mode].get(name) for mode in judge_boards],
        }
        for name in names
    ]


@require_GET
@reports_access
def report_json(request: HttpRequest, report_id: int) -> JsonResponse:
    report = get_object_or_404(JudgeReport.objects.select_related("judge"), pk=report_id)
    payload = {
        "report": report.pk,
        "judge": report.judge.name,
        "computed_at": report.computed_at.isoformat(),
        "battle_hash": report.battle_hash,
        "battle_ids": report.battle_ids,
        **report.data,
    }
    answer = JsonResponse(payload, json_dumps_params={"indent": 1})
    answer["Content-Disposition"] = f'attachment; filename="judge-report-{report.pk}.json"'
    return answer


@require_GET
@reports_access
def report_rows(request: HttpRequest, report_id: int, mode: str, fmt: str) -> HttpResponse:
    """A mode's labelled rows: JSONL (the agreement CLI's input) or CSV."""
    report = get_object_or_404(JudgeReport, pk=report_id)
    rows = (report.rows or {}).get(mode)
    if rows is None or fmt not in ("jsonl", "csv"):
        raise Http404("This report has no such download.")
    name = f"judge-report-{report.pk}-{mode}-execution.{fmt}"
    if fmt == "jsonl":
        body = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
        content_type = "application/x-ndjson"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        body, content_type = buffer.getvalue(), "text/csv"
    answer = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{name}"'
    return answer


# --- The automatic arena -----------------------------------------------------------------


@require_GET
@reports_access
def auto_page(request: HttpRequest) -> HttpResponse:
    return _auto_page(request, AutoArenaForm())


def _auto_page(request: HttpRequest, form: AutoArenaForm, status: int = 200) -> HttpResponse:
    runs = AutoArenaRun.objects.select_related("judge", "baseline", "prompt_set")
    context = {"form": form, "runs": runs[:PAGE_SIZE]}
    return render(request, "judges/auto.html", context, status=status)


@require_POST
@reports_access
def auto_new(request: HttpRequest) -> HttpResponse:
    form = AutoArenaForm(request.POST)
    if not form.is_valid():
        return _auto_page(request, form, status=400)
    data = form.cleaned_data
    try:
        run = auto_arena_start(
            prompt_set=data["prompt_set"],
            candidates=data["candidates"],
            judge=data["judge"],
            baseline=data["baseline"],
            modes=data["modes"],
            user=request.user,
        )
    except AutoArenaError as error:
        form.add_error(None, str(error))
        return _auto_page(request, form, status=400)
    return HttpResponse(status=303, headers={"Location": reverse("arena-auto-run", args=[run.pk])})


@require_GET
@reports_access
def auto_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run: progress while it works (htmx polls the page and swaps its result block),
    then its board per evidence mode beside the human leaderboard."""
    run = get_object_or_404(
        AutoArenaRun.objects.select_related("judge", "baseline", "prompt_set"), pk=run_id
    )
    context = {"run": run, "modes": _auto_modes(run), "human": _human_rows()}
    return render(request, "judges/auto_run.html", context)


def _auto_modes(run: AutoArenaRun) -> list[dict[str, Any]]:
    return [
        {"name": mode, **board}
        for mode, board in (run.board.get("modes") or {}).items()
        if mode in EVIDENCE_MODES
    ]


def _human_rows() -> list[dict[str, Any]]:
    models: list[dict[str, Any]] = human_board().get("models", [])
    return sorted(models, key=lambda m: -float(m.get("bt") or 0))


@require_GET
@reports_access
def auto_json(request: HttpRequest, run_id: int) -> JsonResponse:
    run = get_object_or_404(
        AutoArenaRun.objects.select_related("judge", "baseline", "prompt_set"), pk=run_id
    )
    payload = {
        "run": run.pk,
        "prompt_set": run.prompt_set.name,
        "judge": run.judge.name,
        "baseline": run.baseline.name,
        "models": sorted(model.name for model in run.candidates.all()),
        "status": run.status,
        **run.board,
    }
    answer = JsonResponse(payload, json_dumps_params={"indent": 1})
    answer["Content-Disposition"] = f'attachment; filename="auto-arena-{run.pk}.json"'
    return answer
