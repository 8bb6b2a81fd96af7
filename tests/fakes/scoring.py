"""A scalar reward model's scoring endpoint: a real HTTP server on 127.0.0.1.

    with scoring_server(score=lambda body: len(body["response"])) as srv:
        RewardEndpoint(url=srv.url, request_template=..., score_path="score")

Each POST's JSON body is recorded (`srv.bodies`) and answered `{"score": score(body)}`
unless a scripted `ScoreReply` is queued: a status, a raw body (garbage, HTML, a missing
field) and a delay (a timeout when it exceeds the client's).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ScoreReply:
    status: int = 200
    body: str = '{"score": 0.5}'
    delay_s: float = 0.0
    content_type: str = "application/json"


class ScoringServer:
    def __init__(self, score: Callable[[Any], float], replies: tuple[ScoreReply, ...]) -> None:
        self.score = score
        self.delay_s = 0.0  # added before every default reply
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self._replies: deque[ScoreReply] = deque(replies)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.scoring = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/score"

    def queue(self, *replies: ScoreReply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reply_to(self, body: Any, headers: dict[str, str]) -> ScoreReply:
        with self._lock:
            self.bodies.append(body)
            self.headers.append(headers)
            if self._replies:
                return self._replies.popleft()
        return ScoreReply(body=json.dumps({"score": self.score(body)}), delay_s=self.delay_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.scoring.reply_to(body, headers)  # type: ignore[attr-defined]
        if reply.delay_s:
            time.sleep(reply.delay_s)
        data = reply.body.encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@contextmanager
def scoring_server(
    *replies: ScoreReply, score: Callable[[Any], float] = lambda body: 0.5
) -> Iterator[ScoringServer]:
    server = ScoringServer(score, replies)
    server.start()
    try:
        yield server
    finally:
        server.stop()
