"""Serving what untrusted programs produced.

A preview is served on the preview origin (arena.runs.views) with the one policy of
every preview (executors.pages.preview_headers); an artifact on the arena's origin
with a CSP `sandbox`, so even opened directly it runs in an opaque origin with no
access to the arena's cookies, storage or pages. Who may load an artifact is the
owner's rule: the owner's views look the row up and hand it here."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

from arena.runs.models import Artifact, Execution
from executors.pages import preview_headers

ARTIFACT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def preview_response(execution: Execution) -> HttpResponse:
    """A browser-rendered execution's built page, for a frame of the arena's pages."""
    response = HttpResponse(execution.page, content_type="text/html; charset=utf-8")
    return _with_preview_headers(response)


def preview_unavailable() -> HttpResponse:
    """Not found, with the preview's headers: it may be shown in the arena's frame."""
    response = HttpResponse(
        "<!DOCTYPE html><p>This preview is not available.</p>",
        status=404,
        content_type="text/html; charset=utf-8",
    )
    return _with_preview_headers(response)


def _with_preview_headers(response: HttpResponse) -> HttpResponse:
    for name, value in preview_headers(settings.PREVIEW_FRAME_ANCESTORS).items():
        response[name] = value
    return response


def artifact_response(item: Artifact) -> HttpResponse:
    """An image inline; any other file as a download."""
    response = HttpResponse(bytes(item.data), content_type=item.mime)
    if not item.is_image:
        response["Content-Disposition"] = f'attachment; filename="{item.name}"'
    response["Content-Security-Policy"] = ARTIFACT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
