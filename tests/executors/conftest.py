from __future__ import annotations

import os
import time

import pytest

# A uid range and state dir of our own: leftover checks then see only this suite's sandboxes,
# not those of another process (the arena's tests, a dev server) using the default pool.
os.environ.setdefault("EXECUTOR_UID_BASE", "63000")
os.environ.setdefault("EXECUTOR_STATE_DIR", "/tmp/arena-sandbox-tests")

from executors import ExecutorUnavailable, get_backend
from executors.backends.bwrap import BwrapBackend
from executors.backends.docker import OWNER_LABEL, DockerBackend
from executors.base import Backend
from executors.uidpool import processes_of_uid

# The suite that runs on every backend takes `sandbox`: once on bubblewrap, once on the
# Docker-API engine of DOCKER_HOST (Podman in CI, deploy/engine/start.sh). Tests of one
# backend's own machinery take `bwrap`.
BACKENDS = ("bwrap", "docker")


@pytest.fixture(scope="session")
def bwrap() -> BwrapBackend:
    try:
        backend = get_backend("bwrap")
    except ExecutorUnavailable as error:
        pytest.skip(f"bubblewrap sandbox unavailable here: {error}")
    assert isinstance(backend, BwrapBackend)
    return backend


@pytest.fixture(scope="session", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Backend:
    try:
        backend = get_backend(request.param)
    except ExecutorUnavailable as error:
        pytest.skip(f"{request.param} sandbox unavailable here: {error}")
    return backend


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "language(name): the test runs a program in that language")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Runs of a language the Docker image does not carry (the lean image of CI) are
    deselected, not skipped: that image has no such toolchain to test."""
    carried = _docker_image_languages()
    if carried is None:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        language = params.params.get("language") if params else None
        marker = item.get_closest_marker("language")
        language = marker.args[0] if marker else language
        on_docker = params is not None and params.params.get("sandbox") == "docker"
        (dropped if on_docker and language and language not in carried else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _docker_image_languages() -> frozenset[str] | None:
    try:
        backend = get_backend("docker")
    except ExecutorUnavailable:
        return None  # the docker runs then skip, which CI counts as a failure
    assert isinstance(backend, DockerBackend)
    return backend.languages


def assert_no_leftovers(backend: Backend, timeout_s: float = 3.0) -> None:
    """Nothing of a finished run is alive: no process of a bwrap slot uid, no container this
    Docker worker has finished with."""
    deadline = time.monotonic() + timeout_s
    while _leftovers(backend) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = _leftovers(backend)
    assert leftovers == [], leftovers


def _leftovers(backend: Backend) -> list[str]:
    if isinstance(backend, DockerBackend):
        mine = {"label": f"{OWNER_LABEL}={backend.owner}"}
        finished = backend.pool.discarded_ids()
        alive = backend.client.containers.list(filters=mine, sparse=True)  # running
        return [container.id for container in alive if container.id in finished]
    assert isinstance(backend, BwrapBackend)
    return [_describe(pid) for pid in live_sandbox_processes(backend)]


def live_sandbox_processes(backend: BwrapBackend) -> list[int]:
    """Live (non-zombie) processes owned by any uid of the backend's pool."""
    return [pid for uid in backend.pool.uids() for pid in processes_of_uid(uid)]


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
