"""PyGame games in their live sandbox (executors.apps, runtime/apps/game_host.py), over the
bridge as the arena's proxy reaches them: the first frame comes out; a key sent over the
websocket moves the game on; a crash at start or later is reported with its traceback;
an exit ends the app; there is no network inside."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, unix_connect

from executors import apps
from executors.backends.bwrap import BwrapBackend
from tests.browser.test_apps import PYGAME_CRASH, PYGAME_SQUARE

BASE = "/a/game-token-0123456789"
START_S = 90  # a cold start on a loaded 2-core machine


@pytest.fixture
def start(bwrap: BwrapBackend) -> Iterator:
    started: list[apps.App] = []

    def start(code: str) -> apps.App:
        app = apps.start_app("pygame", code, BASE)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


def play(app: apps.App, script) -> object:
    """Run `script(websocket)` against the game's page socket, through the bridge."""

    async def session() -> object:
        async with unix_connect(app.socket_path, f"ws://app{BASE}/ws") as socket:
            return await script(socket)

    return asyncio.run(session())


async def key(socket: ClientConnection, kind: str, name: str) -> None:
    await socket.send(json.dumps({"type": kind, "key": name, "code": name}))


async def quiet(socket: ClientConnection, seconds: float) -> bool:
    """True when nothing arrives for `seconds`."""
    try:
        await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return True
    return False


def test_a_game_draws_a_frame_and_a_key_moves_it_on(start) -> None:
    app = start(PYGAME_SQUARE)
    ready = app.wait_ready(START_S)
    assert ready.status == "ok", ready.log
    status, page = app.request("GET", f"{BASE}/")
    assert status == 200 and b"<canvas" in page

    async def script(socket: ClientConnection) -> tuple[bytes, bool, bytes]:
        first = await socket.recv()
        unchanged = await quiet(socket, 0.5)  # the same picture is not sent again
        await key(socket, "keydown", "ArrowRight")
        moved = await asyncio.wait_for(socket.recv(), 10)
        await key(socket, "keyup", "ArrowRight")
        return bytes(first), unchanged, bytes(moved)

    first, unchanged, moved = play(app, script)
    assert first.startswith(b"\xff\xd8")  # JPEG
    assert unchanged
    assert moved.startswith(b"\xff\xd8") and moved != first


def test_an_exit_ends_the_app_and_the_page_is_told(start) -> None:
    app = start(PYGAME_SQUARE)
    assert app.wait_ready(START_S).status == "ok"

    async def script(socket: ClientConnection) -> dict:
        await socket.recv()
        await key(socket, "keydown", "Escape")
        while isinstance(message := await asyncio.wait_for(socket.recv(), 10), bytes):
            pass
        return dict(json.loads(message))

    news = play(app, script)
    assert news["type"] == "exited"
    assert news["message"] == "The game has exited (status 0)."
    app.sandbox.process.wait(timeout=10)
    assert not app.alive()
    assert app.log().strip().splitlines()[-1] == "The game exited (status 0)."


def test_a_crash_at_start_is_a_runtime_error_with_its_traceback(start) -> None:
    ready = start(PYGAME_CRASH).wait_ready(START_S)
    assert ready.status == "runtime_error"
    assert ready.message == "ZeroDivisionError: division by zero"
    assert "speed = 10 / 0" in ready.log


def test_a_crash_while_playing_is_shown_to_the_page(start) -> None:
    crash_on_space = PYGAME_SQUARE.replace(
        "            running = False\n    keys",
        "            running = False\n"
        "        elif event.type == pygame.KEYDOWN and event.key == pygame.K_SPACE:\n"
        "            raise RuntimeError('the ball fell through the floor')\n    keys",
    )
    app = start(crash_on_space)
    assert app.wait_ready(START_S).status == "ok"

    async def script(socket: ClientConnection) -> dict:
        await socket.recv()
        await key(socket, "keydown", " ")
        while isinstance(message := await asyncio.wait_for(socket.recv(), 10), bytes):
            pass
        return dict(json.loads(message))

    news = play(app, script)
    assert news["type"] == "crashed" and news["message"] == "The game crashed."
    assert "RuntimeError: the ball fell through the floor" in news["log"]
    app.sandbox.process.wait(timeout=10)
    assert "Traceback" in app.log()


def test_there_is_no_network_inside(start) -> None:
    reaching_out = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('network: reached', flush=True)\n"
        "except OSError as error:\n"
        "    print('network: blocked', error, flush=True)\n" + PYGAME_SQUARE
    )
    app = start(reaching_out)
    assert app.wait_ready(START_S).status == "ok"
    assert "network: blocked" in app.log()
    assert "network: reached" not in app.log()
