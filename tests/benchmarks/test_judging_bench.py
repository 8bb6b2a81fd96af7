"""Judgements per second against an instant local OpenAI-protocol server, at concurrency
1, 8 and 32, and how much of it is the arena's own overhead.

Two measurements per concurrency, side by side in one run, on the same server:
- calls: the judge's provider call alone (`ask_llm`, the OpenAI SDK over loopback) on
  N threads, no database: the ceiling that the server, the SDK and this machine allow;
- run: a whole `judges.run` job in embedded mode over the same number of judgements:
  claim each row by a conditional update, call, parse, store, count, then the report.
The ratio run/calls is the arena's share; near 1 means the model call is the bottleneck,
not the database work around it. With BENCH_PROFILE=1 the run at concurrency 8 is
profiled (cProfile on every judgement's thread, top 30 by cumulative time).

Run: `python -m pytest tests/benchmarks/test_judging_bench.py -s` (PostgreSQL from
DATABASE_URL, as the tests). Figures are recorded in arena/judges/README.md.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import threading
import time
from typing import Any

import pytest

from arena.judges import services
from arena.judges.judging import ask_llm
from arena.judges.models import Judge
from arena.judges.services import Selection, judge_inputs, run_start
from tests.fakes import openai_server, text_answer
from tests.judges.conftest import (  # noqa: F401 (fixtures)
    embedded_jobs,
    small_bootstrap,
    voted_battles,
    wait_for_run,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_jobs")]

BATTLES = 200  # x 2 orders, blind mode only: 400 judgements per measurement
CONCURRENCY = (1, 8, 32)
VERDICT = text_answer("Both are fine, A slightly clearer. [[A>B]]", size=1000)


def _calls(judge: Judge, inputs: dict[str, Any], threads: int) -> float:
    """Judgements per second of the bare provider calls on `threads` threads."""
    work = [(battle, order) for battle in inputs.values() for order in ("ab", "ba")]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not work:
                    return
                battle, order = work.pop()
            ask_llm(judge.spec(), judge.prompts(), battle, order, False)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return 2 * len(inputs) / (time.perf_counter() - started)


def _run(base_url: str, threads: int, profile: bool = False) -> float:
    """Judgements per second of a whole judging run (a new judge: every row is new)."""
    judge = Judge.objects.create(
        name=f"bench-{threads}-{time.monotonic_ns()}",
        kind=Judge.Kind.LLM,
        provider="openai",
        model_id="judge-1",
        base_url=base_url,
        concurrency=threads,
    )
    profiles: list[cProfile.Profile] = []
    original = services.judge_row
    if profile:  # each judgement on its worker thread (a profiler sees one thread only)

        def profiled(*args: Any) -> bool:
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                return original(*args)
            finally:
                profiler.disable()
                profiles.append(profiler)

        services.judge_row = profiled  # type: ignore[assignment]
    started = time.perf_counter()
    try:
        run = wait_for_run(run_start(judge=judge, selection=Selection(), modes="without"), 600)
    finally:
        services.judge_row = original  # type: ignore[assignment]
    elapsed = time.perf_counter() - started
    assert run.status == "done" and run.done == 2 * BATTLES
    if profiles:
        stats = pstats.Stats(profiles[0])
        for other in profiles[1:]:
            stats.add(other)
        stats.sort_stats("cumulative").print_stats(30)
    return run.done / elapsed


def test_judgements_per_second_at_concurrency_1_8_32(voted_battles: Any) -> None:  # noqa: F811
    voted_battles(BATTLES)
    print("\nload before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout)
    with openai_server(default=VERDICT) as srv:
        probe = Judge(name="probe", kind="llm", provider="openai", model_id="judge-1")
        probe.base_url = srv.base_url
        ids = [str(pk) for pk in Selection().battle_ids()]
        inputs = judge_inputs(ids)
        _calls(probe, dict(list(inputs.items())[:20]), 4)  # warm the SDK and the server
        results = []
        for threads in CONCURRENCY:
            calls = _calls(probe, inputs, threads)
            run = _run(srv.base_url, threads)
            results.append((threads, calls, run))
        if os.getenv("BENCH_PROFILE"):
            _run(srv.base_url, 8, profile=True)
    print(f"{'concurrency':>11} {'calls/s':>9} {'run/s':>9} {'run/calls':>9}")
    for threads, calls, run in results:
        print(f"{threads:>11} {calls:>9.1f} {run:>9.1f} {run / calls:>9.2f}")
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout)
