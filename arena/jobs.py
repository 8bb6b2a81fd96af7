"""Job dispatch: the same job functions run in both modes; only dispatch differs.

Service mode hands the job id to a Celery worker. Embedded mode runs the job on a
thread pool of the web process. There, the job is started from the server's own
event loop (see `remember_server_loop`), so that its broadcasts travel through the
in-memory channel layer on the loop that owns it, where the consumers listen.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)

_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="arena-job")
_server_loop: asyncio.AbstractEventLoop | None = None
_running: set[asyncio.Future[Any]] = set()  # strong refs: the loop only keeps weak ones


def worker_name() -> str:
    """Who claims a row: lets a restarted worker find and fail what it left running."""
    mode = "celery" if settings.JOBS_MODE == "celery" else "embedded"
    return f"{mode}:{socket.gethostname()}"


def remember_server_loop() -> None:
    """Called from the ASGI app on its event loop (embedded mode)."""
    global _server_loop
    _server_loop = asyncio.get_running_loop()


async def recover_orphans_async() -> None:
    if settings.JOBS_MODE != "inline":
        return  # Celery workers recover their own rows when they start
    from arena.battles.models import Battle
    from arena.exports.services import export_recover_orphans
    from arena.runs.services import recover_orphans

    try:
        await sync_to_async(recover_orphans)(worker_name())
        await sync_to_async(export_recover_orphans)(worker_name())
        # Pages open before the restart are gone; counting them would keep jobs alive.
        await Battle.objects.filter(watchers__gt=0).aupdate(watchers=0)
    except Exception:  # e.g. the database is not migrated yet; pages will say so
        log.exception("could not recover orphaned jobs")


def enqueue(task: Any, *args: Any) -> None:
    """Start `task(*args)` once the current transaction commits (never before: the
    job reads rows this transaction writes)."""
    if settings.JOBS_MODE == "celery":
        transaction.on_commit(lambda: task.delay(*args))
    else:
        transaction.on_commit(lambda: run_in_background(task, *args))


def run_in_background(func: Callable[..., Any], *args: Any) -> None:
    loop = _server_loop
    if loop is not None and loop.is_running():
        asyncio.run_coroutine_threadsafe(_run_on_loop(func, args), loop)
    else:  # management commands and sync tests: no server loop, no consumers to reach
        threading.Thread(target=_run_guarded, args=(func, args), daemon=True).start()


async def _run_on_loop(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    future = asyncio.ensure_future(
        sync_to_async(_run_guarded, thread_sensitive=False, executor=_pool)(func, args)
    )
    _running.add(future)
    future.add_done_callback(_running.discard)
    await future


def _run_guarded(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        func(*args)
    except Exception:  # a job must record its own failure; this is the last resort
        log.exception("background job %s%r crashed", getattr(func, "name", func), args)
    finally:
        close_old_connections()
