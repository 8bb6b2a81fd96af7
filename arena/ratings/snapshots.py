"""Leaderboard snapshots: counted votes in, stored leaderboards out.

Pages never compute ratings; they read the newest snapshot of their scope. A vote
(embedded mode) or the periodic task (service mode) refreshes them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from arena.battles.models import Battle, Vote
from arena.ratings.leaderboard import compute_leaderboard
from arena.ratings.models import LeaderboardSnapshot

log = logging.getLogger(__name__)

OVERALL = "overall"
SCOPE_FIELDS = ("language", "environment", "category")
SNAPSHOTS_KEPT_PER_SCOPE = 50


def counted_votes() -> QuerySet[Vote]:
    """Only valid votes on anonymous, finished battles move ratings."""
    return Vote.objects.filter(
        is_valid=True, battle__is_anonymous=True, battle__status=Battle.Status.VOTED
    )


def battle_rows(votes: QuerySet[Vote]) -> list[dict[str, Any]]:
    rows = votes.order_by("created_at", "pk").values_list(
        "battle__model_a__name", "battle__model_b__name", "winner", "created_at",
        "battle__sampling_prob",
    )  # fmt: skip
    return [
        {"model_a": a, "model_b": b, "winner": w, "tstamp": t.timestamp(), "sampling_prob": p}
        for a, b, w, t, p in rows
    ]


def scopes() -> list[tuple[str, dict[str, str]]]:
    """ "overall" plus one scope per language, environment and category seen in votes."""
    result: list[tuple[str, dict[str, str]]] = [(OVERALL, {})]
    votes = counted_votes()
    for field in SCOPE_FIELDS:
        values = votes.exclude(**{f"battle__{field}": ""}).values_list(
            f"battle__{field}", flat=True
        )
        for value in sorted(set(values)):
            result.append((f"{field}:{value}", {f"battle__{field}": value}))
    return result


def refresh_leaderboards() -> int:
    """Recompute every scope; returns how many snapshots were written."""
    written = 0
    for scope, filters in scopes():
        rows = battle_rows(counted_votes().filter(**filters))
        data = _leaderboard_data(rows)
        LeaderboardSnapshot.objects.create(
            scope=scope,
            n_votes=len(rows),
            params={"bootstrap": settings.LEADERBOARD_BOOTSTRAP, "seed": 42, "filters": filters},
            data=data,
        )
        _prune(scope)
        written += 1
    return written


def _leaderboard_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"models": [], "error": ""}
    try:
        board = compute_leaderboard(rows, bootstrap=settings.LEADERBOARD_BOOTSTRAP, seed=42)
    except ValueError as error:  # e.g. two groups of models that never met
        return {"models": [], "error": str(error)}
    return {**board.to_dict(), "error": ""}


def _prune(scope: str) -> None:
    keep = LeaderboardSnapshot.objects.filter(scope=scope).values_list("pk", flat=True)[
        :SNAPSHOTS_KEPT_PER_SCOPE
    ]
    LeaderboardSnapshot.objects.filter(scope=scope).exclude(pk__in=list(keep)).delete()


def latest_snapshot(scope: str = OVERALL) -> LeaderboardSnapshot | None:
    return LeaderboardSnapshot.objects.filter(scope=scope).order_by("-computed_at", "-pk").first()
