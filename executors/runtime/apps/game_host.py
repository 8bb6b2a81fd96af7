"""Plays a PyGame game headless in the app sandbox and serves it as one page.

Imported by app_host.py for kind "pygame" (it is copied into the work dir beside it, with
game_page.html). The game runs unchanged in the main thread with SDL's dummy video and
audio drivers. pygame.display.flip/update are wrapped: each call copies the display
surface's pixels, and an encoder thread sends the newest copy, as JPEG and only when it
changed, at most FPS_CAP times a second, to every open page. The page's keyboard and
mouse come back over the same websocket and are posted into pygame's event queue (and
reported by pygame.key.get_pressed / pygame.mouse.get_pos, which many games poll).

Served on 127.0.0.1:<port> (app_host.py bridges the work dir's unix socket to it):
    <base>/         the page        <base>/ws      frames out, input in
    <base>/health   200 once the game has drawn its first frame (executors.apps.wait_ready)
When the game exits or crashes, the pages are told (with the tail of its stderr), then
the process exits with the game's status: the app is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import runpy
import sys
import threading
import time
import traceback
import zlib
from typing import Any

os.environ.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")

import pygame  # noqa: E402 (the drivers are chosen before SDL loads)
from PIL import Image  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402
from websockets.datastructures import Headers  # noqa: E402
from websockets.http11 import Request, Response  # noqa: E402

APP = "app.py"
PAGE = "game_page.html"
FPS_CAP = 30
JPEG_QUALITY = 85
STDERR_TAIL = 4000  # characters of the game's stderr shown in the page when it ends
EXIT_GRACE_S = 1.0  # how long the pages get to hear that the game ended


class Tee(io.TextIOBase):
    """sys.stderr that also keeps its last STDERR_TAIL characters for the page."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tail = ""

    def write(self, text: str) -> int:
        self.tail = (self.tail + text)[-STDERR_TAIL:]
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()


class Frames:
    """The newest raw frame of the display (game thread) and the newest JPEG sent out
    (server loop). The game never waits for the encoder: frames in between are dropped."""

    def __init__(self) -> None:
        self.raw: tuple[bytes, tuple[int, int]] | None = None
        self.new = threading.Condition()
        self.jpeg = b""
        self.version = 0  # of self.jpeg; 0 until the first frame
        self.ended: dict[str, Any] | None = None
        self.changed: asyncio.Event | None = None  # set (and replaced) on each change
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's
        self.pages = 0  # open websockets

    def capture(self) -> None:
        surface = pygame.display.get_surface()
        if surface is None:
            return
        raw = pygame.image.tobytes(surface, "RGB")
        with self.new:
            self.raw = (raw, surface.get_size())
            self.new.notify()

    def encode_forever(self, loop: asyncio.AbstractEventLoop) -> None:
        last_crc = None
        while True:
            with self.new:
                while self.raw is None:
                    self.new.wait()
                raw, size = self.raw
                self.raw = None
            started = time.monotonic()
            crc = zlib.crc32(raw)
            if crc != last_crc:
                last_crc = crc
                out = io.BytesIO()
                Image.frombytes("RGB", size, raw).save(out, "JPEG", quality=JPEG_QUALITY)
                loop.call_soon_threadsafe(self.publish, out.getvalue(), None)
            time.sleep(max(0.0, 1 / FPS_CAP - (time.monotonic() - started)))

    def publish(self, jpeg: bytes, ended: dict[str, Any] | None) -> None:
        """In the server loop: a new frame, or the news that the game ended."""
        if ended is not None:
            self.ended = ended
        else:
            self.jpeg, self.version = jpeg, self.version + 1
        if self.changed is not None:
            self.changed.set()
        self.changed = asyncio.Event()


frames = Frames()


class Input:
    """The rater's keys and buttons held down, as the game sees them."""

    def __init__(self) -> None:
        self.keys: set[int] = set()
        self.buttons = [False, False, False]
        self.pos = (0, 0)
        self.mods = 0


held = Input()
# Browser KeyboardEvent.key values whose pygame name differs (pygame.key.key_code names).
KEY_NAMES = {
    "ArrowLeft": "left",
    "ArrowRight": "right",
    "ArrowUp": "up",
    "ArrowDown": "down",
    "Enter": "return",
    " ": "space",
    "Escape": "escape",
    "Backspace": "backspace",
    "Tab": "tab",
    "Delete": "delete",
    "Insert": "insert",
    "Home": "home",
    "End": "end",
    "PageUp": "page up",
    "PageDown": "page down",
}
# KeyboardEvent.code of the modifiers: the side matters to pygame.
MODIFIERS = {
    "ShiftLeft": ("left shift", pygame.KMOD_LSHIFT),
    "ShiftRight": ("right shift", pygame.KMOD_RSHIFT),
    "ControlLeft": ("left ctrl", pygame.KMOD_LCTRL),
    "ControlRight": ("right ctrl", pygame.KMOD_RCTRL),
    "AltLeft": ("left alt", pygame.KMOD_LALT),
    "AltRight": ("right alt", pygame.KMOD_RALT),
}


def key_of(key: str, code: str) -> int | None:
    """The pygame key constant of a browser key event, or None for keys games cannot
    get (media keys, dead keys)."""
    if code in MODIFIERS:
        name = MODIFIERS[code][0]
    elif code.startswith("Key") and len(code) == 4:
        name = code[3].lower()  # "a" whether or not Shift is down, as SDL does
    elif code.startswith("Digit") and len(code) == 6:
        name = code[5]
    elif key in KEY_NAMES:
        name = KEY_NAMES[key]
    elif len(key) == 1 or (key.startswith("F") and key[1:].isdigit()):
        name = key.lower()
    else:
        return None
    try:
        return int(pygame.key.key_code(name))
    except ValueError:
        return None


def on_key(down: bool, key: str, code: str) -> None:
    constant = key_of(key, code)
    if constant is None:
        return
    mod_bit = MODIFIERS[code][1] if code in MODIFIERS else 0
    if down:
        held.keys.add(constant)
        held.mods |= mod_bit
    else:
        held.keys.discard(constant)
        held.mods &= ~mod_bit
    text = key if len(key) == 1 else ("\r" if key == "Enter" else "")
    kind = pygame.KEYDOWN if down else pygame.KEYUP
    post(kind, key=constant, mod=held.mods, unicode=text if down else "", scancode=0)
    if down and text.isprintable() and text and not held.mods & ~pygame.KMOD_SHIFT:
        post(pygame.TEXTINPUT, text=text)


def on_mouse(kind: str, x: float, y: float, button: int) -> None:
    surface = pygame.display.get_surface()
    width, height = surface.get_size() if surface is not None else (1, 1)
    pos = (min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1))
    rel = (pos[0] - held.pos[0], pos[1] - held.pos[1])
    held.pos = pos
    if kind == "mousemove":
        post(pygame.MOUSEMOTION, pos=pos, rel=rel, buttons=tuple(held.buttons), touch=False)
        return
    number = {0: 1, 1: 2, 2: 3}.get(button, 1)  # browser 0/1/2 -> pygame 1/2/3
    held.buttons[number - 1] = kind == "mousedown"
    event = pygame.MOUSEBUTTONDOWN if kind == "mousedown" else pygame.MOUSEBUTTONUP
    post(event, pos=pos, button=number, touch=False)


def release_all() -> None:
    """The page lost focus: what it held is let go, so no key sticks down."""
    for key in list(held.keys):
        post(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0)
    held.keys.clear()
    held.mods = 0
    for index, down in enumerate(held.buttons):
        if down:
            post(pygame.MOUSEBUTTONUP, pos=held.pos, button=index + 1, touch=False)
    held.buttons = [False, False, False]


def post(kind: int, **attributes: Any) -> None:
    # No display yet, or the game has quit: nobody would read it.
    with contextlib.suppress(pygame.error):
        pygame.event.post(pygame.event.Event(kind, **attributes))


def handle(message: str | bytes) -> None:
    try:
        event = json.loads(message)
        kind = str(event["type"])
        if kind in ("keydown", "keyup"):
            on_key(kind == "keydown", str(event.get("key", "")), str(event.get("code", "")))
        elif kind in ("mousedown", "mouseup", "mousemove"):
            on_mouse(kind, float(event["x"]), float(event["y"]), int(event.get("button", 0)))
        elif kind == "blur":
            release_all()
    except (ValueError, KeyError, TypeError):
        pass  # not a message of our page: ignored


def hook_pygame() -> None:
    """Copy each displayed frame, and answer the game's polling with the page's input."""
    flip, update = pygame.display.flip, pygame.display.update
    pressed, mods = pygame.key.get_pressed, pygame.key.get_mods
    mouse_pos, mouse_pressed = pygame.mouse.get_pos, pygame.mouse.get_pressed

    def flip_and_capture() -> None:
        flip()
        frames.capture()

    def update_and_capture(*args: Any, **kwargs: Any) -> None:
        update(*args, **kwargs)
        frames.capture()

    class Pressed(pygame.key.ScancodeWrapper):
        def __getitem__(self, key: Any) -> Any:
            if isinstance(key, int) and key in held.keys:
                return True
            return super().__getitem__(key)

    pygame.display.flip = flip_and_capture
    pygame.display.update = update_and_capture
    pygame.key.get_pressed = lambda: Pressed(pressed())
    pygame.key.get_mods = lambda: mods() | held.mods
    pygame.mouse.get_pos = lambda: held.pos if held.pos != (0, 0) else mouse_pos()
    pygame.mouse.get_pressed = lambda num_buttons=3: tuple(
        real or page
        for real, page in zip(mouse_pressed(num_buttons), held.buttons + [False] * 2, strict=False)
    )


def http(base: str, page: bytes) -> Any:
    def respond(connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == f"{base}/ws":
            return None  # the websocket handshake goes on
        if path == f"{base}/":
            headers = Headers({"Content-Type": "text/html; charset=utf-8"})
            headers["Content-Length"] = str(len(page))
            return Response(200, "OK", headers, page)
        if path == f"{base}/health":
            if frames.version or frames.ended:
                return connection.respond(200, "drawing\n")
            return connection.respond(503, "no frame yet\n")
        return connection.respond(404, "Not found.\n")

    return respond


async def play(connection: ServerConnection) -> None:
    """One page: the newest frame whenever there is a new one; its input to the game."""
    sender = asyncio.ensure_future(send_frames(connection))
    frames.pages += 1
    try:
        async for message in connection:
            handle(message)
    finally:
        frames.pages -= 1
        sender.cancel()
        release_all()


async def send_frames(connection: ServerConnection) -> None:
    sent = 0
    while True:
        changed = frames.changed
        if frames.version != sent:
            sent = frames.version
            await connection.send(frames.jpeg)
        elif frames.ended is not None:
            await connection.send(json.dumps(frames.ended))
            return
        elif changed is not None:
            await changed.wait()


def serve_forever(port: int, base: str, ready: threading.Event) -> None:
    with open(PAGE, "rb") as handle:
        page = handle.read()

    async def main() -> None:
        frames.changed = asyncio.Event()
        frames.loop = asyncio.get_running_loop()
        threading.Thread(target=frames.encode_forever, args=(frames.loop,), daemon=True).start()
        async with serve(play, "127.0.0.1", port, process_request=http(base, page), max_size=2**16):
            ready.set()
            await asyncio.Future()

    asyncio.run(main())


def run_pygame(port: int, base: str) -> None:
    tee = Tee(sys.stderr)
    sys.stderr = tee
    hook_pygame()
    ready = threading.Event()
    server = threading.Thread(target=serve_forever, args=(port, base, ready), daemon=True)
    server.start()
    ready.wait(10)
    status, ended = play_game(tee)
    tell_pages(ended)
    os._exit(status)


def play_game(tee: Tee) -> tuple[int, dict[str, Any]]:
    """Run the game to its end: (exit status, what the page is told)."""
    try:
        runpy.run_path(APP, run_name="__main__")
        status = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            status = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException as error:
        print_game_traceback(error)
        return 1, {"type": "crashed", "message": "The game crashed.", "log": tee.tail}
    # The host's last line is the reason the arena gives ("The app exited: ...").
    print(f"The game exited (status {status}).", file=sys.stderr)
    sys.stderr.flush()
    message = f"The game has exited (status {status})."
    return status, {"type": "exited", "message": message, "log": tee.tail}


def print_game_traceback(error: BaseException) -> None:
    """The traceback from the game's own code on: this host's frames would only confuse
    (a game that does not compile has none: its error names the line)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_frame.f_code.co_filename != APP:
        frame = frame.tb_next
    if frame is None and not isinstance(error, SyntaxError):
        frame = error.__traceback__  # raised outside the game's code: all of it
    traceback.print_exception(type(error), error, frame)
    sys.stderr.flush()


def tell_pages(ended: dict[str, Any]) -> None:
    """Tell the open pages the game ended, and give them a moment to hear it."""
    if frames.loop is None:
        return
    frames.loop.call_soon_threadsafe(frames.publish, b"", ended)
    if frames.pages:
        time.sleep(EXIT_GRACE_S)
