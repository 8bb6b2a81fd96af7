"""The site's edge: what every request passes before any view sees it.

- `InvalidCharactersMiddleware` refuses (400) a path, query or form body that is not
  valid UTF-8 or carries control characters: PostgreSQL refuses NUL in text, so such
  input would fail deep inside a view, and no rater means to send it.
- `SameOriginWebsockets` lets a websocket open only from a page of this very site:
  scheme, host and port of its Origin equal to the site's own (a page on another port
  of an allowed host would otherwise open the rater's battle socket with their cookies).
- `client_ip` reads the rater's address, trusting `X-Forwarded-For` only as deep as
  `TRUSTED_PROXY_COUNT` proxies that the operator declared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.request import split_domain_port, validate_host

# C0 controls other than tab, line feed, form feed, carriage return and escape (which
# pasted code and terminal output legitimately carry).
INVALID_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
DEFAULT_PORTS = {"http": 80, "https": 443}
Scope = dict[str, Any]


def invalid_text(text: str) -> bool:
    return INVALID_CHARACTERS.search(text) is not None


def _invalid_urlencoded(raw: bytes) -> bool:
    """Percent-decoded, so %00 and %FF are seen as what they are."""
    try:
        text = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return invalid_text(text)


def _json_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _invalid_json(raw: bytes) -> bool:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return True
    except ValueError:
        return False  # malformed JSON is the view's to refuse, with its own message
    return any(invalid_text(text) for text in _json_strings(value))


def invalid_request(request: HttpRequest) -> bool:
    if invalid_text(request.path) or _invalid_urlencoded(
        request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
    ):
        return True
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        return _invalid_urlencoded(request.body)
    if content_type == "application/json":
        return _invalid_json(request.body)
    if content_type == "multipart/form-data":  # parsed by Django; file contents are data
        fields = request.POST.lists()
        return any(invalid_text(k) or any(map(invalid_text, vs)) for k, vs in fields)
    return False


class InvalidCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if invalid_request(request):
            return HttpResponseBadRequest(
                "This request contains characters the arena does not accept "
                "(NUL or other control characters, or invalid UTF-8).",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with `TRUSTED_PROXY_COUNT` = n proxies in
    front, the address the outermost of them saw (n-th from the right in X-Forwarded-For).
    Anything further left was written by the client and proves nothing."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-count] if len(hops) >= count else remote


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _site_origin(scope: Scope) -> tuple[str, str, int] | None:
    """This site's own origin as the browser sees it, from the Host the socket came to."""
    host = _header(scope, b"host")
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    secure = settings.HTTPS or scope.get("scheme") == "wss"
    scheme = "https" if secure else "http"
    return scheme, domain, int(port) if port else DEFAULT_PORTS[scheme]


def _origin(value: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def trusted_origins() -> set[tuple[str, str, int]]:
    origins = (_origin(value) for value in settings.CSRF_TRUSTED_ORIGINS)
    return {origin for origin in origins if origin}


def same_origin(scope: Scope) -> bool:
    origin = _origin(_header(scope, b"origin"))
    if origin is None:
        return False
    return origin == _site_origin(scope) or origin in trusted_origins()


class SameOriginWebsockets:
    """ASGI middleware: a websocket whose Origin is not this site is refused (403)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not same_origin(scope):
            await WebsocketDenier()(scope, receive, send)
            return
        await self.app(scope, receive, send)
