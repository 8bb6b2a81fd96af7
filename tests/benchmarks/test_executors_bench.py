"""Sandbox speed, measured side by side in one run. Not collected by default:
    python -m pytest tests/benchmarks/test_executors_bench.py -s
Target: a trivial Python program in the sandbox within 2.5x of a bare subprocess."""

from __future__ import annotations

import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from executors import ExecSpec, ExecutorUnavailable, get_backend
from executors.backends.bwrap import BwrapBackend

from ..executors.programs import HELLO

RUNS = 40


@pytest.fixture(scope="module")
def bwrap() -> BwrapBackend:
    try:
        backend = get_backend("bwrap")
    except ExecutorUnavailable as error:
        pytest.skip(str(error))
    assert isinstance(backend, BwrapBackend)
    return backend


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def test_trivial_python_against_a_bare_subprocess(bwrap: BwrapBackend) -> None:
    spec = ExecSpec(language="python", code="print(1)")
    sandboxed: list[float] = []
    bare: list[float] = []
    for _ in range(RUNS):  # interleaved, so both see the same machine load
        started = time.perf_counter()
        assert bwrap.run(spec).stdout == "1\n"
        sandboxed.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "print(1)"], capture_output=True, check=True)
        bare.append((time.perf_counter() - started) * 1000)
    sandbox_median, sandbox_p95 = _percentiles(sandboxed)
    bare_median, bare_p95 = _percentiles(bare)
    print(
        f"\ntrivial python: sandbox median {sandbox_median:.1f} ms p95 {sandbox_p95:.1f} ms; "
        f"bare median {bare_median:.1f} ms p95 {bare_p95:.1f} ms; "
        f"ratio {sandbox_median / bare_median:.2f}x (target <= 2.5x)"
    )


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_throughput(bwrap: BwrapBackend, workers: int) -> None:
    spec = ExecSpec(language="python", code="print(1)")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda _: bwrap.run(spec), range(RUNS)))
    elapsed = time.perf_counter() - started
    assert all(result.status == "ok" for result in results)
    print(f"\nthroughput with {workers} worker(s): {RUNS / elapsed:.1f} runs/s")


@pytest.mark.parametrize("language", list(HELLO))
def test_compile_and_run_time_per_language(bwrap: BwrapBackend, language: str) -> None:
    samples = []
    for _ in range(3):
        started = time.perf_counter()
        result = bwrap.run(ExecSpec(language=language, code=HELLO[language]))
        samples.append((time.perf_counter() - started) * 1000)
        if result.status != "ok":
            pytest.skip(result.message or result.stderr)
    print(f"\n{language}: compile+run median {statistics.median(samples):.0f} ms")
