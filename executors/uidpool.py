"""A FIFO pool of sandbox slots, each with its own non-root host uid.

Why a pool: RLIMIT_NPROC does not apply to root, and a single
shared uid fails under concurrency because the kernel releases the process count of exited
tasks with a delay. Handing out the uid that rested longest (FIFO) avoids both.

Slots are also locked across processes with flock (several Celery workers or the web process
and a worker may share one host): the kernel drops the lock when its holder dies, so a slot
left by a crashed process is picked up again, and its leftovers are killed before reuse.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from executors.process import kill_until_gone


@dataclass
class Slot:
    index: int
    uid: int | None  # None: no uid drop (the host does not run us as root)
    lock_fd: int = -1

    @property
    def name(self) -> str:
        return str(self.uid) if self.uid is not None else f"slot{self.index}"


def processes_of_uid(uid: int) -> list[int]:
    """Live pids whose real or effective uid is `uid`.

    Reads /proc/PID/status rather than the owner of /proc/PID, which a process can turn to
    root with PR_SET_DUMPABLE=0. Zombies are skipped: they run nothing, and the host's init
    reaps the sandbox's orphaned init only every few seconds on some hosts."""
    found: list[int] = []
    wanted = str(uid)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                status = handle.read(1024)
        except OSError:
            continue
        fields = dict(
            line.split(":", 1) for line in status.splitlines() if line[:4] in ("Stat", "Uid:")
        )
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if wanted in fields.get("Uid", "").split()[0:2]:
            found.append(int(entry))
    return found


def kill_uid(uid: int, timeout_s: float = 3.0) -> bool:
    """SIGKILL every process of `uid` and wait until none is left."""
    return kill_until_gone(lambda: processes_of_uid(uid), timeout_s, pause_s=0.01)


class UidPool:
    def __init__(self, lock_dir: str, uid_base: int | None, count: int) -> None:
        self.lock_dir = lock_dir
        self.count = count
        self.uid_base = uid_base
        os.makedirs(lock_dir, mode=0o700, exist_ok=True)
        self._free: collections.deque[int] = collections.deque(range(count))
        self._cond = threading.Condition()

    def uid_of(self, index: int) -> int | None:
        return None if self.uid_base is None else self.uid_base + index

    def uids(self) -> list[int]:
        return [] if self.uid_base is None else [self.uid_base + i for i in range(self.count)]

    @contextlib.contextmanager
    def slot(self, timeout_s: float = 60.0) -> Iterator[Slot]:
        slot = self.acquire(timeout_s)
        try:
            yield slot
        finally:
            self.release(slot)

    def acquire(self, timeout_s: float = 60.0) -> Slot:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                slot = self._try_take()
                if slot is not None:
                    return slot
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no free sandbox slot")
                # Another process may hold every slot we could take: poll as well as wait.
                self._cond.wait(min(remaining, 0.05))

    def _try_take(self) -> Slot | None:
        for _ in range(len(self._free)):
            index = self._free.popleft()
            fd = self._lock(index)
            if fd is not None:
                return Slot(index=index, uid=self.uid_of(index), lock_fd=fd)
            self._free.append(index)  # held by another process; try it again later
        return None

    def _lock(self, index: int) -> int | None:
        path = os.path.join(self.lock_dir, f"slot-{index}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def release(self, slot: Slot) -> None:
        if slot.lock_fd >= 0:
            os.close(slot.lock_fd)  # closing drops the flock
            slot.lock_fd = -1
        with self._cond:
            self._free.append(slot.index)
            self._cond.notify()
