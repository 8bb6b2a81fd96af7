"""The leaderboard refresh job. Votes ask for one each, a timer asks every
LEADERBOARD_REFRESH_SECONDS, and a refresh of a big arena takes seconds: in one process
at most one runs, and the requests that arrive meanwhile fold into one more round."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.cache import cache

from arena import jobs
from arena.ratings.snapshots import refresh_leaderboards

REFRESH_JOB = "ratings.refresh"
_SCHEDULED_KEY = "ratings:refresh-scheduled"

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
    """Receiver of battles' `vote_recorded` (battles know nothing of leaderboards).
    Debounced: the first vote of a quiet spell schedules one refresh in
    LEADERBOARD_DEBOUNCE_SECONDS and the votes until then ride along with it, so a burst
    of votes costs one refresh, not one each."""
    delay = settings.LEADERBOARD_DEBOUNCE_SECONDS
    if cache.add(_SCHEDULED_KEY, True, timeout=delay):
        jobs.enqueue(REFRESH_JOB, delay_s=delay)
