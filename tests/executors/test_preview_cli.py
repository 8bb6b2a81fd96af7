"""`python -m executors preview`: the stable headless interface, run as tools run it."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from tests.browser.test_apps import (
    GRADIO_CRASH,
    GRADIO_GREETER,
    PYGAME_CRASH,
    PYGAME_SQUARE,
    STREAMLIT_COUNTER,
)
from tests.browser.test_previews import MERMAID, TSX_COUNTER, VUE_COUNTER
from tests.cli import run_module

pytestmark = pytest.mark.browser


def preview(tmp_path: Path, name: str, code: str, environment: str, *extra: str) -> dict:
    source = tmp_path / name
    source.write_text(code)
    done = run_module(
        "executors", "preview", str(source), "--environment", environment, "--json", *extra
    )
    report = json.loads(done.stdout)
    assert set(report) == {"status", "text", "console_errors", "build_log", "screenshot", "wall_ms"}
    assert done.returncode == (0 if report["status"] == "ok" else 1)
    return report


def test_a_tsx_component_is_built_served_and_read_back_with_a_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    report = preview(tmp_path, "App.tsx", TSX_COUNTER, "react", "--screenshot", str(shot))
    assert report["status"] == "ok", report
    assert report["text"] == "Clicked 0 times"
    assert report["console_errors"] == []
    assert report["screenshot"] == str(shot) and shot.read_bytes().startswith(b"\x89PNG")
    assert report["wall_ms"] > 0


def test_a_vue_component_and_a_diagram_render(tmp_path: Path) -> None:
    assert preview(tmp_path, "App.vue", VUE_COUNTER, "vue")["text"] == "Clicked 0 times"
    diagram = preview(tmp_path, "flow.mmd", MERMAID, "mermaid")
    assert diagram["status"] == "ok" and "Ship it" in diagram["text"]


def test_a_build_error_is_reported_with_the_compilers_message(tmp_path: Path) -> None:
    report = preview(tmp_path, "App.jsx", "export default () => <div>;\n", "react")
    assert report["status"] == "build_error"
    assert "App.jsx:2:0: error:" in report["build_log"]
    assert report["screenshot"] is None


def test_a_diagram_that_does_not_parse_is_a_runtime_error(tmp_path: Path) -> None:
    report = preview(tmp_path, "bad.mmd", "flowchart TD\n  A[open --> B\n", "mermaid")
    assert report["status"] == "runtime_error"
    assert any("Mermaid" in error for error in report["console_errors"])


def test_a_page_that_reaches_for_the_network_is_blocked(tmp_path: Path) -> None:
    page = (
        "<p id=o>start</p><script>fetch('http://127.0.0.1:9/x').then("
        "() => o.textContent = 'reached', () => o.textContent = 'blocked')</script>"
    )
    report = preview(tmp_path, "page.html", page, "html")
    assert report["text"] == "blocked"
    assert any("Content Security Policy" in error for error in report["console_errors"])


def test_a_streamlit_app_is_served_and_read_back(tmp_path: Path) -> None:
    report = preview(tmp_path, "app.py", STREAMLIT_COUNTER, "streamlit", "--timeout", "90")
    assert report["status"] == "ok", report
    assert "Tally" in report["text"] and "Count: 0" in report["text"]


def test_a_gradio_app_is_served_and_read_back(tmp_path: Path) -> None:
    report = preview(tmp_path, "app.py", GRADIO_GREETER, "gradio", "--timeout", "90")
    assert report["status"] == "ok", report
    assert "greeting" in report["text"]


def test_a_crashing_app_is_a_runtime_error(tmp_path: Path) -> None:
    crashed = preview(tmp_path, "app.py", GRADIO_CRASH, "gradio", "--timeout", "90")
    assert crashed["status"] == "runtime_error"
    assert "the model forgot something" in crashed["build_log"]
    raising = "import streamlit as st\nst.title('Before')\nx = 1 / 0\n"
    shown = preview(tmp_path, "app.py", raising, "streamlit", "--timeout", "90")
    assert shown["status"] == "runtime_error"
    assert any("ZeroDivisionError" in error for error in shown["console_errors"])


def test_an_app_that_never_answers_is_a_timeout(tmp_path: Path) -> None:
    never = "import time\nimport gradio as gr\ntime.sleep(600)\n"
    report = preview(tmp_path, "app.py", never, "gradio", "--timeout", "15")
    assert report["status"] == "timeout"


def test_a_game_is_played_and_its_canvas_screenshotted(tmp_path: Path) -> None:
    shot = tmp_path / "game.png"
    args = ("--timeout", "90", "--screenshot", str(shot))
    report = preview(tmp_path, "game.py", PYGAME_SQUARE, "pygame", *args)
    assert report["status"] == "ok", report
    assert "Click the game, then play." in report["text"]
    assert report["console_errors"] == []
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_a_game_that_crashes_is_a_runtime_error_with_its_error(tmp_path: Path) -> None:
    at_start = preview(tmp_path, "game.py", PYGAME_CRASH, "pygame", "--timeout", "90")
    assert at_start["status"] == "runtime_error"
    assert at_start["console_errors"] == ["ZeroDivisionError: division by zero"]
    assert "speed = 10 / 0" in at_start["build_log"]


def test_an_apps_page_reaches_nothing_but_its_own_origin(tmp_path: Path) -> None:
    """An app's page comes to Chromium through a raw bridge, without the previews'
    policy, and that Chromium runs on the worker's host: another loopback server (the
    arena, the machine's services) must see nothing of it."""
    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Count) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        app = (
            "import streamlit as st\n"
            "st.title('Shown')\n"
            f"st.markdown('<img src=\"http://127.0.0.1:{port}/hit\">', unsafe_allow_html=True)\n"
        )
        report = preview(tmp_path, "app.py", app, "streamlit", "--timeout", "90")
        server.shutdown()
    assert report["status"] == "ok", report
    assert "Shown" in report["text"]
    assert hits == []
