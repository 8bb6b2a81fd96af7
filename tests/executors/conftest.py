from __future__ import annotations

import os

import pytest

# A uid range and state dir of our own: leftover checks then see only this suite's sandboxes,
# not those of another process (the arena's tests, a dev server) using the default pool.
os.environ.setdefault("EXECUTOR_UID_BASE", "63000")
os.environ.setdefault("EXECUTOR_STATE_DIR", "/tmp/arena-sandbox-tests")

from executors import ExecutorUnavailable, get_backend
from executors.backends.bwrap import BwrapBackend


@pytest.fixture(scope="session")
def bwrap() -> BwrapBackend:
    try:
        backend = get_backend("bwrap")
    except ExecutorUnavailable as error:
        pytest.skip(f"bubblewrap sandbox unavailable here: {error}")
    assert isinstance(backend, BwrapBackend)
    return backend


def live_sandbox_processes(backend: BwrapBackend) -> list[int]:
    """Live (non-zombie) processes owned by any uid of the backend's pool."""
    from executors.uidpool import processes_of_uid

    return [pid for uid in backend.pool.uids() for pid in processes_of_uid(uid)]


def assert_no_leftovers(backend: BwrapBackend, timeout_s: float = 3.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while live_sandbox_processes(backend) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = live_sandbox_processes(backend)
    assert leftovers == [], [_describe(pid) for pid in leftovers]


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as handle:
            status = handle.read()
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"{pid} gone"
    fields = [
        line for line in status.splitlines() if line.split(":")[0] in ("State", "Uid", "PPid")
    ]
    return f"{pid} {command[:80]} {fields}"
