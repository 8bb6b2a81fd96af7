"""Voted battles with executions, a judge that reads the evidence, and staff clients."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from arena.battles.models import Battle, Response, Turn, Vote
from arena.judges.models import Judge, JudgingRun
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.runs.models import Execution
from tests.fakes import RecordedRequest, Reply, text_answer

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAIRS = list(itertools.combinations(range(4), 2))
B_EXECUTION_HEADER = "<|Execution of Assistant B's Program|>"


@pytest.fixture(autouse=True)
def small_bootstrap(settings: Any) -> None:
    settings.LEADERBOARD_BOOTSTRAP = 10


def add_answer(turn: Turn, side: str, model: LanguageModel, *, good: bool) -> Response:
    response = Response.objects.create(
        turn=turn,
        side=side,
        model=model,
        status=Response.Status.DONE,
        text=f"```python\nprint(solve())  # {model.name}\n```"
        + (" Explained at length." if good else ""),
        code="print(solve())\n",
        code_language="python",
    )
    Execution.objects.create(
        owner=response,
        code=response.code,
        language="python",
        status=Execution.Status.OK if good else Execution.Status.RUNTIME_ERROR,
        stdout="CORRECT 42\n" if good else "",
        stderr="" if good else "Traceback: NameError: solve\n",
        exit_code=0 if good else 1,
    )
    return response


@pytest.fixture
def voted_battles(db: None) -> Callable[..., list[Battle]]:
    """`n` counted battles among four models of increasing strength: the stronger model's
    program runs and prints CORRECT, and the human votes for it (every fifth vote a tie).
    Categories alternate web / algorithms; day i is T0 + i days."""

    def make(n: int = 12) -> list[Battle]:
        rater = Rater.objects.create()
        models = [
            LanguageModel.objects.create(
                name=f"judged-{i}", provider="replay", model_id="demo-atlas"
            )
            for i in range(4)
        ]
        battles = []
        for i in range(n):
            low, high = PAIRS[i % len(PAIRS)]
            model_a, model_b = (models[low], models[high]) if i % 2 else (models[high], models[low])
            when = T0 + timedelta(days=i)
            battle = Battle.objects.create(
                rater=rater,
                model_a=model_a,
                model_b=model_b,
                sampling_prob=0.5,
                status=Battle.Status.VOTED,
                category="web" if i % 2 else "algorithms",
                language="python",
                environment="interpreter",
                created_at=when,
            )
            turn = Turn.objects.create(battle=battle, index=0, prompt=f"Solve task {i}.")
            a_good = models.index(model_a) > models.index(model_b)
            add_answer(turn, "a", model_a, good=a_good)
            add_answer(turn, "b", model_b, good=not a_good)
            winner = "tie" if i % 5 == 4 else ("model_a" if a_good else "model_b")
            Vote.objects.create(battle=battle, rater=rater, winner=winner, created_at=when)
            battles.append(battle)
        return battles

    return make


def evidence_reader(request: RecordedRequest) -> Reply:
    """A judge that trusts the runs: with evidence it picks the side that printed CORRECT;
    blind, it always picks the first answer (a pure position bias)."""
    prompt = request.prompt
    if B_EXECUTION_HEADER not in prompt:
        return text_answer("Hard to say without running them. [[A>B]]", size=64)
    a_part, b_part = prompt.split(B_EXECUTION_HEADER, 1)
    verdict = (
        "[[A>B]]"
        if "CORRECT" in a_part.split("<|Execution of Assistant A's Program|>")[-1]
        else "[[B>>A]]"
    )
    return text_answer(f"Only one program printed the result. {verdict}", size=64)


@pytest.fixture
def make_llm_judge(db: None) -> Callable[..., Judge]:
    def make(base_url: str, **fields: Any) -> Judge:
        fields.setdefault("name", "evidence-reader")
        return Judge.objects.create(
            kind=Judge.Kind.LLM,
            provider="openai",
            model_id="judge-1",
            base_url=base_url,
            input_usd_per_mtok=2,
            output_usd_per_mtok=8,
            **fields,
        )

    return make


@pytest.fixture
def embedded_jobs(settings: Any) -> None:
    """Jobs on threads of this process (embedded mode), whatever REDIS_URL says."""
    settings.JOBS_MODE = "inline"


def wait_for_run(run: JudgingRun, timeout: float = 60) -> JudgingRun:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.is_finished:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run.pk} did not finish: {run.status}")
        time.sleep(0.05)


@pytest.fixture
def staff_client(db: None) -> Client:
    user = get_user_model().objects.create_user("ada", password="pw", is_staff=True)
    client = Client()
    client.force_login(user)
    return client
