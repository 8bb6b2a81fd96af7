"""A rater as the browser is one, for the load and fault tests: pages over HTTP with the
session and CSRF cookies, and the live battle page over its websocket, heartbeats
included. Loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

VOTE_PANEL = re.compile(r'<section id="vote-panel".*?</section>', re.S)


def votable(message: str) -> bool:
    """The pushed vote panel has its buttons enabled."""
    panel = VOTE_PANEL.search(message)
    return bool(panel) and 'name="winner"' in panel.group(0) and "disabled" not in panel.group(0)


@dataclass
class LivePage:
    """An open battle page: every pushed message with its arrival time (time.time), and
    a count of sockets the server closed while the page still wanted them (drops)."""

    url: str
    headers: dict[str, str]
    heartbeat_s: float
    messages: list[tuple[float, str]] = field(default_factory=list)
    drops: int = 0
    reconnect: bool = True
    _task: asyncio.Task[None] | None = None
    _closing: bool = False

    def open(self) -> LivePage:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, predicate: Any, timeout: float) -> float:
        """When (time.time) the first message satisfying `predicate` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, text in self.messages:
                if predicate(text):
                    return arrived
            await asyncio.sleep(0.05)
        raise TimeoutError("the page never showed it")

    async def _run(self) -> None:
        while not self._closing:
            try:
                async with websockets.connect(
                    self.url, additional_headers=self.headers, open_timeout=30
                ) as socket:
                    beat = asyncio.create_task(_heartbeat(socket, self.heartbeat_s))
                    try:
                        async for message in socket:
                            self.messages.append((time.time(), str(message)))
                    finally:
                        beat.cancel()
            except (websockets.WebSocketException, OSError, TimeoutError):
                pass
            if self._closing:
                return
            self.drops += 1
            if not self.reconnect:
                return
            await asyncio.sleep(0.5)


async def _heartbeat(socket: Any, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        await socket.send(json.dumps({"action": "heartbeat"}))


class Rater:
    def __init__(self, base: str, *, heartbeat_s: float = 10) -> None:
        """`heartbeat_s`: as the page does, a third of the arena's RATER_GONE_SECONDS."""
        self.base = base
        self.heartbeat_s = heartbeat_s
        self.http = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)

    async def __aenter__(self) -> Rater:
        await self.http.get("/")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        token = self.http.cookies.get("csrftoken", "")
        return await self.http.post(
            path, data={**data, "csrfmiddlewaretoken": token}, headers={"Referer": self.base + "/"}
        )

    async def start_battle(self, prompt: str) -> str:
        """The new battle's path (/battles/<id>/)."""
        answer = await self.post("/battles/new", {"prompt": prompt, "consent": "yes"})
        if answer.status_code != 303:
            raise RuntimeError(f"new battle answered {answer.status_code}: {answer.text[:200]}")
        path = answer.headers["Location"]
        await self.http.get(path)
        return path

    def page(self, path: str, *, reconnect: bool = True) -> LivePage:
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        url = self.base.replace("http", "ws", 1) + f"/ws{path}"
        headers = {"Cookie": cookie, "Origin": self.base}
        return LivePage(url, headers, self.heartbeat_s, reconnect=reconnect).open()

    async def vote(self, path: str, winner: str) -> httpx.Response:
        return await self.post(path + "vote", {"winner": winner})
