"""Personas and make_* fixtures shared by every test package."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from arena.battles.models import Battle, Response, Turn
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.raters.services import SESSION_KEY
from arena.runs.models import Execution


@pytest.fixture
def make_model(db: None) -> Callable[..., LanguageModel]:
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> LanguageModel:
        n = next(counter)
        fields.setdefault("name", f"model-{n}")
        fields.setdefault("provider", LanguageModel.Provider.REPLAY)
        fields.setdefault("model_id", "demo-atlas")
        fields.setdefault("organization", f"Org {n}")
        return LanguageModel.objects.create(**fields)

    return make


@pytest.fixture
def demo_models(db: None) -> list[LanguageModel]:
    """The shipped replay models, streaming without delays."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    LanguageModel.objects.update(params={"chunk_delay_s": 0})
    return list(LanguageModel.objects.all())


def _client_for(rater: Rater) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = str(rater.uuid)
    session.save()
    return client


@pytest.fixture
def alice(db: None) -> Rater:
    return Rater.objects.create()


@pytest.fixture
def bob(db: None) -> Rater:
    return Rater.objects.create()


@pytest.fixture
def alice_client(alice: Rater) -> Client:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob: Rater) -> Client:
    return _client_for(bob)


@pytest.fixture
def make_battle(make_model: Callable[..., LanguageModel]) -> Callable[..., Battle]:
    """A battle with one turn whose two answers are in the given state; done answers have
    their program's finished run, as the arena stores them (`runs=False`: no runs, for
    tests that make their own)."""

    def make(
        rater: Rater, *, answers: str = Response.Status.DONE, runs: bool = True, **fields: Any
    ) -> Battle:
        fields.setdefault("model_a", make_model())
        fields.setdefault("model_b", make_model())
        fields.setdefault("sampling_prob", 0.5)
        battle = Battle.objects.create(rater=rater, **fields)
        turn = Turn.objects.create(battle=battle, index=0, prompt="print hello")
        done = answers == Response.Status.DONE
        for side in Response.Side:
            response = Response.objects.create(
                turn=turn,
                side=side,
                model=battle.model_for(side),
                status=answers,
                text=f"```python\nprint('hello from {side}')\n```",
                code=f"print('hello from {side}')\n" if done else "",
                code_language="python" if done else "",
            )
            if done and runs:
                Execution.objects.create(
                    owner=response,
                    code=response.code,
                    language="python",
                    status=Execution.Status.OK,
                    stdout=f"hello from {side}\n",
                )
        return battle

    return make


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where the machine is fully set up (CI), a skip means a real part was missing."""
    if not os.environ.get("ARENA_FORBID_SKIPS"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"ARENA_FORBID_SKIPS: {len(skipped)} tests were skipped", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
