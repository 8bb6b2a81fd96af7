"""Synthetic battles drawn from known Bradley-Terry ratings (tests, benchmarks, demos)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from arena.ratings.engine.battle_table import A_WINS, B_WINS, BOTH_BAD, TIE, BattleTable
from arena.ratings.engine.bradley_terry import INIT_RATING, SCALE


def spread_ratings(n_models: int, spread: float = 300.0) -> dict[str, float]:
    """n evenly spaced true ratings with mean 1000, named m00, m01, …"""
    values = np.linspace(-spread, spread, n_models) + INIT_RATING
    return {f"m{index:02d}": float(value) for index, value in enumerate(values)}


def synthetic_battles(
    true_ratings: Mapping[str, float],
    n_battles: int,
    *,
    seed: int = 0,
    tie_rate: float = 0.2,
) -> BattleTable:
    """Battles between uniformly drawn distinct pairs, outcomes consistent with BT.

    1. Draw model_a uniformly and model_b uniformly among the others.
    2. p = 1 / (1 + 10^((R_b − R_a)/400)).
    3. Tie with probability q = 2·tie_rate·min(p, 1 − p), else a win for a with
       probability (p − q/2)/(1 − q): then E[y] = p, so the BT MLE (ties = half a
       win) is consistent for the true ratings. A quarter of ties are both_bad.
    """
    rng = np.random.default_rng(seed)
    models = tuple(sorted(true_ratings))
    ratings = np.array([true_ratings[name] for name in models])
    m = len(models)
    model_a = rng.integers(0, m, n_battles)
    model_b = (model_a + rng.integers(1, m, n_battles)) % m
    p = 1.0 / (1.0 + 10.0 ** ((ratings[model_b] - ratings[model_a]) / SCALE))
    tie_prob = 2.0 * tie_rate * np.minimum(p, 1.0 - p)
    draw = rng.random(n_battles)
    a_wins = rng.random(n_battles) < (p - tie_prob / 2.0) / (1.0 - tie_prob)
    outcome = np.where(a_wins, A_WINS, B_WINS)
    outcome = np.where(draw < tie_prob, np.where(draw < tie_prob / 4.0, BOTH_BAD, TIE), outcome)
    return BattleTable(
        models=models,
        model_a=model_a.astype(np.intp),
        model_b=model_b.astype(np.intp),
        outcome=outcome.astype(np.int8),
        tstamp=np.arange(n_battles, dtype=np.float64),
    )


def table_rows(table: BattleTable) -> list[dict[str, object]]:
    """The table as dict rows (what the site or a JSONL file provides)."""
    names = np.asarray(table.models, dtype=object)
    winners: NDArray[np.object_] = np.asarray(
        ["model_a", "model_b", "tie", "both_bad"], dtype=object
    )[table.outcome]
    rows: list[dict[str, object]] = [
        {"model_a": a, "model_b": b, "winner": w}
        for a, b, w in zip(
            names[table.model_a].tolist(),
            names[table.model_b].tolist(),
            winners.tolist(),
            strict=True,
        )
    ]
    if table.tstamp is not None:
        for row, stamp in zip(rows, table.tstamp.tolist(), strict=True):
            row["tstamp"] = stamp
    return rows
