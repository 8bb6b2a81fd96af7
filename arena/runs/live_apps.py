"""Server apps (Streamlit, Gradio) in the arena: start, caps, idle timeout, stop, recovery.

The process whose job started an app holds it (the sandbox dies with that process) and
runs a reaper thread that stops its apps when they crash, sit idle, or are asked to stop.
Other processes talk to it through the row only: the app proxy (web) records use in
`app_seen_at`; a vote or a re-run sets `app_state = stopping`. See arena/runs/README.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

import executors
from arena.runs.models import Execution
from arena.runs.screenshots import screenshot_app
from arena.runs.signals import execution_changed
from executors import apps
from executors.environments import SERVER_APPS

log = logging.getLogger(__name__)

Status, AppState = Execution.Status, Execution.AppState
REAP_INTERVAL_S = 1.0

_live: dict[int, apps.App] = {}  # execution id -> the app this process holds
_lock = threading.Lock()
_reaper: threading.Thread | None = None


def app_run(execution: Execution) -> None:
    """The run job's part for a server app (the row is claimed, `running`): start it,
    wait until it answers, and keep it. OK means the rater can use it now."""
    refusal = cap_refusal(execution)
    if refusal:
        _finish(execution.pk, status=Status.SANDBOX_ERROR, error=refusal)
        return
    apps.keep_warm(settings.APP_WARM)
    try:
        app = apps.start_app(execution.environment, execution.code, execution.app_path)
    except (apps.AppUnavailable, executors.ExecutorUnavailable) as error:
        _finish(execution.pk, status=Status.SANDBOX_ERROR, error=str(error)[:500])
        return
    ready = app.wait_ready(settings.APP_START_SECONDS)
    if ready.status != "ok":  # wait_ready stopped it
        _finish(
            execution.pk,
            status=Status(ready.status),
            stderr=ready.log,
            error=ready.message,
            wall_ms=ready.ready_ms,
            app_state=AppState.STOPPED,
            app_message=ready.message,
        )
        return
    started = _finish(
        execution.pk,
        status=Status.OK,
        wall_ms=ready.ready_ms,
        app_state=AppState.LIVE,
        app_socket=app.socket_path,
        app_seen_at=timezone.now(),
    )
    if not started:  # the row left `running` meanwhile (a recovery failed it)
        app.stop()
        return
    with _lock:  # held once the row says live, so the reaper never sees it half-started
        _live[execution.pk] = app
    _ensure_reaper()
    if settings.APP_SCREENSHOTS:
        threading.Thread(
            target=screenshot_app, args=(execution.pk, app), name="arena-app-screenshot"
        ).start()


def warm_up() -> None:
    """Start the warm spares now rather than with the first app (APP_WARM)."""
    try:
        apps.keep_warm(settings.APP_WARM)
    except executors.ExecutorUnavailable as error:
        log.warning("no warm app sandboxes: %s", error)


def _finish(execution_id: int, **fields: object) -> bool:
    running = Execution.objects.filter(pk=execution_id, status=Status.RUNNING)
    return running.update(finished_at=timezone.now(), **fields) == 1


def _apps_before(execution: Execution) -> models.QuerySet[Execution]:
    """Apps that hold a sandbox ahead of this one: live ones, and those started earlier
    that are still starting (first come, first served: two sides starting together do
    not refuse each other)."""
    starting = Q(status=Status.RUNNING, environment__in=SERVER_APPS, pk__lt=execution.pk)
    # A live row unused for longer than the idle timeout lost its holder (a worker that
    # died for good): its sandbox died with it, so it holds nothing.
    fresh = timezone.now() - timedelta(seconds=settings.APP_IDLE_SECONDS + 2 * REAP_INTERVAL_S)
    live = Q(app_state__in=Execution.LIVE_APP_STATES, app_seen_at__gte=fresh)
    return Execution.objects.filter(starting | live).exclude(pk=execution.pk)


def cap_refusal(execution: Execution) -> str:
    """Why this app may not start now ("" when it may): per-holder and global caps."""
    others = _apps_before(execution)
    if execution.holder and others.filter(holder=execution.holder).count() >= (
        settings.APP_MAX_PER_RATER
    ):
        return (
            f"You already have {settings.APP_MAX_PER_RATER} apps running, the most one "
            "rater may. Vote in your other battles to close their apps (an unused app "
            f"stops after {idle_text()}), then re-run this one."
        )
    if others.count() >= settings.APP_MAX_LIVE:
        return (
            f"The arena is running its most apps at once ({settings.APP_MAX_LIVE}). "
            "Try again in a few minutes."
        )
    return ""


def idle_text() -> str:
    seconds = settings.APP_IDLE_SECONDS
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def apps_stop(owners: Sequence[models.Model], message: str) -> int:
    """Ask the apps of these owners to stop (a vote ends the battle; a re-run replaces
    the answer's app). The process holding each one stops it within a second."""
    if not owners:
        return 0
    owner_type = ContentType.objects.get_for_model(owners[0])
    live = Execution.objects.filter(
        owner_type=owner_type, owner_id__in=[o.pk for o in owners], app_state=AppState.LIVE
    )
    return live.update(app_state=AppState.STOPPING, app_message=message[:300])


def _ensure_reaper() -> None:
    global _reaper
    with _lock:
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_reap_forever, name="arena-app-reaper", daemon=True)
            _reaper.start()


def _reap_forever() -> None:
    while True:
        time.sleep(REAP_INTERVAL_S)
        try:
            reap()
        except Exception:  # a database hiccup must not end the reaper
            log.exception("app reaper")
        finally:
            connection.close()


def reap() -> None:
    """Stop this process's apps that crashed, sat idle too long, or were asked to stop."""
    with _lock:
        held = dict(_live)
    if not held:
        return
    rows = {
        row["pk"]: row
        for row in Execution.objects.filter(pk__in=held).values("pk", "app_state", "app_seen_at")
    }
    idle_since = timezone.now() - timedelta(seconds=settings.APP_IDLE_SECONDS)
    for pk, app in held.items():
        row = rows.get(pk)
        if row is None or row["app_state"] != AppState.LIVE:
            _stop(pk, "")  # asked to stop (the message came with the request), or gone
        elif not app.alive():
            output = app.log()
            lines = [line for line in output.strip().splitlines() if line.strip()]
            reason = lines[-1][:200] if lines else "no message"
            _stop(pk, f"The app exited: {reason}", stderr=output)
        elif row["app_seen_at"] is None or row["app_seen_at"] < idle_since:
            _stop(pk, f"The app stopped after {idle_text()} without use.")


def _stop(pk: int, message: str, **fields: object) -> None:
    with _lock:
        app = _live.pop(pk, None)
    if app is not None:
        app.stop()
    if message:
        fields["app_message"] = message
    Execution.objects.filter(pk=pk).exclude(app_state=AppState.STOPPED).update(
        app_state=AppState.STOPPED, app_socket="", **fields
    )
    execution = Execution.objects.filter(pk=pk).first()
    if execution is not None:
        execution_changed.send(sender=Execution, execution=execution)


def stop_all(message: str) -> None:
    """Stop every app this process holds (a worker shutting down, tests)."""
    with _lock:
        held = list(_live)
    for pk in held:
        _stop(pk, message)
    apps.stop_warm()


def recover_apps(worker: str, before: datetime) -> list[Execution]:
    """Apps a previous life of this worker held died with it: mark them stopped."""
    orphans = Execution.objects.filter(
        claimed_by=worker, app_state__in=Execution.LIVE_APP_STATES, started_at__lt=before
    )
    with _lock:
        orphans = orphans.exclude(pk__in=list(_live))
    found = list(orphans)
    orphans.update(
        app_state=AppState.STOPPED,
        app_socket="",
        app_message="The app stopped: the arena restarted.",
    )
    return found


def holds(execution_id: int) -> bool:
    with _lock:
        return execution_id in _live
