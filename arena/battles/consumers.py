"""Live battle pane. The consumer never trusts a message to carry state: on connect
and on every "changed" it re-renders the latest turn from the database and sends
only the fragments whose HTML differs from what this socket last sent."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from arena import metrics
from arena.battles import services
from arena.battles.broadcast import battle_group
from arena.battles.selectors import battle_for_rater, battle_view
from arena.raters.services import known_rater

log = logging.getLogger(__name__)

TEMPLATE = "battles/battle.html"
TURNS = "turns"


class BattleConsumer(AsyncWebsocketConsumer):
    battle_id: str
    group: str
    sent: dict[str, str]

    async def connect(self) -> None:
        self.battle_id = str(self.scope["url_route"]["kwargs"]["battle_id"])
        self.renders = _Renders(self.send_changes)
        if not await may_watch(self.scope, self.battle_id):
            await self.close(code=4403)
            return
        self.group = battle_group(self.battle_id)
        self.sent = {}
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        metrics.WEBSOCKETS.inc()
        await page_seen(self.battle_id)
        # A snapshot on connect closes the race with broadcasts sent before joining.
        await self.send_changes()

    async def disconnect(self, code: int) -> None:
        self.renders.stop()
        if hasattr(self, "group"):
            metrics.WEBSOCKETS.dec()
            await page_seen(self.battle_id)
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page says it is there (heartbeat) or asks for a full refresh; anything else
        is answered, never obeyed."""
        try:
            message = json.loads(text_data or "")
            action = message.get("action") if isinstance(message, dict) else None
        except ValueError:
            action = None
        if action == "heartbeat":
            await page_seen(self.battle_id)
        elif action == "refresh":
            self.sent = {}
            await self.send_changes()
        else:
            await self.send(
                text_data=render_to_string(
                    f"{TEMPLATE}#flash", {"message": "Ignored a malformed message from this page."}
                )
            )

    async def battle_changed(self, event: dict[str, Any]) -> None:
        self.renders.request()

    async def send_changes(self) -> None:
        fragments = await render_fragments(self.battle_id, self.sent.get(TURNS, ""))
        changed = [f for f in fragments if self.sent.get(f.key) != f.version]
        if any(f.key == TURNS for f in changed):
            # A new turn: the whole conversation goes, and the panes inside it with it.
            changed = [f for f in changed if f.key == TURNS or not f.in_turns]
        self.sent.update({f.key: f.version for f in fragments})
        if changed:
            await self.send(text_data="\n".join(f.html for f in changed))


class _Renders:
    """Coalesces "changed" events into at most one render per LIVE_RENDER_SECONDS per
    socket, latest state wins: a render reads the database, so the events that arrive
    while one runs or waits fold into the next. Renders run in a task of their own, so
    this socket's other messages (heartbeats, close) never wait behind them.

    After a slow render the socket also waits as long as that render took. A render is
    slow when it queued for a thread or the CPU, i.e. when the process is saturated
    (50 raters' answers streaming at once ask for ~200 renders a second); backing off
    then keeps the queue short, so the render that opens a vote is not stuck behind
    streaming ones."""

    def __init__(self, render: Callable[[], Awaitable[None]]) -> None:
        self.render = render
        self.wanted = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def request(self) -> None:
        self.wanted.set()
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _loop(self) -> None:
        while True:
            await self.wanted.wait()
            self.wanted.clear()
            started = time.monotonic()
            try:
                await self.render()
            except Exception:  # the next event renders again; never kill the socket's loop
                log.exception("live render failed")
            took = time.monotonic() - started
            await asyncio.sleep(max(settings.LIVE_RENDER_SECONDS, took))


async def page_seen(battle_id: str) -> None:
    await database_sync_to_async(services.page_seen, thread_sensitive=False)(battle_id)


async def may_watch(scope: dict[str, Any], battle_id: str) -> bool:
    allowed: bool = await database_sync_to_async(_may_watch, thread_sensitive=False)(
        scope, battle_id
    )
    return allowed


def _may_watch(scope: dict[str, Any], battle_id: str) -> bool:
    rater = known_rater(scope.get("user"), scope.get("cookies") or {})
    return battle_for_rater(battle_id, rater) is not None


@dataclass(frozen=True)
class Fragment:
    key: str
    html: str
    version: str  # the fragment is re-sent when this changes
    in_turns: bool = False  # part of the conversation, so inside the TURNS fragment too


async def render_fragments(battle_id: str, turns_sent: str) -> list[Fragment]:
    # Not thread-sensitive: sockets render side by side on the executor's threads instead
    # of queueing on Django's one sync thread (each render reads and renders on its own).
    fragments: list[Fragment] = await database_sync_to_async(
        _render_fragments, thread_sensitive=False
    )(battle_id, turns_sent)
    return fragments


def _render_fragments(battle_id: str, turns_sent: str) -> list[Fragment]:
    """What the page shows live: the latest turn's panes and editors, the vote panel and
    the follow-up form; plus the whole conversation when its turns differ from
    `turns_sent` (a follow-up posted from another tab, or a response this page missed).
    Earlier turns are final and are otherwise left as the page has them."""
    view = battle_view(battle_id)
    context = {"view": view, "oob": True}
    turns_version = ",".join(str(t.turn.pk) for t in view.turns)
    fragments = []
    if turns_version != turns_sent:
        html = render_to_string(f"{TEMPLATE}#turns", context)
        fragments.append(Fragment(TURNS, html, turns_version))
    for side in view.turns[-1].sides if view.turns else []:
        for name in ("side", "editor", "reruns"):
            html = render_to_string(f"{TEMPLATE}#{name}", {**context, "side": side})
            fragments.append(Fragment(f"{name}-{side.response.pk}", html, html, in_turns=True))
    for name in ("vote-panel", "follow-up"):
        html = render_to_string(f"{TEMPLATE}#{name}", context)
        fragments.append(Fragment(name, html, html))
    return fragments
