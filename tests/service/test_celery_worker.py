"""Service mode for real: PostgreSQL, Redis and a Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from arena.battles.models import Battle, Response
from arena.battles.services import battle_start, vote_record
from arena.llms.models import LanguageModel
from arena.ratings.models import LeaderboardSnapshot
from arena.runs.models import Execution

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    if connection.vendor != "postgresql" or settings.JOBS_MODE != "celery":
        pytest.skip("service mode needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    db = connection.settings_dict
    # The worker must read and write the test database this test is using.
    test_db_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": test_db_url, "SECRET_KEY": settings.SECRET_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "arena", "worker", "--pool", "threads",
         "--concurrency", "4", "--loglevel", "warning", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    yield process
    process.terminate()
    process.wait(timeout=30)


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

    vote_record(battle=Battle.objects.get(pk=battle.pk), rater=alice, winner="model_a")
    wait_for(lambda: LeaderboardSnapshot.objects.filter(scope="overall", n_votes=1).exists())
    board = LeaderboardSnapshot.objects.get(scope="overall", window_days=0)
    assert {row["model"] for row in board.data["models"]} == {
        battle.model_a.name,
        battle.model_b.name,
    }
