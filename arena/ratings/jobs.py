"""The leaderboard refresh job. Votes ask for one each, a timer asks every
LEADERBOARD_REFRESH_SECONDS, and a refresh of a big arena takes seconds: in one process
at most one runs, and the requests that arrive meanwhile fold into one more round."""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.core.cache import cache

from arena import jobs
from arena.ratings.snapshots import refresh_leaderboards

REFRESH_JOB = "ratings.refresh"
_SCHEDULED_KEY = "ratings:refresh-scheduled"
_SECONDS_KEY = "ratings:refresh-seconds"  # how long the last refresh that wrote took
# A refresh is CPU (bootstrapped fits for every scope) that the sandboxes on the same
# hosts need: under a load test of 25 raters, refreshing every 5 s took a third of a core.
# So a vote's refresh waits at least long enough that refreshing takes at most this share
# of the time; a small arena, whose refresh takes milliseconds, still sees votes in 5 s.
REFRESH_SHARE = 0.1

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
                started = time.monotonic()
                # Skips the work when no counted vote changed since the last snapshot.
                if refresh_leaderboards(force=False):
                    cache.set(_SECONDS_KEY, time.monotonic() - started, timeout=None)
        finally:
            _running.release()


def refresh_after_vote(**_: object) -> None:
    """Receiver of battles' `vote_recorded` (battles know nothing of leaderboards).
    Debounced: the first vote of a quiet spell schedules one refresh in
    LEADERBOARD_DEBOUNCE_SECONDS, or later when refreshes are slow (REFRESH_SHARE), and
    the votes until then ride along with it, so a burst of votes costs one refresh."""
    delay = refresh_delay_s()
    if cache.add(_SCHEDULED_KEY, True, timeout=delay):
        jobs.enqueue(REFRESH_JOB, delay_s=delay)


def refresh_delay_s() -> int:
    """Seconds from a vote to the refresh that counts it."""
    last = cache.get(_SECONDS_KEY) or 0.0
    spaced = math.ceil(last * (1 / REFRESH_SHARE - 1))
    return max(settings.LEADERBOARD_DEBOUNCE_SECONDS, spaced)
