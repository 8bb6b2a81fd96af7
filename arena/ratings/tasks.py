from __future__ import annotations

import threading

from celery import shared_task

from arena.ratings.snapshots import refresh_leaderboards

# Votes enqueue a refresh each; a refresh of a big arena takes seconds. In one process
# at most one runs, and the requests that arrive meanwhile fold into one more round.
_running = threading.Lock()
_requested = threading.Event()


@shared_task(name="arena.ratings.tasks.refresh_leaderboards", ignore_result=True)
def refresh_leaderboards_task() -> None:
    _requested.set()
    while _requested.is_set():
        if not _running.acquire(blocking=False):
            return  # the running refresh sees the request and goes round again
        try:
            while _requested.is_set():
                _requested.clear()
                # Runs after every vote and on a timer: skip when no counted vote changed.
                refresh_leaderboards(force=False)
        finally:
            _running.release()
