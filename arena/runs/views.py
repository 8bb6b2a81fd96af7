"""Serving what untrusted programs produced. Both answers carry a CSP `sandbox`
header, so even opened directly they run in an opaque origin with no access to the
arena's cookies, storage or pages."""

from __future__ import annotations

from csp.decorators import csp_exempt
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from arena.raters.services import rater_for_request
from arena.runs.models import Artifact, Execution

PREVIEW_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:"
)
ARTIFACT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@csp_exempt()  # type: ignore[arg-type]  # this answer sets its own, stricter policy
@require_GET
def preview(request: HttpRequest, execution_id: int) -> HttpResponse:
    execution = Execution.objects.filter(
        pk=execution_id, environment="html", **_owner_filter(request, "response__")
    ).first()
    if execution is None:
        raise Http404("Not found.")
    response = HttpResponse(execution.code, content_type="text/html; charset=utf-8")
    response["X-Frame-Options"] = "SAMEORIGIN"  # framed by the battle page only
    return _harden(response, PREVIEW_CSP)


@csp_exempt()  # type: ignore[arg-type]  # django-csp types views as request-only
@require_GET
def artifact(request: HttpRequest, artifact_id: int) -> HttpResponse:
    item = Artifact.objects.filter(
        pk=artifact_id, **_owner_filter(request, "execution__response__")
    ).first()
    if item is None:
        raise Http404("Not found.")
    response = HttpResponse(bytes(item.data), content_type=item.mime)
    if not item.is_image:
        response["Content-Disposition"] = f'attachment; filename="{item.name}"'
    return _harden(response, ARTIFACT_CSP)


def _owner_filter(request: HttpRequest, prefix: str) -> dict[str, object]:
    """Only the battle's own rater (and staff) may load what its programs made."""
    if request.user.is_staff:
        return {}
    rater = rater_for_request(request, create=False)
    return {f"{prefix}turn__battle__rater": rater} if rater else {"pk__in": []}


def _harden(response: HttpResponse, csp: str) -> HttpResponse:
    response["Content-Security-Policy"] = csp
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
