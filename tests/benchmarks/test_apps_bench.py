"""Server apps: answer finished -> interactive app, and memory per live app sandbox.
Not collected by default:
    python -m pytest tests/benchmarks/test_apps_bench.py -s
Measured as the arena pays it once the answer is in: the app started in its sandbox
(a warm spare of its framework when one waits, as the arena keeps APP_WARM=1; or a
fresh sandbox), waited for through its bridge, then loaded in an already running
headless Chromium until the headless preview calls it ready (text shown and settled; a
game: its first frame drawn on the page's canvas).
Target: Streamlit and Gradio under 6 s on 2 cores."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from executors import apps
from executors.preview import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, ready_script, wait_until_ready

from ..browser.test_apps import GRADIO_GREETER, PYGAME_SQUARE, STREAMLIT_COUNTER

ROUNDS = int(os.getenv("APP_BENCH_ROUNDS", "8"))
PROGRAMS = [
    ("streamlit", STREAMLIT_COUNTER),
    ("gradio", GRADIO_GREETER),
    ("pygame", PYGAME_SQUARE),
]
LIVE_APPS = int(os.getenv("APP_BENCH_LIVE", "9"))  # split among the frameworks
CPU_WINDOW_S = 5.0


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
        browser.close()


def _answer_to_interactive(page: Page, environment: str, code: str) -> tuple[float, float]:
    """(ms until the app answers through its bridge, ms until it is interactive)."""
    started = time.perf_counter()
    app = apps.start_app(environment, code, "/a/bench-token-0123456789")
    try:
        ready = app.wait_ready(120)
        assert ready.status == "ok", ready.log
        answered = time.perf_counter() - started
        with apps.loopback_port(app) as port:
            url = f"http://127.0.0.1:{port}/a/bench-token-0123456789/"
            assert wait_until_ready(page, url, 120, ready_script(environment))
            interactive = time.perf_counter() - started
    finally:
        app.stop()
    return answered * 1000, interactive * 1000


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):7.0f} ms   p95 {p95:7.0f} ms"


def test_answer_finished_to_interactive_app(browser_page: Page) -> None:
    samples: dict[str, list[float]] = {}
    for _ in range(ROUNDS):  # interleaved, so every case sees the same load
        for warm in (True, False):
            apps.keep_warm(1 if warm else 0)
            for environment, code in PROGRAMS:
                if warm:
                    _wait_for_spare(environment)
                else:
                    apps.stop_warm()
                answered, interactive = _answer_to_interactive(browser_page, environment, code)
                mode = "warm" if warm else "cold"
                samples.setdefault(f"{environment} {mode}: answers", []).append(answered)
                samples.setdefault(f"{environment} {mode}: interactive", []).append(interactive)
    apps.keep_warm(0)
    apps.stop_warm()
    print(f"\n{os.popen('uptime').read().strip()}")
    for name, values in samples.items():
        print(f"{name:32} {_summary(values)}")


def _wait_for_spare(environment: str) -> None:
    """A warm spare has imported its framework (the arena keeps one ready between apps)."""
    deadline = time.monotonic() + 120
    while not apps.spares_ready(environment):
        assert time.monotonic() < deadline, f"no warm {environment} sandbox"
        time.sleep(0.2)


def test_memory_per_live_app_sandbox() -> None:
    """LIVE_APPS apps of each framework live at once: the memory cgroup of each, and
    what the host lost in all."""
    apps.keep_warm(0)
    before = _mem_available()
    live: list[apps.App] = []
    try:
        for environment, code in PROGRAMS:
            for index in range(max(1, LIVE_APPS // len(PROGRAMS))):
                app = apps.start_app(environment, code, f"/a/bench-live-{environment}-{index}")
                live.append(app)
        for app in live:
            assert app.wait_ready(180).status == "ok", app.log()
            status, _ = app.request("GET", app.health_path())
            assert status == 200
        time.sleep(2)
        print(f"\n{os.popen('uptime').read().strip()}")
        for environment, _ in PROGRAMS:
            sizes = [app.memory_bytes() or 0 for app in live if app.environment == environment]
            print(
                f"{environment:10} {len(sizes)} live, memory cgroup each: "
                f"median {statistics.median(sizes) / 2**20:.0f} MiB, "
                f"max {max(sizes) / 2**20:.0f} MiB"
            )
        # A game keeps playing with nobody at it (its own loop, capped by its clock), a
        # server app waits: the CPU each uses unattended.
        cpu_before = {app.pid: _cpu_seconds(app.pid) for app in live}
        time.sleep(CPU_WINDOW_S)
        for environment, _ in PROGRAMS:
            shares = [
                (_cpu_seconds(app.pid) - cpu_before[app.pid]) / CPU_WINDOW_S * 100
                for app in live
                if app.environment == environment
            ]
            print(f"{environment:10} unattended CPU each: median {statistics.median(shares):.1f} %")
        lost = before - _mem_available()
        print(
            f"host MemAvailable: {before / 2**20:.0f} MiB before, lost {lost / 2**20:.0f} MiB "
            f"for {len(live)} apps ({lost / len(live) / 2**20:.0f} MiB each); "
            f"at that rate {before // max(1, lost // len(live))} would fit in memory"
        )
    finally:
        for app in live:
            app.stop()


def _cpu_seconds(root: int) -> float:
    """User + system CPU time of `root` and every process below it (the sandbox)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / ticks


def _mem_available() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemAvailable")
