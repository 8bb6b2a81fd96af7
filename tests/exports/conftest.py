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
