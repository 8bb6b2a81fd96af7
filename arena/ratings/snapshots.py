"""Leaderboard snapshots computed from the counted votes and stored.

Pages never compute ratings for the stored windows (all time, the recent window);
they read the newest snapshot of their scope (`public_boards`). A vote (embedded mode)
or the periodic task (service mode) refreshes them. Ratings are fitted on every counted
vote, hidden models included: their battles say something about their opponents.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Length
from django.utils import timezone

from arena.battles.models import Battle, Response, Vote
from arena.ratings.engine import DisconnectedComparisonsError, compute_leaderboard, style_control
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.runs.models import Execution

log = logging.getLogger(__name__)

OVERALL = "overall"
SCOPE_FIELDS = ("language", "environment", "category")
SNAPSHOTS_KEPT_PER_SCOPE = 50
SEED = 42
DATABASE_STYLE_FEATURES = ("chars", "exec_ok")  # see style_rows


def counted_votes() -> QuerySet[Vote]:
    """Only valid votes on anonymous, finished battles move ratings; a replay (a battle
    served again to measure agreement, arena/battles) repeats its original's sample, so
    only the original's vote counts."""
    return Vote.objects.filter(
        is_valid=True,
        battle__is_anonymous=True,
        battle__status=Battle.Status.VOTED,
        battle__replay_of__isnull=True,
    )


def battle_rows(votes: QuerySet[Vote]) -> list[dict[str, Any]]:
    rows = votes.order_by("created_at", "pk").values_list(
        "battle__model_a__name",
        "battle__model_b__name",
        "winner",
        "created_at",
        "battle__sampling_prob",
    )
    return [
        {"model_a": a, "model_b": b, "winner": w, "tstamp": t.timestamp(), "sampling_prob": p}
        for a, b, w, t, p in rows
    ]


def scope_filters(scope: str) -> dict[str, str] | None:
    """The vote filter of a scope name, or None when the name is not a scope."""
    if scope == OVERALL:
        return {}
    field, sep, value = scope.partition(":")
    if not sep or field not in SCOPE_FIELDS or not value:
        return None
    return {f"battle__{field}": value}


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


def windows(config: RatingsSettings) -> list[int]:
    """Stored windows in days; 0 is all time."""
    return [0, config.recent_days] if config.recent_days else [0]


def refresh_leaderboards(*, force: bool = True) -> int:
    """Recompute every scope and window; returns how many snapshots were written.

    Unless forced, nothing is written when the counted votes, the settings and the day
    are those of the newest snapshot: the periodic task then leaves history alone."""
    config = RatingsSettings.current()
    bootstrap = settings.LEADERBOARD_BOOTSTRAP
    fingerprint = votes_fingerprint(config, bootstrap)
    newest = latest_snapshot()
    if not force and newest and newest.params.get("fingerprint") == fingerprint:
        return 0
    written = 0
    for scope, filters in scopes():
        for days in windows(config):
            votes = counted_votes().filter(**filters)
            if days:
                votes = votes.filter(created_at__gte=timezone.now() - dt.timedelta(days=days))
            rows = battle_rows(votes)
            LeaderboardSnapshot.objects.create(
                scope=scope,
                window_days=days,
                n_votes=len(rows),
                params=snapshot_params(bootstrap, filters, {"fingerprint": fingerprint}),
                data=_with_style(leaderboard_data(rows, bootstrap), votes, scope, days),
            )
            _prune(scope, days)
            written += 1
    return written


def snapshot_params(
    bootstrap: int, filters: dict[str, str], extra: dict[str, str]
) -> dict[str, Any]:
    """What a snapshot was computed with (`params`), stored and computed-on-request alike."""
    return {"bootstrap": bootstrap, "seed": SEED, "filters": filters, **extra}


def votes_fingerprint(config: RatingsSettings, bootstrap: int) -> str:
    """Changes with any new, invalidated or de-anonymised vote, with the settings that
    shape snapshots, and with the day (the recent window moves with time)."""
    agg = counted_votes().aggregate(n=Count("pk"), last=Max("pk"), total=Sum("pk"))
    day = timezone.now().date()
    return f"{agg['n']}:{agg['last']}:{agg['total']}:{config.recent_days}:{bootstrap}:{day}"


def leaderboard_data(rows: list[dict[str, Any]], bootstrap: int) -> dict[str, Any]:
    """The engine's leaderboard as a dict, plus "error" and "note" (never raises)."""
    if not rows:
        return {"models": [], "error": "", "note": ""}
    note = ""
    try:
        try:
            board = compute_leaderboard(rows, bootstrap=bootstrap, seed=SEED)
        except DisconnectedComparisonsError as error:
            # Ratings across groups that never met mean nothing: rate the biggest group.
            rows, left_out = _largest_group(rows, error.components)
            note = (
                f"Not rated: {', '.join(left_out)} (never compared with the rest, even indirectly)."
            )
            board = compute_leaderboard(rows, bootstrap=bootstrap, seed=SEED)
    except ValueError as error:  # bad rows; logged, shown as a message, never a 500
        log.warning("leaderboard not computed: %s", error)
        return {"models": [], "error": str(error), "note": ""}
    return {**board.to_dict(), "error": "", "note": note}


def _largest_group(
    rows: list[dict[str, Any]], components: list[list[str]]
) -> tuple[list[dict[str, Any]], list[str]]:
    def votes_in(group: list[str]) -> int:
        return sum(1 for row in rows if row["model_a"] in group)

    biggest = max(components, key=lambda group: (votes_in(group), sorted(group)))
    left_out = sorted(name for group in components if group is not biggest for name in group)
    return [row for row in rows if row["model_a"] in biggest], left_out


def _with_style(
    data: dict[str, Any], votes: QuerySet[Vote], scope: str, days: int
) -> dict[str, Any]:
    """The overall all-time board also gets style-controlled ratings (one more query)."""
    if scope == OVERALL and not days and data["models"]:
        data["style_control"] = style_control_data(style_rows(votes))
    return data


def style_rows(votes: QuerySet[Vote]) -> list[dict[str, Any]]:
    """Battle rows with two style features per side, summed over the battle's turns and
    computed in the database (no answer text is loaded): `chars` (answer length) and
    `exec_ok` (1 if any run of that side's code finished OK)."""
    ran_ok = Exists(Execution.objects.filter(response=OuterRef("pk"), status=Execution.Status.OK))
    per_side = (
        Response.objects.filter(turn__battle__in=votes.values("battle_id"))
        .order_by()
        .values("turn__battle_id", "side")
        .annotate(
            chars=Sum(Length("text")),
            ok=Max(Case(When(ran_ok, then=1), default=0, output_field=IntegerField())),
        )
    )
    features = {(f["turn__battle_id"], f["side"]): f for f in per_side}
    rows = []
    for battle_id, a, b, winner in votes.order_by("created_at", "pk").values_list(
        "battle_id", "battle__model_a__name", "battle__model_b__name", "winner"
    ):
        fa, fb = features.get((battle_id, "a"), {}), features.get((battle_id, "b"), {})
        rows.append(
            {
                "model_a": a,
                "model_b": b,
                "winner": winner,
                "chars_a": fa.get("chars") or 0,
                "chars_b": fb.get("chars") or 0,
                "exec_ok_a": fa.get("ok") or 0,
                "exec_ok_b": fb.get("ok") or 0,
            }
        )
    return rows


def style_control_data(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Style-controlled ratings (sandwich intervals) as a dict with "error" (never raises);
    the engine drops a feature that is constant and refuses when none varies."""
    try:
        result = style_control(
            rows, features=DATABASE_STYLE_FEATURES, interval="sandwich", seed=SEED
        )
    except (ValueError, ArithmeticError) as error:
        log.warning("style control not computed: %s", error)
        return {"models": [], "coefficients": [], "error": str(error)}
    return {**result.to_dict(), "error": ""}


def _prune(scope: str, days: int) -> None:
    mine = LeaderboardSnapshot.objects.filter(scope=scope, window_days=days)
    keep = mine.order_by("-computed_at", "-pk").values_list("pk", flat=True)[
        :SNAPSHOTS_KEPT_PER_SCOPE
    ]
    mine.exclude(pk__in=list(keep)).delete()


def latest_snapshot(scope: str = OVERALL, window_days: int = 0) -> LeaderboardSnapshot | None:
    return (
        LeaderboardSnapshot.objects.filter(scope=scope, window_days=window_days)
        .order_by("-computed_at", "-pk")
        .first()
    )
