"""Stored snapshots read back for the pages: public boards, model pages, date ranges.

Hidden models are removed when a board is read and the ranks recomputed with the
engine's rank rule over the rows that remain, so a hidden model never pushes a public
one down. Only a custom date range is computed on request, with fewer bootstrap
rounds, and cached briefly.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.utils import timezone

from arena.llms.models import LanguageModel
from arena.ratings.engine import POINTS_PER_LOG_ODDS, rank_upper_bound
from arena.ratings.models import LeaderboardSnapshot
from arena.ratings.snapshots import (
    OVERALL,
    battle_rows,
    counted_votes,
    leaderboard_data,
    scope_filters,
    snapshot_params,
)

ON_DEMAND_CACHE_SECONDS = 120


def stored_scopes() -> list[str]:
    """Scopes that have a snapshot, "overall" first."""
    names = set(
        LeaderboardSnapshot.objects.order_by("scope").values_list("scope", flat=True).distinct()
    )
    return sorted(names, key=lambda s: (s != OVERALL, s))


def range_snapshot(
    scope: str, start: dt.date | None, end: dt.date | None, bootstrap: int
) -> LeaderboardSnapshot:
    """A leaderboard of the counted votes cast from `start` to `end` (inclusive), computed
    now and not stored; cached briefly so that paging through a range stays fast."""
    key = f"ratings:range:{scope}:{start}:{end}:{bootstrap}"
    cached = cache.get(key)
    if isinstance(cached, LeaderboardSnapshot):
        return cached
    filters = scope_filters(scope) or {}
    votes = counted_votes().filter(**filters)
    if start:
        votes = votes.filter(created_at__gte=_day_start(start))
    if end:
        votes = votes.filter(created_at__lt=_day_start(end + dt.timedelta(days=1)))
    rows = battle_rows(votes)
    snapshot = LeaderboardSnapshot(
        scope=scope,
        n_votes=len(rows),
        params=snapshot_params(
            bootstrap, filters, {"from": str(start or ""), "to": str(end or "")}
        ),
        data=leaderboard_data(rows, bootstrap),
    )
    cache.set(key, snapshot, ON_DEMAND_CACHE_SECONDS)
    return snapshot


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class BoardRow:
    """One public leaderboard row; rank is None for a preliminary model."""

    model: str
    bt: float
    low: float
    high: float
    elo: float
    battles: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    rank: int | None
    organization: str = ""
    license: str = ""
    style_rank: int | None = None  # rank with style control (overall board only)

    @property
    def plus(self) -> float:
        return self.high - self.bt

    @property
    def minus(self) -> float:
        return self.bt - self.low

    @property
    def is_preliminary(self) -> bool:
        return self.rank is None


@dataclass(frozen=True)
class StyleEffect:
    """A style feature's effect in rating points per standard deviation, with its 95% CI."""

    feature: str
    label: str
    points: float
    low: float
    high: float


STYLE_LABELS = {"chars": "Answer length", "exec_ok": "Code ran OK"}


@dataclass(frozen=True)
class PublicBoard:
    """A snapshot as the public sees it: hidden models gone, ranks recomputed among the
    models with enough votes, the others preliminary (listed, never ranked)."""

    ranked: tuple[BoardRow, ...]
    preliminary: tuple[BoardRow, ...]
    names: tuple[str, ...]  # the snapshot's matrix order
    win_fraction: tuple[tuple[float | None, ...], ...]
    battle_count: tuple[tuple[int, ...], ...]
    style_effects: tuple[StyleEffect, ...] = ()

    @property
    def rows(self) -> tuple[BoardRow, ...]:
        return self.ranked + self.preliminary

    def pair(self, a: str, b: str) -> tuple[float | None, int]:
        """(share of a's wins over b among their battles without a tie, battles in all)."""
        try:
            i, j = self.names.index(a), self.names.index(b)
            return self.win_fraction[i][j], self.battle_count[i][j]
        except (ValueError, IndexError):
            return None, 0


def public_board(
    data: Mapping[str, Any], public: Mapping[str, LanguageModel], min_votes: int
) -> PublicBoard:
    """`public` maps the names of public models to their rows; other names are hidden."""
    rows = [
        _board_row(r, public[r["model"]])
        for r in data.get("models", [])
        if r["model"] in public and _finite(r)
    ]
    style = data.get("style_control") or {}
    ranked = style_ranks(rerank([r for r in rows if r.battles >= min_votes]), style)
    preliminary = sorted((r for r in rows if r.battles < min_votes), key=lambda r: (-r.bt, r.model))
    return PublicBoard(
        ranked=tuple(ranked),
        preliminary=tuple(preliminary),
        names=tuple(r["model"] for r in data.get("models", [])),
        win_fraction=tuple(tuple(row) for row in data.get("win_fraction", [])),
        battle_count=tuple(tuple(row) for row in data.get("battle_count", [])),
        style_effects=_style_effects(style) if ranked and any(r.style_rank for r in ranked) else (),
    )


def style_ranks(ranked: list[BoardRow], style: Mapping[str, Any]) -> list[BoardRow]:
    """Rank (StyleCtrl): the rank rule on the style-controlled intervals, among the
    ranked models that have one."""
    bounds = {m["model"]: (m["bt_ci_low"], m["bt_ci_high"]) for m in style.get("models", [])}
    controlled = [r.model for r in ranked if r.model in bounds]
    ranks = rank_upper_bound(
        [bounds[name][0] for name in controlled], [bounds[name][1] for name in controlled]
    )
    rank_of = dict(zip(controlled, ranks.tolist(), strict=True))
    return [replace(r, style_rank=rank_of[r.model]) if r.model in rank_of else r for r in ranked]


def _style_effects(style: Mapping[str, Any]) -> tuple[StyleEffect, ...]:
    return tuple(
        StyleEffect(
            feature=c["feature"],
            label=STYLE_LABELS.get(c["feature"], c["feature"]),
            points=c["rating_points"],
            low=c["ci_low"] * POINTS_PER_LOG_ODDS,
            high=c["ci_high"] * POINTS_PER_LOG_ODDS,
        )
        for c in style.get("coefficients", [])
    )


def _finite(row: Mapping[str, Any]) -> bool:
    """The engine never stores NaN; a row that has one anyway is left out, not drawn."""
    values = (row.get("bt"), row.get("bt_ci_low"), row.get("bt_ci_high"), row.get("elo"))
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _board_row(row: Mapping[str, Any], model: LanguageModel) -> BoardRow:
    return BoardRow(
        model=row["model"],
        bt=row["bt"],
        low=row["bt_ci_low"],
        high=row["bt_ci_high"],
        elo=row["elo"],
        battles=row["battles"],
        wins=row.get("wins", 0),
        losses=row.get("losses", 0),
        ties=row.get("ties", 0),
        both_bad=row.get("both_bad", 0),
        rank=None,
        organization=model.organization,
        license=model.license,
    )


def rerank(rows: Iterable[BoardRow]) -> list[BoardRow]:
    """The engine's rank rule over these rows only, sorted by (rank, −rating)."""
    rows = list(rows)
    ranks = rank_upper_bound([r.low for r in rows], [r.high for r in rows])
    ranked = [replace(r, rank=rank) for r, rank in zip(rows, ranks.tolist(), strict=True)]
    return sorted(ranked, key=lambda r: (r.rank, -r.bt, r.model))


def public_models() -> dict[str, LanguageModel]:
    return {m.name: m for m in LanguageModel.objects.filter(is_public=True)}


# --- Model pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadToHead:
    """One opponent, seen from the page's model."""

    opponent: str
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def battles(self) -> int:
        return self.wins + self.losses + self.ties + self.both_bad

    @property
    def decided(self) -> int:
        return self.wins + self.losses

    @property
    def win_rate(self) -> float | None:
        """Wins among decided battles (no tie, no both-bad), like the heatmap."""
        return self.wins / self.decided if self.decided else None


_OUTCOME_FOR_A = {"model_a": "wins", "model_b": "losses", "tie": "ties", "both_bad": "both_bad"}
_OUTCOME_FOR_B = {"model_a": "losses", "model_b": "wins", "tie": "ties", "both_bad": "both_bad"}


def head_to_head(model: LanguageModel) -> list[HeadToHead]:
    """Counted votes of `model` against each public opponent, most battles first."""
    grouped = (
        counted_votes()
        .filter(Q(battle__model_a=model) | Q(battle__model_b=model))
        .order_by()  # Vote's default ordering would split the groups
        .values(
            "battle__model_a_id",
            "battle__model_a__name",
            "battle__model_a__is_public",
            "battle__model_b__name",
            "battle__model_b__is_public",
            "winner",
        )
        .annotate(n=Count("pk"))
    )
    tally: dict[str, dict[str, int]] = {}
    for g in grouped:
        as_a = g["battle__model_a_id"] == model.pk
        side = "b" if as_a else "a"
        if not g[f"battle__model_{side}__is_public"]:
            continue
        outcome = (_OUTCOME_FOR_A if as_a else _OUTCOME_FOR_B).get(g["winner"])
        if outcome:
            counts = tally.setdefault(g[f"battle__model_{side}__name"], {})
            counts[outcome] = counts.get(outcome, 0) + g["n"]
    records = [HeadToHead(opponent=name, **counts) for name, counts in tally.items()]
    return sorted(records, key=lambda r: (-r.battles, r.opponent))


@dataclass(frozen=True)
class ScopeRating:
    scope: str
    label: str
    row: BoardRow
    ranked_models: int
    computed_at: dt.datetime
    n_votes: int


def scope_ratings(
    model: LanguageModel, public: Mapping[str, LanguageModel], min_votes: int
) -> list[ScopeRating]:
    """The model's row in the newest all-time snapshot of every scope it appears in."""
    newest = (
        LeaderboardSnapshot.objects.filter(window_days=0)
        .order_by()
        .values("scope")
        .annotate(last=Max("pk"))  # pks grow with time: the newest snapshot of the scope
        .values("last")
    )
    snapshots = LeaderboardSnapshot.objects.filter(pk__in=newest).only(
        "scope", "computed_at", "n_votes", "data"
    )
    result = []
    for snapshot in snapshots:
        board = public_board(snapshot.data, public, min_votes)
        row = next((r for r in board.rows if r.model == model.name), None)
        if row:
            label = scope_label(snapshot.scope)
            ranked, when = len(board.ranked), snapshot.computed_at
            result.append(ScopeRating(snapshot.scope, label, row, ranked, when, snapshot.n_votes))
    return sorted(result, key=lambda s: (s.scope != OVERALL, s.scope))


def scope_label(scope: str) -> str:
    if scope == OVERALL:
        return "Overall"
    field, _, value = scope.partition(":")
    return f"{field.capitalize()}: {value}"


def group_scopes(names: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group label, [(scope, value label)])] for the scope picker."""
    groups: dict[str, list[tuple[str, str]]] = {"": [(OVERALL, "Overall")]}
    for name in names:
        if name != OVERALL and scope_filters(name) is not None:
            field, _, value = name.partition(":")
            groups.setdefault(field.capitalize(), []).append((name, value))
    return list(groups.items())
