"""Leaderboard snapshots: counted votes in, stored leaderboards out, public boards read back.

Pages never compute ratings for the stored windows (all time, the recent window);
they read the newest snapshot of their scope. A vote (embedded mode) or the
periodic task (service mode) refreshes them. Only a custom date range is computed
on request, with fewer bootstrap rounds, and cached briefly.

Ratings are fitted on every counted vote, hidden models included (their battles
say something about their opponents); hidden models are removed when a board is
read, and ranks are recomputed from the remaining intervals (reference §1.5).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Length
from django.utils import timezone

from arena.battles.models import Battle, Response, Vote
from arena.llms.models import LanguageModel
from arena.ratings.bradley_terry import DisconnectedComparisonsError
from arena.ratings.leaderboard import compute_leaderboard
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.ratings.style import style_control
from arena.runs.models import Execution

log = logging.getLogger(__name__)

OVERALL = "overall"
SCOPE_FIELDS = ("language", "environment", "category")
SNAPSHOTS_KEPT_PER_SCOPE = 50
SEED = 42
ON_DEMAND_CACHE_SECONDS = 120
STYLE_FEATURES = ("chars", "exec_ok")  # both computed in the database, see style_rows


# --- Writing snapshots ------------------------------------------------------------------


def counted_votes() -> QuerySet[Vote]:
    """Only valid votes on anonymous, finished battles move ratings."""
    return Vote.objects.filter(
        is_valid=True, battle__is_anonymous=True, battle__status=Battle.Status.VOTED
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
                params={
                    "bootstrap": bootstrap,
                    "seed": SEED,
                    "filters": filters,
                    "fingerprint": fingerprint,
                },
                data=_with_style(leaderboard_data(rows, bootstrap), votes, scope, days),
            )
            _prune(scope, days)
            written += 1
    return written


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
    """Style-controlled ratings (sandwich intervals) as a dict with "error" (never raises)."""
    varying = [f for f in STYLE_FEATURES if len({_difference(row, f) for row in rows}) > 1]
    if not varying:  # style.py cannot fit without a covariate (reported upstream)
        return {"models": [], "coefficients": [], "error": "no style feature varies"}
    try:
        result = style_control(rows, features=varying, interval="sandwich", seed=SEED)
    except (ValueError, ArithmeticError) as error:
        log.warning("style control not computed: %s", error)
        return {"models": [], "coefficients": [], "error": str(error)}
    return {**result.to_dict(), "error": ""}


def _difference(row: Mapping[str, Any], feature: str) -> float:
    """The per-battle difference style.py z-scores (constant differences get dropped)."""
    a, b = float(row[f"{feature}_a"]), float(row[f"{feature}_b"])
    return a - b if feature == "exec_ok" else (a - b) / (a + b + 1.0)


def _prune(scope: str, days: int) -> None:
    mine = LeaderboardSnapshot.objects.filter(scope=scope, window_days=days)
    keep = mine.order_by("-computed_at", "-pk").values_list("pk", flat=True)[
        :SNAPSHOTS_KEPT_PER_SCOPE
    ]
    mine.exclude(pk__in=list(keep)).delete()


# --- Reading snapshots ------------------------------------------------------------------


def latest_snapshot(scope: str = OVERALL, window_days: int = 0) -> LeaderboardSnapshot | None:
    return (
        LeaderboardSnapshot.objects.filter(scope=scope, window_days=window_days)
        .order_by("-computed_at", "-pk")
        .first()
    )


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
        params={
            "bootstrap": bootstrap,
            "seed": SEED,
            "filters": filters,
            "from": str(start or ""),
            "to": str(end or ""),
        },
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
POINTS_PER_LOG_ODDS = 400 / math.log(10)


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
    """Rank (StyleCtrl): the same rank rule on the style-controlled intervals, among the
    ranked models that have one."""
    bounds = {m["model"]: (m["bt_ci_low"], m["bt_ci_high"]) for m in style.get("models", [])}
    mine = [bounds[r.model] for r in ranked if r.model in bounds]
    return [
        replace(r, style_rank=1 + sum(1 for low, _ in mine if low > bounds[r.model][1]))
        if r.model in bounds
        else r
        for r in ranked
    ]


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
    """rank_ub = 1 + #{j : low_j > high_i} over these rows only, sorted by (rank, −rating)."""
    rows = list(rows)
    ranked = [replace(r, rank=1 + sum(1 for o in rows if o.low > r.high)) for r in rows]
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
