"""The Docker backend on a real engine beside bubblewrap and a bare subprocess, in one run.
Not collected by default; needs DOCKER_HOST (deploy/engine/start.sh prints it):
    python -m pytest tests/benchmarks/test_docker_bench.py -s
Target: a trivial Python run on the warm path costs <= 150 ms end to end."""

from __future__ import annotations

import io
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from executors import ExecSpec, ExecutorUnavailable, Limits, get_backend
from executors.backends.bwrap import BwrapBackend
from executors.backends.docker import DockerBackend

RUNS = 30
TRIVIAL = ExecSpec(language="python", code="print(1)")


@pytest.fixture(scope="module")
def warm() -> DockerBackend:
    try:
        backend = get_backend("docker")
    except ExecutorUnavailable as error:
        pytest.skip(str(error))
    assert isinstance(backend, DockerBackend)
    return backend


@pytest.fixture(scope="module")
def cold(warm: DockerBackend) -> Iterator[DockerBackend]:
    backend = DockerBackend(warm.client, image=warm.image, owner=f"{warm.owner}-cold", warm=0)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def bwrap() -> BwrapBackend:
    backend = get_backend("bwrap")
    assert isinstance(backend, BwrapBackend)
    return backend


def _ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):.1f} ms p95 {p95:.1f} ms"


def _checked(backend: DockerBackend | BwrapBackend) -> Callable[[], None]:
    def run() -> None:
        result = backend.run(TRIVIAL)
        assert result.status == "ok" and result.stdout == "1\n", result.to_json()

    return run


def test_trivial_python_on_each_backend(
    warm: DockerBackend, cold: DockerBackend, bwrap: BwrapBackend
) -> None:
    warm.pool.fill(warm.shape_for(Limits(), compiles=False))
    time.sleep(1)  # the pool's first containers
    samples: dict[str, list[float]] = {
        "docker warm": [],
        "docker cold": [],
        "bwrap": [],
        "bare": [],
    }
    bare = ["/usr/bin/python3", "-c", "print(1)"]
    for _ in range(RUNS):  # interleaved, so all see the same load
        samples["docker warm"].append(_ms(_checked(warm)))
        samples["docker cold"].append(_ms(_checked(cold)))
        samples["bwrap"].append(_ms(_checked(bwrap)))
        samples["bare"].append(_ms(lambda: subprocess.run(bare, capture_output=True, check=True)))
        time.sleep(0.15)  # a worker between tasks: the pool refills
    print()
    for name, values in samples.items():
        print(f"trivial python, {name}: {_summary(values)}")


def test_where_a_warm_run_spends_its_time(warm: DockerBackend) -> None:
    """The engine calls of one warm run, each timed on its own container."""
    shape = warm.shape_for(Limits(), compiles=False)
    parts: dict[str, list[float]] = {"create+start": [], "attach": [], "put_archive": []}
    program: list[float] = []
    for _ in range(10):
        started = time.perf_counter()
        container = warm._start(shape).container
        parts["create+start"].append((time.perf_counter() - started) * 1000)
        parts["attach"].append(_ms(lambda: _attach(container)))  # noqa: B023 - called at once
        put = lambda: container.put_archive("/tmp", _small_tar())  # noqa: B023, E731
        parts["put_archive"].append(_ms(put))
        warm.pool.discard(container)
        result = warm.run(TRIVIAL)
        program.append(result.wall_ms)
    print()
    for name, values in parts.items():
        print(f"warm run part, {name}: {_summary(values)}")
    print(f"warm run part, launcher's run of the program (wall_ms): {_summary(program)}")


def _attach(container: Any) -> None:
    container.attach(stdout=True, stderr=True, stream=True, logs=True, demux=True)


def _small_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("main.py")
        info.size = 9
        archive.addfile(info, io.BytesIO(b"print(1)\n"))
    return buffer.getvalue()
