"""Service mode for real: PostgreSQL, Redis and a Celery worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from arena import jobs
from arena.battles.models import Battle, Response
from arena.battles.services import battle_start, vote_record
from arena.llms.models import LanguageModel
from arena.ratings.models import LeaderboardSnapshot
from arena.runs.models import Execution

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def start_worker() -> subprocess.Popen[bytes]:
    if connection.vendor != "postgresql" or settings.JOBS_MODE != "celery":
        pytest.skip("service mode needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    db = connection.settings_dict
    # The worker must read and write the test database this test is using.
    test_db_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": test_db_url, "SECRET_KEY": settings.SECRET_KEY}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "arena",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--queues",
            ",".join(jobs.QUEUES),
            "--loglevel",
            "warning",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker()
    yield process
    stop(process)


def wait_for(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.2)


def test_a_worker_answers_runs_the_code_and_updates_the_leaderboard(
    worker, demo_models, alice
) -> None:
    # The two strong demo models always write a program that runs.
    LanguageModel.objects.exclude(name__in=["demo-atlas", "demo-breeze"]).update(is_active=False)
    battle = battle_start(rater=alice, prompt="Write a Python program that prints 10 primes.")
    responses = Response.objects.filter(turn__battle=battle)

    wait_for(lambda: all(r.is_finished for r in responses.all()))
    assert set(responses.values_list("status", flat=True)) == {"done"}
    assert all(r.claimed_by.startswith("celery:") for r in responses)
    runs = Execution.objects.filter(response__turn__battle=battle)
    wait_for(lambda: runs.exists() and all(e.is_finished for e in runs.all()))
    assert all(e.claimed_by.startswith("celery:") for e in runs)
    assert any(e.status == "ok" and e.stdout for e in runs)

    vote_record(battle=Battle.objects.get(pk=battle.pk), winner="model_a")
    wait_for(lambda: LeaderboardSnapshot.objects.filter(scope="overall", n_votes=1).exists())
    board = LeaderboardSnapshot.objects.get(scope="overall", window_days=0)
    assert {row["model"] for row in board.data["models"]} == {
        battle.model_a.name,
        battle.model_b.name,
    }


def test_health_counts_the_live_workers_and_the_broker(worker, client) -> None:
    wait_for(lambda: client.get("/healthz").status_code == 200, timeout=60)
    checks = client.get("/healthz").json()["checks"]
    assert checks["workers"]["count"] >= 1 and checks["redis"]["ok"] and checks["database"]["ok"]


def sandbox_processes() -> list[str]:
    """Processes of the sandbox's uid pool (bwrap runs untrusted code as these uids; the
    worker inherits this process's environment, so it uses the same pool)."""
    import executors

    pool = set(executors.get_backend("bwrap").pool.uids())
    found = subprocess.run(["ps", "-eo", "uid=,pid=,args="], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if int(line.split()[0]) in pool]


def test_a_killed_worker_leaves_no_process_and_its_run_ends_failed(demo_models, alice) -> None:
    from arena.battles.models import Turn
    from arena.runs.services import execution_create

    worker = start_worker()
    try:
        battle = Battle.objects.create(
            rater=alice, model_a=demo_models[0], model_b=demo_models[1], sampling_prob=0.5
        )
        turn = Turn.objects.create(battle=battle, index=0, prompt="spin")
        response = Response.objects.create(turn=turn, side="a", model=demo_models[0], status="done")
        execution = execution_create(
            owner=response,
            code="import time\nwhile True: time.sleep(0.1)\n",
            language="python",
            environment="interpreter",
        )
        wait_for(lambda: Execution.objects.get(pk=execution.pk).status == "running")
        wait_for(lambda: bool(sandbox_processes()), timeout=20)
        stop(worker, signal.SIGKILL)  # no goodbye: the power went out
        wait_for(lambda: not sandbox_processes(), timeout=20)  # the sandbox died with it
        assert Execution.objects.get(pk=execution.pk).status == "running"  # nobody knows yet
        worker = start_worker()  # its worker_ready hook fails what the old one left
        wait_for(lambda: Execution.objects.get(pk=execution.pk).status == "failed")
        assert "restarted" in Execution.objects.get(pk=execution.pk).error
    finally:
        stop(worker)
