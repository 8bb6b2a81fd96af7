"""A real HTTP server on 127.0.0.1 that replays scripted replies in an API's wire protocol.

Protocol details (paths, error bodies, stream events) live in a `Protocol`;
this module does the HTTP: chunked SSE bodies, delays, faults, recording,
and noticing when the client hangs up.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from tests.fakes.script import Answer, HttpError, RecordedRequest, Reply, Responder


@dataclass(frozen=True)
class Failure:
    """An error a protocol renders: HTTP status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Renderer(Protocol):
    """Turns one Answer into the protocol's SSE frames, keeping whatever state it needs."""

    def opening(self) -> list[bytes]: ...
    def piece(self, kind: str, text: str) -> list[bytes]: ...
    def closing(self) -> list[bytes]: ...
    def garbled(self) -> bytes: ...
    def error_event(self) -> bytes: ...


class WireProtocol(Protocol):
    stream_path: str
    base_path: str  # what the SDK's base_url ends with

    def check(self, request: RecordedRequest, server: FakeServer) -> Failure | None:
        """Refuse a request a real server would refuse (bad key, unknown model)."""
        ...

    def failure(self, error: HttpError, request: RecordedRequest) -> Failure: ...
    def renderer(self, answer: Answer, request: RecordedRequest) -> Renderer: ...
    def get(self, path: str, server: FakeServer) -> Failure | dict[str, Any]: ...


class _Drop(Exception):
    """Cut the connection now, mid-body."""


class _Gone(Exception):
    """The client hung up."""


class FakeServer:
    """Serve `replies` in order, one per request, then `default` for every later request.

    `default` is a Reply or a function of the RecordedRequest returning one.
    """

    def __init__(
        self,
        protocol: WireProtocol,
        replies: Iterable[Reply] = (),
        *,
        default: Reply | Responder,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        port: int = 0,  # 0: a free port
    ) -> None:
        self.protocol = protocol
        self.default = default
        self.api_key = api_key  # None: accept any key, as local servers do
        self.models = set(models) if models is not None else None  # None: accept any model
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self._replies: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self._disconnected = threading.Event()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.fake = self
        # A short poll interval: stop() waits for one poll, and tests start many servers.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL to give the protocol's SDK."""
        return self.origin + self.protocol.base_path

    @property
    def attempts(self) -> int:
        """Requests to the streaming endpoint so far."""
        return sum(1 for r in self.requests if r.path == self.protocol.stream_path)

    def queue(self, *replies: Reply) -> None:
        """Script the next requests' replies (after those already queued)."""
        with self._lock:
            self._replies.extend(replies)

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """True once a client has hung up in the middle of a stream."""
        return self._disconnected.wait(timeout)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # The request handler calls these, on its own thread.

    def handle(self, handler: _Handler) -> None:
        request = _read(handler)
        with self._lock:
            self.requests.append(request)
        if request.method == "GET":
            result = self.protocol.get(request.path, self)
            if isinstance(result, Failure):
                _send_failure(handler, result)
            else:
                _send_json(handler, 200, result, {})
            return
        if request.path != self.protocol.stream_path:
            _send_failure(handler, self.protocol.failure(HttpError(404), request))
            return
        refused = self.protocol.check(request, self)
        if refused is not None:
            _send_failure(handler, refused)
            return
        reply = self._next_reply(request)
        if isinstance(reply, HttpError):
            _send_failure(handler, self.protocol.failure(reply, request))
        else:
            self._stream(handler, reply, request)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.default(request) if callable(self.default) else self.default

    def _stream(self, handler: _Handler, answer: Answer, request: RecordedRequest) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            for delay, frame in _frames(answer, self.protocol.renderer(answer, request)):
                if delay and self._stopping.wait(delay):
                    raise _Drop
                _write_chunk(handler, frame)
            _write_chunk(handler, b"")  # the last chunk: the body ends cleanly
        except _Drop:
            handler.close_connection = True
        except _Gone:
            handler.close_connection = True
            with self._lock:
                self.disconnects += 1
            self._disconnected.set()


def _frames(answer: Answer, renderer: Renderer) -> Iterator[tuple[float, bytes]]:
    """(delay before, bytes) for each write, with the answer's faults spliced in."""
    for frame in renderer.opening():
        yield 0.0, frame
    pieces = answer.pieces
    for index in range(len(pieces) + 1):
        delay = answer.delay_s + (answer.first_delay_s if index == 0 else 0.0)
        delay += answer.delays[index] if index < len(answer.delays) else 0.0
        if index == answer.garble_after:
            yield delay, renderer.garbled()
        if index == answer.error_after:
            yield delay, renderer.error_event()
            return
        if index == answer.drop_after:
            raise _Drop
        if index == len(pieces):
            break
        frames = renderer.piece(*pieces[index])
        for position, frame in enumerate(frames):
            yield (delay if position == 0 else 0.0), frame
    for frame in renderer.closing():
        yield 0.0, frame


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; `data` is JSON-encoded unless it is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def _write_chunk(handler: _Handler, data: bytes) -> None:
    try:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as err:
        raise _Gone from err


def _read(handler: _Handler) -> RecordedRequest:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    headers = {name.lower(): value for name, value in handler.headers.items()}
    return RecordedRequest(handler.command, handler.path.split("?")[0], headers, body)


def _send_failure(handler: _Handler, failure: Failure) -> None:
    _send_json(handler, failure.status, failure.body, failure.headers)


def _send_json(handler: _Handler, status: int, body: Any, headers: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    try:
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the listen backlog: 32 judges connecting at once (benchmark)
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as the real APIs
    server: _HTTPServer

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self.server.fake.handle(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output quiet
