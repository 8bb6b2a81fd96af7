"""The leaderboard refresh job. Votes ask for one each, a timer asks every
LEADERBOARD_REFRESH_SECONDS, and a refresh of a big arena takes seconds: in one process
at most one runs, and the requests that arrive meanwhile fold into one more round."""

from __future__ import annotations

import threading

from arena import jobs
from arena.ratings.snapshots import refresh_leaderboards

REFRESH_JOB = "ratings.refresh"

_running = threading.Lock()
_requested = threading.Event()


def refresh_when_asked() -> None:
    _requested.set()
    while _requested.is_set():
        if not _running.acquire(blocking=False):
            return  # the running refresh sees the request and goes round again
        try:
            while _requested.is_set():
                _requested.clear()
                # Skips the work when no counted vote changed since the last snapshot.
                refresh_leaderboards(force=False)
        finally:
            _running.release()


def refresh_after_vote(**_: object) -> None:
    """Receiver of battles' `vote_recorded`: battles know nothing of leaderboards."""
    jobs.enqueue(REFRESH_JOB)
