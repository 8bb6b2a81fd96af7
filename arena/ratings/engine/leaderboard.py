"""The public entry point: battles in, a leaderboard out (no Django, no database)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from arena.ratings.engine.battle_table import Battles, BattleTable, as_table
from arena.ratings.engine.bradley_terry import (
    OutcomeTriples,
    aggregate_triples,
    fit_theta,
    pair_stats,
    theta_to_ratings,
)
from arena.ratings.engine.elo import online_elo
from arena.ratings.engine.intervals import (
    bootstrap_ratings,
    percentile_interval,
    rank_upper_bound,
    sandwich_interval,
)
from arena.ratings.engine.matrices import (
    battle_count_matrix,
    outcome_tallies,
    predicted_win_matrix,
    win_fraction_matrix,
)

IntervalMethod = Literal["bootstrap", "sandwich"]


@dataclass(frozen=True)
class ModelRating:
    """One leaderboard row. battles = wins + losses + ties + both_bad."""

    model: str
    bt: float
    bt_ci_low: float
    bt_ci_high: float
    elo: float
    battles: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    rank_ub: int


@dataclass(frozen=True)
class Leaderboard:
    """Rows sorted by (rank_ub, −bt, model); matrices are indexed in that same order.

    win_fraction / predicted_win cells are None where undefined (no decided
    battles between the pair; the diagonal).
    """

    models: tuple[ModelRating, ...]
    n_battles: int
    win_fraction: tuple[tuple[float | None, ...], ...]
    battle_count: tuple[tuple[int, ...], ...]
    predicted_win: tuple[tuple[float | None, ...], ...]
    interval: IntervalMethod
    bootstrap: int
    seed: int
    anchor: tuple[str, float] | None
    weighted: bool
    prior_used: bool  # True when the MLE did not exist (see bradley_terry.fit_theta)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=False)


def compute_leaderboard(
    battles: Battles,
    *,
    bootstrap: int = 100,
    seed: int = 42,
    anchor: tuple[str, float] | None = None,
    weighted: bool = False,
    interval: IntervalMethod = "bootstrap",
) -> Leaderboard:
    """Bradley-Terry leaderboard with 95% intervals, rank upper bounds and Elo.

    1. Collapse battles into unique (lo, hi, outcome) triples with counts.
    2. Fit the BT MLE on the per-pair sums; ratings = 400·θ + 1000 with mean
       1000, or shifted so that anchor model = anchor rating.
    3. Intervals: `bootstrap` multinomial rounds (2.5/97.5 percentiles, seeded),
       or the sandwich estimator. bootstrap=0 gives zero-width intervals.
    4. rank_ub = 1 + number of models whose lower bound exceeds this upper bound.
    5. Online Elo (K=4) replayed in tstamp order, shifted by the same anchor.

    weighted=True weights each battle by 1/sampling_prob normalised to mean 1.
    Raises BattleDataError (bad rows), DisconnectedComparisonsError, ValueError.
    """
    table = as_table(battles)
    if interval not in ("bootstrap", "sandwich"):
        raise ValueError(f"unknown interval method {interval!r}")
    anchor_index = table.anchor_index(anchor)
    weights = table.inverse_probability_weights() if weighted else None
    triples = aggregate_triples(table, weights)
    fit = fit_theta(pair_stats(triples), names=table.models)
    ratings = theta_to_ratings(fit.theta, anchor_index)
    if interval == "sandwich":
        low, high = sandwich_interval(triples, fit.theta, fit.prior_used, anchor_index)
    else:
        samples = bootstrap_ratings(triples, bootstrap, seed, anchor_index)
        low, high = percentile_interval(samples, fallback=ratings)
    elo = online_elo(table)
    if anchor_index is not None:
        elo += anchor_index[1] - elo[anchor_index[0]]
    return _assemble(
        table,
        triples,
        ratings,
        (low, high),
        elo,
        settings=(interval, bootstrap, seed, anchor, weighted, fit.prior_used),
    )


def _assemble(
    table: BattleTable,
    triples: OutcomeTriples,
    ratings: NDArray[np.float64],
    interval_bounds: tuple[NDArray[np.float64], NDArray[np.float64]],
    elo: NDArray[np.float64],
    settings: tuple[IntervalMethod, int, int, tuple[str, float] | None, bool, bool],
) -> Leaderboard:
    low, high = interval_bounds
    ranks = rank_upper_bound(low, high)
    order = sorted(range(len(table.models)), key=lambda m: (ranks[m], -ratings[m], table.models[m]))
    tallies = outcome_tallies(triples)
    rows = tuple(
        ModelRating(
            model=table.models[m],
            bt=float(ratings[m]),
            bt_ci_low=float(low[m]),
            bt_ci_high=float(high[m]),
            elo=float(elo[m]),
            battles=int(tallies[m, 0]),
            wins=int(tallies[m, 1]),
            losses=int(tallies[m, 2]),
            ties=int(tallies[m, 3]),
            both_bad=int(tallies[m, 4]),
            rank_ub=int(ranks[m]),
        )
        for m in order
    )
    index = np.asarray(order, dtype=np.intp)
    interval, bootstrap, seed, anchor, weighted, prior_used = settings
    return Leaderboard(
        models=rows,
        n_battles=len(table),
        win_fraction=_cells(win_fraction_matrix(triples)[np.ix_(index, index)]),
        battle_count=tuple(
            tuple(int(v) for v in row) for row in battle_count_matrix(triples)[np.ix_(index, index)]
        ),
        predicted_win=_cells(predicted_win_matrix(ratings[index])),
        interval=interval,
        bootstrap=bootstrap if interval == "bootstrap" else 0,
        seed=seed,
        anchor=anchor,
        weighted=weighted,
        prior_used=prior_used,
    )


def _cells(matrix: NDArray[np.float64]) -> tuple[tuple[float | None, ...], ...]:
    return tuple(tuple(None if math.isnan(v) else float(v) for v in row) for row in matrix)
