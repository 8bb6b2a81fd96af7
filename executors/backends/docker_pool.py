"""Warm containers: created and started ahead of their run, each used once, then killed.

Creating and starting a container costs the engine about 140 ms and its teardown 280 ms on
a small host; a run that finds a started container waiting, and leaves its teardown to a
background thread, pays for neither. Containers are never reused: each run gets a fresh
root, tmpfs and uid. They wait for their plan for a bounded time (the launcher's idle
timeout), so the pool retires them before that.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warm:
    container: Any
    uid: int
    started_at: float


class WarmPool:
    def __init__(
        self,
        start: Callable[[Hashable], Warm],
        retire: Callable[[Any], None],
        size: int,
        max_age_s: float,
    ) -> None:
        self.start = start
        self.retire = retire
        self.size = size
        self.max_age_s = max_age_s
        self._ready: dict[Hashable, collections.deque[Warm]] = collections.defaultdict(
            collections.deque
        )
        self._filling: collections.Counter[Hashable] = collections.Counter()
        self._lock = threading.Lock()
        # One filler: the engine creates containers one at a time anyway, and a run waiting
        # for a cold container should not queue behind a burst of refills.
        self._filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docker-warm")
        self._reaper = ThreadPoolExecutor(max_workers=4, thread_name_prefix="docker-reap")
        self._closed = False
        self._discarded: collections.deque[str] = collections.deque(maxlen=256)

    def take(self, shape: Hashable) -> Warm:
        """A started container of this shape: a warm one if any, else one started now."""
        warm = self._pop_fresh(shape)
        self.fill(shape)
        return warm if warm is not None else self.start(shape)

    def fill(self, shape: Hashable) -> None:
        """Start containers in the background until `size` of this shape are ready."""
        with self._lock:
            missing = self.size - len(self._ready[shape]) - self._filling[shape]
            if self._closed or missing <= 0:
                return
            self._filling[shape] += missing
        for _ in range(missing):
            self._filler.submit(self._fill_one, shape)

    def discard(self, container: Any) -> None:
        """Kill a used container in the background; the engine removes it (auto-remove)."""
        self._discarded.append(container.id)
        if not self._closed:
            self._reaper.submit(self.retire, container)
            return
        with contextlib.suppress(Exception):
            self.retire(container)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            ready = [warm for queue in self._ready.values() for warm in queue]
            self._ready.clear()
        self._filler.shutdown(wait=True, cancel_futures=True)
        self._reaper.shutdown(wait=True)
        for warm in ready:
            with contextlib.suppress(Exception):
                self.retire(warm.container)

    def ready_count(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._ready.values())

    def discarded_ids(self) -> set[str]:
        """The latest containers handed to discard(): all should be gone soon after."""
        return set(self._discarded)

    def _pop_fresh(self, shape: Hashable) -> Warm | None:
        stale: list[Warm] = []
        found: Warm | None = None
        with self._lock:
            queue = self._ready[shape]
            while queue and found is None:
                warm = queue.popleft()
                if time.monotonic() - warm.started_at < self.max_age_s:
                    found = warm
                else:
                    stale.append(warm)
        for warm in stale:
            self.discard(warm.container)
        return found

    def _fill_one(self, shape: Hashable) -> None:
        try:
            warm = self.start(shape)
        except Exception:  # noqa: BLE001 - a failed refill only costs the next run its warmth
            log.warning("could not pre-start a sandbox container", exc_info=True)
            warm = None
        with self._lock:
            self._filling[shape] -= 1
            if warm is not None and not self._closed:
                self._ready[shape].append(warm)
                warm = None
        if warm is not None:
            self.discard(warm.container)
