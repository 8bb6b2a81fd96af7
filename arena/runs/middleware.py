"""The preview origin serves previews and nothing else; the arena never answers there."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

PREVIEW_URLCONF = "arena.runs.preview_urls"


LOOPBACK_ALIASES = ("localhost", "::1")


class PreviewOriginMiddleware:
    """Requests for the preview origin resolve against the preview URLs only: no arena
    page, API or admin exists there. The arena reached under another loopback name than
    its previews' (localhost vs 127.0.0.1) would make them cross-site, and browsers deny
    storage to cross-site frames: that request is sent to the previews' name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.preview_hostname = urlsplit(settings.PREVIEW_ORIGINS["a"]).hostname

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = request.get_host()
        if host in settings.PREVIEW_HOSTS:
            request.urlconf = PREVIEW_URLCONF  # type: ignore[attr-defined]  # Django reads it
            return self.get_response(request)
        address = urlsplit(f"//{host}")
        if self.preview_hostname == "127.0.0.1" and address.hostname in LOOPBACK_ALIASES:
            port = f":{address.port}" if address.port else ""
            return HttpResponseRedirect(f"http://127.0.0.1{port}{request.get_full_path()}")
        return self.get_response(request)
