"""A real arena for the browser: migrate, seed and serve with Daphne in embedded
mode (SQLite in a temporary directory, jobs in the server process), exactly as
the quick start runs it, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.getenv("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Arena:
    url: str
    env: dict[str, str]
    preview_origins: tuple[str, str] = ("", "")  # side A's, side B's
    pid: int = 0  # the server process

    def shell(self, code: str) -> str:
        """Run Python against the arena's database, as an admin would in `manage.py shell`."""
        return self.manage("shell", "-v", "0", "-c", code)

    def use_models(self, *models: dict[str, str]) -> None:
        """Replace the active models with these (demo models are switched off)."""
        rows = ", ".join(repr(m) for m in models)
        self.shell(
            "from arena.llms.models import LanguageModel as M\n"
            "M.objects.update(is_active=False)\n"
            f"for row in [{rows}]: M.objects.update_or_create(name=row['name'], defaults=row)"
        )

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def arena_with(tmp_path: Path) -> Iterator[Callable[..., Arena]]:
    """Start an arena with these settings (environment variables) added."""
    with contextlib.ExitStack() as stack:

        def start(**settings: str) -> Arena:
            return stack.enter_context(_serve(tmp_path, settings))

        yield start


@pytest.fixture
def arena(arena_with: Callable[..., Arena]) -> Arena:
    return arena_with()


@contextlib.contextmanager
def _serve(tmp_path: Path, settings: dict[str, str]) -> Iterator[Arena]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "JOBS_MODE", "DJANGO_SETTINGS_MODULE")
    }
    # A short absence limit lets the tab-closing test see jobs stop within seconds.
    # No warm app sandboxes unless a test asks (tests/browser/test_apps.py): they cost
    # every arena started here seconds of CPU.
    # Nor app screenshots (a Chromium each; tests/runs/test_server_apps.py has one).
    env.update(DATA_DIR=str(tmp_path), DEBUG="False", RATER_GONE_SECONDS="3", APP_WARM="0")
    env.update(APP_SCREENSHOTS="False")
    env.update(settings)
    port, preview_a, preview_b = free_port(), free_port(), free_port()
    # Previews on two more ports of the same server (one per side), as in the quick start.
    origins = (f"http://127.0.0.1:{preview_a}", f"http://127.0.0.1:{preview_b}")
    env.update(PREVIEW_ORIGIN=origins[0], PREVIEW_ORIGIN_B=origins[1])
    server = Arena(f"http://127.0.0.1:{port}", env, origins)
    server.manage("migrate", "-v0")
    server.manage("seed_demo")
    log = (tmp_path / "daphne.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "-e",
            f"tcp:port={preview_a}:interface=127.0.0.1",
            "-e",
            f"tcp:port={preview_b}:interface=127.0.0.1",
            "arena.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    server.pid = process.pid
    try:
        _wait_for_port(port, process)
        yield server
    finally:
        process.terminate()  # Daphne may wait on open websockets; don't wait for long
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("daphne exited before it served")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("daphne did not start listening")


@pytest.fixture
def page(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


def type_and_start(page: Page, url: str, request: str) -> None:
    """Type a request on the home page, agree to the terms when asked (a first battle), start."""
    page.goto(url + "/")
    page.get_by_label("Your request").fill(request)
    consent = page.get_by_label("I agree to these terms")
    if consent.count():
        consent.check()
    page.get_by_role("button", name="Start battle").click()
