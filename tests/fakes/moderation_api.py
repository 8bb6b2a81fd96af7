"""A real OpenAI-compatible moderation server on 127.0.0.1: flags an input containing one
of its words, records every request, and can be told to fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ModerationServer:
    flag_words: dict[str, str]  # word -> the category it trips
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 200  # set 500 to make it fail


@contextmanager
def moderation_server(**flag_words: str) -> Iterator[ModerationServer]:
    state = ModerationServer(flag_words)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path != "/v1/moderations" or state.status != 200:
                self.send_response(404 if state.status == 200 else state.status)
                self.end_headers()
                return
            hits = {c for w, c in state.flag_words.items() if w in str(body.get("input"))}
            payload = {
                "id": "modr-1",
                "model": body.get("model"),
                "results": [
                    {
                        "flagged": bool(hits),
                        "categories": {c: c in hits for c in {"violence", "harassment", *hits}},
                    }
                ],
            }
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
