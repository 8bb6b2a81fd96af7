"""Serving what untrusted programs produced. Both answers carry a CSP `sandbox`
header, so even opened directly they run in an opaque origin with no access to the
arena's cookies, storage or pages. Who may load them is the owner's rule: the owner's
views look the row up and hand it here."""

from __future__ import annotations

from django.http import HttpResponse

from arena.runs.models import Artifact, Execution

PREVIEW_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; media-src data: blob:"
)
ARTIFACT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def preview_response(execution: Execution) -> HttpResponse:
    """A browser-rendered execution's page, for a sandboxed frame of the arena's pages."""
    response = HttpResponse(execution.code, content_type="text/html; charset=utf-8")
    response["X-Frame-Options"] = "SAMEORIGIN"  # framed by the battle page only
    return _harden(response, PREVIEW_CSP)


def artifact_response(item: Artifact) -> HttpResponse:
    """An image inline; any other file as a download."""
    response = HttpResponse(bytes(item.data), content_type=item.mime)
    if not item.is_image:
        response["Content-Disposition"] = f'attachment; filename="{item.name}"'
    return _harden(response, ARTIFACT_CSP)


def _harden(response: HttpResponse, csp: str) -> HttpResponse:
    response["Content-Security-Policy"] = csp
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
