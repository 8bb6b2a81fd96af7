"""The app proxy: `/a/<token>/...` on the preview origin, HTTP and websockets, to a live
server app's bridge (a unix socket into its sandbox; executors/apps.py).

Who gets through (the argument is in arena/runs/README.md):
1. the path token, the execution's preview token, which only the owner's page is given;
2. a pass cookie for that path, which the proxy sets only in exchange for a ticket: a
   signed, short-lived `?arena_ticket=` that the battle page mints for its rater in the
   frame's URL. The exchange redirects to the bare path, so the ticket leaves the URL.
Websockets must also come from the preview origin itself (Origin header). The app sees
no cookie of the browser's and can set none; its responses get the previews' policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signing
from django.utils import timezone
from websockets.asyncio.client import unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from arena.runs.models import Execution
from executors.environments import SERVER_APPS
from executors.pages import BRIDGE_NAME, VENDOR_PREFIX, preview_headers

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

APP_PATH = re.compile(r"^/a/(?P<token>[A-Za-z0-9_-]{16,64})(?P<rest>/.*)?$")
TICKET_PARAM = "arena_ticket"
PASS_COOKIE = "arena_app_pass"
_TICKET_SALT = "arena.runs.app-ticket"
_PASS_SALT = "arena.runs.app-pass"
MAX_REQUEST_BODY = 16 * 1024 * 1024
SEEN_WRITE_S = 10.0  # how often use of one app is written to its row (at most)
HOP_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"cookie",
    }
)
# Loopback needs no compression, and an uncompressed page can take the bridge script.
DROPPED_REQUEST_HEADERS = HOP_HEADERS | {b"accept-encoding"}
BRIDGE_TAG = f'<script src="{VENDOR_PREFIX}{BRIDGE_NAME}"></script>'.encode()
# What the app may not decide for itself: the previews' policy replaces these.
DROPPED_RESPONSE_HEADERS = HOP_HEADERS | {
    b"set-cookie",
    b"content-security-policy",
    b"x-frame-options",
    b"content-length",  # the proxy streams: the server frames the body itself
}
DROPPED_WS_HEADERS = HOP_HEADERS | {
    b"origin",
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
}


def app_ticket(token: str) -> str:
    return signing.TimestampSigner(salt=_TICKET_SALT).sign(token)


def app_launch_url(execution: Execution) -> str:
    """The frame URL the owner's page gives its rater: the app with a fresh ticket."""
    query = urlencode({TICKET_PARAM: app_ticket(execution.preview_token)})
    return f"{execution.preview_origin}{execution.app_path}/?{query}"


def _ticket_ok(ticket: str, token: str) -> bool:
    signer = signing.TimestampSigner(salt=_TICKET_SALT)
    try:
        return bool(signer.unsign(ticket, max_age=settings.APP_TICKET_SECONDS) == token)
    except signing.BadSignature:
        return False


def _pass_value(token: str) -> str:
    return signing.Signer(salt=_PASS_SALT).sign(token)


def _pass_ok(scope: Scope, token: str) -> bool:
    cookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            with contextlib.suppress(Exception):
                cookie.load(value.decode("latin-1"))
    morsel = cookie.get(PASS_COOKIE)
    if morsel is None:
        return False
    try:
        return bool(signing.Signer(salt=_PASS_SALT).unsign(morsel.value) == token)
    except signing.BadSignature:
        return False


def served_side(scope: Scope) -> str:
    """The side whose preview origin this request is for, or "" (the arena's)."""
    host: bytes = dict(scope.get("headers", [])).get(b"host", b"")
    return str(settings.PREVIEW_HOSTS.get(host.decode("latin-1"), ""))


def is_app_request(scope: Scope) -> bool:
    if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/a/"):
        return False
    return bool(served_side(scope))


class AppRouter:
    """In front of the arena's ASGI app: app paths on the preview origin go to the proxy."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_app_request(scope):
            await proxy(scope, receive, send)
        else:
            await self.app(scope, receive, send)


_seen_written: dict[int, float] = {}


async def _mark_used(execution_id: int) -> None:
    """Record use for the idle timeout, at most every SEEN_WRITE_S per app."""
    now = time.monotonic()
    every = min(SEEN_WRITE_S, settings.APP_IDLE_SECONDS / 4)
    if now - _seen_written.get(execution_id, 0.0) < every:
        return
    _seen_written[execution_id] = now
    await sync_to_async(_write_seen)(execution_id)


def _write_seen(execution_id: int) -> None:
    Execution.objects.filter(pk=execution_id).update(app_seen_at=timezone.now())


def _find_app(token: str, side: str) -> tuple[int, str, str] | None:
    """(id, socket, "") of the live app with this token served on this side's origin,
    or (id, "", why it is not live)."""
    row = (
        Execution.objects.filter(
            preview_token=token, preview_side=side, environment__in=SERVER_APPS
        )
        .values("pk", "status", "app_state", "app_socket", "app_message")
        .first()
    )
    if row is None:
        return None
    if row["status"] == Execution.Status.OK and row["app_state"] == Execution.AppState.LIVE:
        return row["pk"], row["app_socket"], ""
    return row["pk"], "", row["app_message"] or "This app is not running."


async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
    match = APP_PATH.match(scope["path"])
    if match is None:
        await _refuse(scope, send, 404, "There is no app here.")
        return
    token = match["token"]
    if scope["type"] == "http" and await _exchange_ticket(scope, send, token):
        return
    if not _pass_ok(scope, token):
        await _refuse(scope, send, 403, "This app is open only to the rater of its battle.")
        return
    found = await sync_to_async(_find_app)(token, served_side(scope))
    if found is None or not found[1]:
        await _refuse(scope, send, 404, found[2] if found else "There is no app here.")
        return
    execution_id, socket_path, _ = found
    await _mark_used(execution_id)
    if scope["type"] == "http":
        await _http(scope, receive, send, socket_path)
    else:
        await _websocket(scope, receive, send, socket_path, execution_id)


async def _exchange_ticket(scope: Scope, send: Send, token: str) -> bool:
    """A request carrying a ticket: swap it for the pass cookie (or refuse). True when
    the request was answered here."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    tickets = [value for name, value in query if name == TICKET_PARAM]
    if not tickets:
        return False
    if not _ticket_ok(tickets[0], token):
        await _refuse(scope, send, 403, "This link to the app has expired; reload the battle.")
        return True
    rest = urlencode([(name, value) for name, value in query if name != TICKET_PARAM])
    location = scope["path"] + (f"?{rest}" if rest else "")
    cookie = f"{PASS_COOKIE}={_pass_value(token)}; Path=/a/{token}/; HttpOnly; SameSite=Lax" + (
        "; Secure" if settings.HTTPS else ""
    )
    headers = [(b"location", location.encode()), (b"set-cookie", cookie.encode())]
    await send({"type": "http.response.start", "status": 302, "headers": _policy() + headers})
    await send({"type": "http.response.body", "body": b""})
    return True


def _policy() -> list[tuple[bytes, bytes]]:
    headers = preview_headers(settings.PREVIEW_FRAME_ANCESTORS)
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4000 + status})
        return
    body = f"<!DOCTYPE html><p>{_escape(message)}</p>".encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), *_policy()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _forwarded(scope: Scope, dropped: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in scope.get("headers", []) if name not in dropped]


def _target(scope: Scope, scheme: str) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://app{scope['path']}" + (f"?{query}" if query else "")


async def _http(scope: Scope, receive: Receive, send: Send, socket_path: str) -> None:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body.extend(message.get("body", b""))
        if len(body) > MAX_REQUEST_BODY:
            await _refuse(scope, send, 413, "That upload is too large for an app here.")
            return
        if not message.get("more_body"):
            break
    transport = httpx.AsyncHTTPTransport(uds=socket_path)
    timeout = httpx.Timeout(60.0, connect=5.0)
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
        request = client.build_request(
            scope["method"],
            _target(scope, "http"),
            headers=_forwarded(scope, DROPPED_REQUEST_HEADERS),
            content=bytes(body),
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError:
            await _refuse(scope, send, 502, "The app did not answer.")
            return
        try:
            headers = [
                (name.lower(), value)
                for name, value in response.headers.raw
                if name.lower() not in DROPPED_RESPONSE_HEADERS
            ]
            # The previews' policy replaces the app's, but its caching of its own
            # scripts stays (Streamlit's are megabytes).
            kept = [(name, value) for name, value in headers if name == b"cache-control"]
            policy = [(n, v) for n, v in _policy() if not (kept and n == b"cache-control")]
            others = [(name, value) for name, value in headers if name not in _POLICY_NAMES]
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": others + kept + policy,
                }
            )
            if response.headers.get("content-type", "").startswith("text/html"):
                # The preview bridge (telemetry, vote keys) first, as in every preview.
                page = await response.aread()
                await send({"type": "http.response.body", "body": _with_bridge(page)})
                return
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.HTTPError:
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


def _with_bridge(page: bytes) -> bytes:
    head = re.search(rb"<head[^>]*>", page, re.I)
    at = head.end() if head else 0
    return page[:at] + BRIDGE_TAG + page[at:]


_POLICY_NAMES = frozenset(name.lower().encode() for name in preview_headers("x"))


async def _websocket(
    scope: Scope, receive: Receive, send: Send, socket_path: str, execution_id: int
) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    origin = dict(scope.get("headers", [])).get(b"origin", b"").decode("latin-1")
    if origin != settings.PREVIEW_ORIGINS[served_side(scope)]:  # a page of another origin
        await send({"type": "websocket.close", "code": 4403})
        return
    try:
        upstream = await unix_connect(
            socket_path,
            _target(scope, "ws"),
            subprotocols=scope.get("subprotocols") or None,
            additional_headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in _forwarded(scope, DROPPED_WS_HEADERS)
            ],
            max_size=None,
            open_timeout=10,
        )
    except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
        await send({"type": "websocket.close", "code": 1011})
        return
    await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
    async with upstream:
        to_app = asyncio.ensure_future(_browser_to_app(receive, upstream, execution_id))
        to_browser = asyncio.ensure_future(_app_to_browser(send, upstream))
        done, pending = await asyncio.wait(
            {to_app, to_browser}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": 1000})


async def _browser_to_app(receive: Receive, upstream: Any, execution_id: int) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await _mark_used(execution_id)
        data = message.get("bytes")
        if data is None:
            data = message.get("text", "")
        try:
            await upstream.send(data)
        except ConnectionClosed:
            return


async def _app_to_browser(send: Send, upstream: Any) -> None:
    try:
        async for data in upstream:
            if isinstance(data, bytes):
                await send({"type": "websocket.send", "bytes": data})
            else:
                await send({"type": "websocket.send", "text": data})
    except ConnectionClosed:
        return
