"""Server apps in the runs layer, on the real sandbox and database: a run turns OK once
the app answers through its bridge; a crash is a runtime_error with its traceback; caps
refuse clearly; the holding process stops an app that is asked to, idle, or dead; a
restart marks what died with it; Docker refuses apps."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from arena.battles.models import Response
from arena.raters.models import Rater
from arena.runs import live_apps
from arena.runs.models import Execution
from arena.runs.screenshots import SCREENSHOT_NAME
from arena.runs.services import execution_create, execution_run, recover_executions
from executors import apps
from tests.browser.test_apps import GRADIO_CRASH, PYGAME_CRASH, PYGAME_SQUARE, STREAMLIT_COUNTER
from tests.stack import wait_until

# Committed rows: the reaper thread reads them on its own connection, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

AppState = Execution.AppState


@pytest.fixture(autouse=True)
def no_spares(settings) -> Iterator[None]:
    settings.APP_WARM = 0
    settings.APP_START_SECONDS = 90
    settings.APP_SCREENSHOTS = False  # a Chromium per app: only the test of it takes one
    yield
    live_apps.stop_all("test over")


@pytest.fixture
def response(alice: Rater, make_battle) -> Response:
    return Response.objects.filter(turn__battle=make_battle(alice)).first()


def start(response: Response, code: str = STREAMLIT_COUNTER, env: str = "streamlit") -> Execution:
    execution = execution_create(
        owner=response, code=code, language="python", environment=env, holder="rater:1"
    )
    execution_run(execution.pk)
    execution.refresh_from_db()
    return execution


def held(execution: Execution) -> apps.App:
    app = live_apps._live.get(execution.pk)
    assert app is not None, "this process holds the app"
    return app


def test_a_streamlit_run_is_ok_once_the_app_answers_through_its_bridge(
    response: Response,
) -> None:
    execution = start(response)
    assert execution.status == Execution.Status.OK, execution.stderr
    assert execution.app_state == AppState.LIVE and execution.app_is_live
    app = held(execution)
    assert execution.app_socket == app.socket_path
    status, body = app.request("GET", f"{execution.app_path}/")
    assert status == 200 and b"<html" in body.lower()
    assert app.request("GET", "/")[0] == 404  # it serves under its own path only


def test_a_live_app_is_screenshotted_once_it_has_rendered(response: Response, settings) -> None:
    settings.APP_SCREENSHOTS = True
    execution = start(response)
    assert execution.status == Execution.Status.OK, execution.stderr
    shots = execution.artifacts.filter(name=SCREENSHOT_NAME)
    wait_until(shots.exists, 90, "the app's screenshot")
    shot = shots.get()
    data = bytes(shot.data)
    assert shot.mime == "image/png" and data.startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.size == len(data) > 8000  # the rendered app, not a blank page (~4 KB)
    assert held(execution).alive()  # the app went on serving


def test_a_crash_at_start_is_a_runtime_error_with_its_traceback(response: Response) -> None:
    execution = start(response, GRADIO_CRASH, "gradio")
    assert execution.status == Execution.Status.RUNTIME_ERROR
    assert "the model forgot something" in execution.stderr
    assert "RuntimeError" in execution.error
    assert execution.app_state == AppState.STOPPED and execution.pk not in live_apps._live


def test_a_stop_request_is_carried_out_by_the_holding_process(response: Response) -> None:
    execution = start(response)
    app = held(execution)
    assert live_apps.apps_stop([response], "The battle is over: its apps stopped.") == 1
    live_apps.reap()
    execution.refresh_from_db()
    assert execution.app_state == AppState.STOPPED and execution.app_socket == ""
    assert execution.app_message == "The battle is over: its apps stopped."
    assert not app.alive() and not os.path.exists(app.socket_path)


def test_an_idle_app_is_stopped_and_a_dead_one_noticed(
    response: Response, settings, alice: Rater, make_battle
) -> None:
    idle = start(response)
    app = held(idle)
    Execution.objects.filter(pk=idle.pk).update(app_seen_at=timezone.now() - timedelta(hours=1))
    live_apps.reap()
    idle.refresh_from_db()
    assert idle.app_state == AppState.STOPPED and not app.alive()
    assert idle.app_message == "The app stopped after 10 minutes without use."

    other = Response.objects.filter(turn__battle=make_battle(alice)).first()
    dying = start(other)
    dead = held(dying)
    dead.sandbox.stop()  # the app's processes are gone, as after a crash or the OOM killer
    live_apps.reap()
    dying.refresh_from_db()
    assert dying.app_state == AppState.STOPPED and dying.app_message.startswith("The app exited")


def test_caps_refuse_with_a_clear_message(
    response: Response, settings, alice: Rater, make_battle
) -> None:
    settings.APP_MAX_PER_RATER, settings.APP_MAX_LIVE = 1, 2
    first = start(response)
    assert first.app_is_live
    second = start(Response.objects.filter(turn__battle=make_battle(alice)).first())
    assert second.status == Execution.Status.SANDBOX_ERROR
    assert second.error.startswith("You already have 1 apps running, the most one rater may.")
    stranger = execution_create(
        owner=response, code=STREAMLIT_COUNTER, language="python", environment="streamlit"
    )
    settings.APP_MAX_LIVE = 1
    execution_run(stranger.pk)
    stranger.refresh_from_db()
    assert stranger.error.startswith("The arena is running its most apps at once (1).")


def test_a_restart_marks_the_apps_that_died_with_the_worker(response: Response) -> None:
    execution = start(response)
    app = live_apps._live.pop(execution.pk)  # as if another life of this worker held it
    try:
        recover_executions(execution.claimed_by, timezone.now())
        execution.refresh_from_db()
        assert execution.app_state == AppState.STOPPED
        assert execution.app_message == "The app stopped: the arena restarted."
    finally:
        app.stop()


def test_the_docker_backend_refuses_apps_clearly(response: Response, monkeypatch) -> None:
    monkeypatch.setenv("EXECUTOR_BACKEND", "docker")
    execution = start(response)
    assert execution.status == Execution.Status.SANDBOX_ERROR
    assert execution.error == (
        "streamlit apps need the bubblewrap sandbox; the docker backend cannot run them yet."
    )


def test_a_game_runs_as_an_app_and_its_exit_stops_it(response: Response) -> None:
    # The game quits by itself a few seconds in, as when its player closes it.
    ticks = "    clock.tick(60)\n"
    quits = PYGAME_SQUARE.replace(
        ticks, ticks + "    running = running and pygame.time.get_ticks() < 4000\n"
    )
    execution = start(response, quits, "pygame")
    assert execution.status == Execution.Status.OK, execution.stderr
    assert execution.app_is_live
    app = held(execution)
    status, body = app.request("GET", f"{execution.app_path}/")
    assert status == 200 and b"<canvas" in body
    app.sandbox.process.wait(timeout=30)
    live_apps.reap()
    execution.refresh_from_db()
    assert execution.app_state == AppState.STOPPED
    assert execution.app_message == "The app exited: The game exited (status 0)."


def test_a_game_that_crashes_at_start_is_a_runtime_error(response: Response) -> None:
    execution = start(response, PYGAME_CRASH, "pygame")
    assert execution.status == Execution.Status.RUNTIME_ERROR
    assert execution.error == "ZeroDivisionError: division by zero"
    assert "speed = 10 / 0" in execution.stderr
