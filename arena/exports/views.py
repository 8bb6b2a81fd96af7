"""The research page (session users with the researcher permission) and the token API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from arena.exports.forms import ExportForm
from arena.exports.models import ApiToken, Export
from arena.exports.schema import SCHEMA_ID
from arena.exports.services import archive_path, export_start
from arena.llms.models import LanguageModel
from arena.ratings.snapshots import OVERALL, latest_snapshot

View = Callable[..., HttpResponseBase]
PAGE_SIZE = 50


def is_researcher(user: Any) -> bool:
    return bool(user.is_active and (user.is_staff or user.has_perm("exports.view_export")))


def researcher_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not is_researcher(request.user):
            raise PermissionDenied("Exports are for researchers.")
        return view(request, *args, **kwargs)

    return wrapped


# --- Research page ----------------------------------------------------------------------


@require_GET
@researcher_required
def exports_page(request: HttpRequest) -> HttpResponse:
    return _page(request, ExportForm())


def _page(request: HttpRequest, form: ExportForm, status: int = 200) -> HttpResponse:
    context = {"form": form, "exports": Export.objects.all()[:PAGE_SIZE], "schema": SCHEMA_ID}
    return render(request, "exports/exports.html", context, status=status)


@require_POST
@researcher_required
def export_new(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    if not form.is_valid() or form.filters is None:
        return _page(request, form, status=400)
    export_start(fmt=form.cleaned_data["format"], filters=form.filters, user=request.user)
    return HttpResponse(status=303, headers={"Location": reverse("arena-exports")})


@require_GET
@researcher_required
def export_row(request: HttpRequest, export_id: int) -> HttpResponse:
    """The htmx poll of one running export's row."""
    export = get_object_or_404(Export, pk=export_id)
    return render(request, "exports/exports.html#export-row", {"export": export})


@require_GET
@researcher_required
def export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    return _download(get_object_or_404(Export, pk=export_id))


def _download(export: Export) -> FileResponse:
    path = archive_path(export)
    if path is None:
        raise Http404("This export has no file (not finished, failed, or deleted).")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip"
    )


# --- Token API --------------------------------------------------------------------------


def token_required(view: View) -> View:
    """`Authorization: Bearer <token>`; every refusal is a 401 JSON answer (RFC 6750)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("missing_token", "Send Authorization: Bearer <token>.")
        row = ApiToken.objects.filter(digest=ApiToken.digest_of(token.strip())).first()
        if row is None:
            return _unauthorized("invalid_token", "Unknown token.")
        if row.is_revoked:
            return _unauthorized("invalid_token", "This token was revoked.")
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        return view(request, *args, **kwargs)

    return wrapped


def _unauthorized(code: str, message: str) -> JsonResponse:
    answer = JsonResponse({"error": code, "message": message}, status=401)
    answer["WWW-Authenticate"] = f'Bearer error="{code}"'
    return answer


@require_GET
@token_required
def api_exports(request: HttpRequest) -> JsonResponse:
    exports = Export.objects.all()[:PAGE_SIZE]
    return JsonResponse(
        {"schema": SCHEMA_ID, "exports": [_export_json(request, e) for e in exports]}
    )


def _export_json(request: HttpRequest, export: Export) -> dict[str, Any]:
    done = export.status == Export.Status.DONE
    url = reverse("arena-api-export-download", args=[export.pk])
    return {
        "id": export.pk,
        "name": export.name,
        "format": export.format,
        "status": export.status,
        "filters": export.filters,
        "rows": export.rows_done if done else None,
        "bytes": export.archive_bytes,
        "sha256": export.archive_sha256 or None,
        "created_at": export.created_at.isoformat(),
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "download_url": request.build_absolute_uri(url) if done else None,
    }


@require_GET
@token_required
def api_export_download(request: HttpRequest, export_id: int) -> HttpResponseBase:
    export = Export.objects.filter(pk=export_id).first()
    if export is None or archive_path(export) is None:
        return JsonResponse(
            {"error": "not_found", "message": "No such finished export."}, status=404
        )
    return _download(export)


@require_GET
@token_required
def api_leaderboard(request: HttpRequest) -> JsonResponse:
    """The newest stored snapshot of a scope as computed, minus the models that are not
    public. Not the page's board: ranks stay the snapshot's (hidden models counted), and
    models under the minimum vote count are not set apart."""
    scope = request.GET.get("scope", OVERALL)[:100]
    snapshot = latest_snapshot(scope)
    if snapshot is None:
        return JsonResponse(
            {"error": "not_found", "message": f"No snapshot for {scope!r}."}, status=404
        )
    data = snapshot.data or {}
    hidden = set(LanguageModel.objects.filter(is_public=False).values_list("name", flat=True))
    return JsonResponse(
        {
            "scope": snapshot.scope,
            "computed_at": snapshot.computed_at.isoformat(),
            "n_votes": snapshot.n_votes,
            "params": snapshot.params,
            "models": [m for m in data.get("models", []) if m.get("model") not in hidden],
            "error": data.get("error", ""),
        }
    )
