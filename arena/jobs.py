"""The job registry: every background job by name, and how it is dispatched.

Apps register their jobs in `AppConfig.ready()` and start them by name:

    jobs.register("runs.execute", execution_run, recover=recover_executions)
    jobs.enqueue("runs.execute", execution.pk)

The same job function runs in both modes; only dispatch differs. Service mode sends
`(name, *args)` to Celery's one task, `arena.jobs.run` (arena/celery.py), on the job's
own queue (QUEUES), so that each kind of work has workers and a concurrency of its own
and a slow leaderboard refresh cannot hold a slot generation needs. Embedded mode
runs the job on a thread pool of the web process, started from the server's own event
loop (see `remember_server_loop`), so that its broadcasts travel through the in-memory
channel layer on the loop that owns it, where the consumers listen.

This module imports no app: apps import it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from arena import metrics
from arena.logs import log_context

log = logging.getLogger(__name__)

# One Celery queue per kind of work; README.md says how many workers each wants.
QUEUES = ("generation", "execution", "ratings", "exports", "judges")

JobFunction = Callable[..., None]
# Fails what a dead worker of this name claimed before `before` (the start of this
# worker's life: rows it claims from then on are its own); returns how many it changed.
Recovery = Callable[[str, datetime], int]
# The ids of rows still waiting, unclaimed, that were queued before a moment: their job
# message may be lost (a broker restarted without persistence, a process died holding
# it), so they are queued again. Claims are conditional, so a duplicate costs nothing.
Waiting = Callable[[datetime], list[Any]]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunction
    queue: str
    recover: Recovery | None = None
    waiting: Waiting | None = None
    time_limit_s: int | None = None  # Celery kills a wedged job after this long


_registry: dict[str, Job] = {}

_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="arena-job")
_server_loop: asyncio.AbstractEventLoop | None = None
_running: set[asyncio.Future[Any]] = set()  # strong refs: the loop only keeps weak ones


def register(
    name: str,
    func: JobFunction,
    *,
    queue: str,
    recover: Recovery | None = None,
    waiting: Waiting | None = None,
    time_limit_s: int | None = None,
) -> None:
    if queue not in QUEUES:
        raise ValueError(f"job {name!r}: unknown queue {queue!r}; choose one of {QUEUES}")
    existing = _registry.get(name)
    if existing is not None and existing.func is not func:
        raise ValueError(f"job {name!r} is already registered to {existing.func!r}")
    _registry[name] = Job(name, func, queue, recover, waiting, time_limit_s)


def get(name: str) -> Job:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}; registered: {sorted(_registry)}") from None


def names() -> list[str]:
    return sorted(_registry)


def enqueue(name: str, *args: Any, delay_s: float = 0) -> None:
    """Start job `name(*args)` once the current transaction commits (never before: the
    job reads rows this transaction writes), `delay_s` seconds after it."""
    job = get(name)  # an unknown name fails here, in the caller, not later in a worker
    if settings.JOBS_MODE == "celery":
        transaction.on_commit(lambda: _send_to_celery(job, args, delay_s))
    elif delay_s > 0:
        timer = threading.Timer(delay_s, run_in_background, args=(job.name, *args))
        timer.daemon = True
        transaction.on_commit(timer.start)
    else:
        transaction.on_commit(lambda: run_in_background(job.name, *args))


def run(name: str, *args: Any) -> None:
    """Run a job here and now (Celery's task and the embedded pool both end here)."""
    job = get(name)
    with log_context(job=name, job_args=",".join(map(str, args))):
        try:
            job.func(*args)
        except Exception:
            metrics.JOBS.labels(name, "crashed").inc()
            raise
    metrics.JOBS.labels(name, "done").inc()


_node: str = ""  # a Celery worker's node name, e.g. "execution@host" (identify_worker)


_started_at: datetime | None = None


def identify_worker(node: str) -> None:
    """Called as a Celery worker starts, before its first task: several workers may
    share a host, and each must recover only the rows it claimed itself, so rows are
    claimed by node name; and only those of its previous life, claimed before now."""
    global _node, _started_at
    _node, _started_at = node, timezone.now()


def started_at() -> datetime:
    return _started_at or timezone.now()


def worker_name() -> str:
    """Who claims a row: lets a restarted worker find and fail what it left running."""
    if settings.JOBS_MODE == "celery":
        return f"celery:{_node or socket.gethostname()}"
    return f"embedded:{socket.gethostname()}"


def recover_orphans(worker: str, before: datetime) -> dict[str, int]:
    """Run every job's recovery for `worker`: on a Celery worker's start, and on the first
    request of an embedded server. Each recovery fails rows claimed by a dead process,
    before `before` (a restarted worker may already be claiming new rows under its name)."""
    changed: dict[str, int] = {}
    for job in _registry.values():
        if job.recover is None:
            continue
        try:
            changed[job.name] = job.recover(worker, before)
        except Exception:  # e.g. the database is not migrated yet; pages will say so
            log.exception("recovery of job %s failed", job.name)
    return changed


def requeue_waiting(older_than_s: float) -> dict[str, int]:
    """Queue again every job whose row has waited unclaimed longer than `older_than_s`
    (a periodic task in service mode; everything, on an embedded server's start)."""
    before = timezone.now() - timedelta(seconds=older_than_s)
    requeued: dict[str, int] = {}
    for job in _registry.values():
        if job.waiting is None:
            continue
        try:
            ids = job.waiting(before)
        except Exception:
            log.exception("could not list the waiting rows of job %s", job.name)
            continue
        for row_id in ids:
            enqueue(job.name, row_id)
        requeued[job.name] = len(ids)
    return requeued


def _send_to_celery(job: Job, args: tuple[Any, ...], delay_s: float) -> None:
    options: dict[str, Any] = {"queue": job.queue}
    if delay_s > 0:
        options["countdown"] = delay_s
    if job.time_limit_s is not None:
        options.update(soft_time_limit=job.time_limit_s, time_limit=job.time_limit_s + 5)
    try:
        current_app.send_task("arena.jobs.run", args=(job.name, *args), **options)
    except Exception as error:  # the broker is down: the row waits, requeue_waiting sends it
        log.warning("could not queue job %s%r: %s", job.name, args, error)


# --- embedded mode -----------------------------------------------------------------------


def remember_server_loop() -> None:
    """Called from the ASGI app on its event loop (embedded mode)."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


def run_in_background(name: str, *args: Any) -> None:
    loop = _server_loop
    if loop is not None and loop.is_running():
        asyncio.run_coroutine_threadsafe(_run_on_loop(name, args), loop)
    else:  # management commands and sync tests: no server loop, no consumers to reach
        threading.Thread(target=_run_guarded, args=(name, args), daemon=True).start()


async def _run_on_loop(name: str, args: tuple[Any, ...]) -> None:
    future = asyncio.ensure_future(
        sync_to_async(_run_guarded, thread_sensitive=False, executor=_pool)(name, args)
    )
    _running.add(future)
    future.add_done_callback(_running.discard)
    await future


def _run_guarded(name: str, args: tuple[Any, ...]) -> None:
    try:
        run(name, *args)
    except Exception:  # a job must record its own failure; this is the last resort
        log.exception("background job %s%r crashed", name, args)
    finally:
        close_old_connections()
