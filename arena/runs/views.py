"""The preview origin's views. The path token is the capability: it is unguessable, one
per execution, and only the owner's page (the battle's rater, staff) is handed it. These
responses never read or set a session: the preview origin is another site."""

from __future__ import annotations

import json
from datetime import datetime

from csp.decorators import csp_exempt
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from arena.runs.models import Execution, PreviewEvent
from arena.runs.serving import preview_response, preview_unavailable
from executors.pages import vendor_path

MAX_EVENTS_PER_EXECUTION = 5000
MAX_EVENTS_BODY = 64 * 1024
MAX_EVENT_DATA = 1000  # characters of one event's data, as JSON


@csp_exempt()  # type: ignore[arg-type]  # the preview sets its own policy
@xframe_options_exempt  # framing is ruled by the policy's frame-ancestors
@csrf_exempt  # no session here to forge requests with; a page's form posts reload it
@require_http_methods(["GET", "HEAD", "POST"])
def preview_page(request: HttpRequest, token: str) -> HttpResponse:
    execution = _served_here(request, token)
    if execution is None or not execution.has_preview:
        return preview_unavailable()
    return preview_response(execution)


@csrf_exempt
@require_POST
def preview_events(request: HttpRequest, token: str) -> HttpResponse:
    """Telemetry from the preview bridge: a JSON list of {kind, at, data}."""
    execution = _served_here(request, token)
    shown = execution is not None and (execution.has_preview or execution.is_app)
    if execution is None or not shown or len(request.body) > MAX_EVENTS_BODY:
        return HttpResponse(status=404)
    try:
        batch = json.loads(request.body)
    except ValueError:
        return HttpResponse("Expected a JSON list of events.", status=400)
    room = MAX_EVENTS_PER_EXECUTION - execution.events.count()
    events = [e for e in (_event(execution, item) for item in _as_list(batch)) if e][:room]
    PreviewEvent.objects.bulk_create(events)
    return HttpResponse(status=204)


def _served_here(request: HttpRequest, token: str) -> Execution | None:
    """The execution with this token if this preview origin serves it. Each token lives
    on its side's origin only: a page that navigated its own frame to its token on the
    other side's origin would run there, same-origin with the other side's frame."""
    side = settings.PREVIEW_HOSTS.get(request.get_host(), "")
    return Execution.objects.filter(preview_token=token, preview_side=side).first()


def _as_list(batch: object) -> list[object]:
    return batch if isinstance(batch, list) else []


def _event(execution: Execution, item: object) -> PreviewEvent | None:
    if not isinstance(item, dict) or item.get("kind") not in PreviewEvent.Kind.values:
        return None
    data = item.get("data") if isinstance(item.get("data"), dict) else {}
    if len(json.dumps(data)) > MAX_EVENT_DATA:
        data = {"truncated": True}
    return PreviewEvent(
        execution=execution, kind=item["kind"], data=data, client_at=_client_time(item.get("at"))
    )


def _client_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


@require_GET
def preview_vendor(request: HttpRequest, name: str) -> HttpResponseBase:
    """A vendored runtime (React, Vue, Mermaid, Tailwind) or the preview bridge."""
    path = vendor_path(name)
    if path is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    try:
        handle = open(path, "rb")  # noqa: SIM115  FileResponse closes it
    except OSError:
        return HttpResponse("Not installed.", status=404, content_type="text/plain")
    response = FileResponse(handle, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def no_icon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return preview_unavailable()


def server_error(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Something went wrong.", status=500, content_type="text/plain")
