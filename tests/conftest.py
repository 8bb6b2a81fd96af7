"""Personas and make_* fixtures shared by every test package."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from arena.battles.models import Battle, Response, Turn
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.raters.services import COOKIE_NAME, cookie_value
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


def client_for(rater: Rater) -> Client:
    """A browser that this rater's signed cookie identifies."""
    client = Client()
    client.cookies[COOKIE_NAME] = cookie_value(rater)
    return client


def consented_rater() -> Rater:
    return Rater.objects.create(consented_at=timezone.now(), consent_text="the terms")


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Rate counts live in a process-wide cache: each test starts from none."""
    caches["limits"].clear()
    yield
    caches["limits"].clear()


@pytest.fixture
def alice(db: None) -> Rater:
    return consented_rater()


@pytest.fixture
def bob(db: None) -> Rater:
    return consented_rater()


@pytest.fixture
def alice_client(alice: Rater) -> Client:
    return client_for(alice)


@pytest.fixture
def bob_client(bob: Rater) -> Client:
    return client_for(bob)


@pytest.fixture
def admin_client(db: None) -> Client:
    """A browser signed in as the superuser "reviewer" (the lockout backend needs a request,
    so the login is forced through Django's own backend)."""
    user = get_user_model().objects.create_superuser("reviewer", "reviewer@example.org", "pw")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


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
