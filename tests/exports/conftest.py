"""Voted battles with known times, and a private exports directory per test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arena.battles.models import Battle, Vote
from arena.exports.filters import ExportFilters
from arena.exports.services import ExportResult, export_votes
from arena.raters.models import Rater
from arena.runs.models import Execution, PreviewEvent

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = b"release-secret-for-tests-0001"


@pytest.fixture(autouse=True)
def exports_dir(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORTS_DIR = tmp_path / "exports"
    settings.LEADERBOARD_BOOTSTRAP = 20
    return settings.EXPORTS_DIR


@pytest.fixture
def make_vote(make_battle: Callable[..., Battle]) -> Callable[..., Vote]:
    """A finished battle with one vote, `minutes` after T0 (battle and vote alike)."""

    def make(rater: Rater, *, winner: str = "model_a", minutes: float = 0, **battle: Any) -> Vote:
        when = T0 + timedelta(minutes=minutes)
        battle.setdefault("created_at", when)
        b = make_battle(rater, status=Battle.Status.VOTED, runs=False, **battle)
        return Vote.objects.create(battle=b, rater=rater, winner=winner, created_at=when)

    return make


@pytest.fixture
def export(tmp_path: Path) -> Callable[..., ExportResult]:
    counter = iter(range(1_000))

    def run(
        fmt: str = "jsonl", filters: ExportFilters | None = None, *, secret: bytes = SECRET
    ) -> ExportResult:
        directory = tmp_path / f"out-{next(counter)}"
        return export_votes(filters or ExportFilters(), fmt, directory, secret=secret)

    return run


@pytest.fixture
def add_preview() -> Callable[..., Execution]:
    """An HTML run of side A's first answer with telemetry, as the preview bridge posts it:
    a load, a click (with the element's text), a key typed into a field, an error."""

    def add(vote: Vote) -> Execution:
        response = vote.battle.turns.get(index=0).responses.get(side="a")
        run = Execution.objects.create(
            owner=response, code="<button>Go</button>", language="html", environment="html"
        )
        received = T0 + timedelta(seconds=5)
        for offset, kind, data in [
            (0, "load", {"width": 800, "height": 600}),
            (1, "click", {"x": 10, "y": 20, "target": "button", "text": "my secret note"}),
            (2, "key", {"key": "char", "typing": True}),
            (3, "error", {"message": "TypeError: my secret note", "line": 3}),
        ]:
            PreviewEvent.objects.create(
                execution=run,
                kind=kind,
                data=data,
                client_at=received + timedelta(seconds=offset) if kind != "error" else None,
                received_at=received + timedelta(seconds=offset, milliseconds=250),
            )
        return run

    return add
