"""Screenshots of previews: a PNG taken by headless Chromium once the preview is ready,
kept as the run's `screenshot.png` artifact (the evidence judges see beside the output).

A page is served on loopback with the preview's own headers, so it reaches nothing but
its vendored runtimes. A server app is reached through its bridge by the process that
holds it; Chromium confines what its page loads to the app's own origin
(executors.preview.confine)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile

from django.db import connection

from arena.runs.models import Artifact, Execution
from executors import apps
from executors.preview import PreviewReport, load_in_chromium, ready_script, serve_page

log = logging.getLogger(__name__)

SCREENSHOT_NAME = "screenshot.png"
SCREENSHOT_TIMEOUT_S = 20
# An app's first render takes longer than a page's (Streamlit runs the script, then
# renders over its websocket); past this the app gets no screenshot.
APP_SCREENSHOT_TIMEOUT_S = 45


def screenshot_take(execution_id: int) -> None:
    """The job `runs.screenshot`: a page preview's screenshot."""
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None or not execution.has_preview:
        return
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, SCREENSHOT_NAME)
        with serve_page(execution.page) as url:
            report = load_in_chromium(url, timeout_s=SCREENSHOT_TIMEOUT_S, screenshot=path)
        _keep(execution_id, report, path)


def screenshot_app(execution_id: int, app: apps.App) -> None:
    """A live app's screenshot, taken by the process holding it (on a thread of its own:
    the rater's page does not wait for it). Chromium is one more visitor of the app: a
    Streamlit script runs once more for it, a game sends it frames."""
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = os.path.join(scratch, SCREENSHOT_NAME)
            with apps.loopback_port(app) as port:
                report = load_in_chromium(
                    f"http://127.0.0.1:{port}{app.base_path}/",
                    timeout_s=APP_SCREENSHOT_TIMEOUT_S,
                    screenshot=path,
                    ready_script=ready_script(app.environment),
                )
            _keep(execution_id, report, path)
    except Exception:  # a screenshot is a nicety: the app goes on without one
        log.exception("no screenshot of app %s", execution_id)
    finally:
        connection.close()  # this thread's own connection


def _keep(execution_id: int, report: PreviewReport, path: str) -> None:
    if report.status == "timeout" or not os.path.exists(path):
        log.warning("no screenshot of execution %s: %s", execution_id, report.status)
        return
    with open(path, "rb") as handle:
        data = handle.read()
    Artifact.objects.create(
        execution_id=execution_id,
        name=SCREENSHOT_NAME,
        mime="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )
