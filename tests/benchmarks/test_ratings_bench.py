"""Rating math speed: aggregated BT (ours) vs the row-per-battle scikit-learn baseline.

Run: `python -m pytest -p no:django -s tests/benchmarks/test_ratings_bench.py`
or `python tests/benchmarks/test_ratings_bench.py` (prints the table only).
Needs scikit-learn for the baseline (skipped without it).

Baseline = the original Chatbot Arena notebook's compute_mle_elo: every battle
duplicated, a tie = one A win + one B win, dense X with ±ln10 in the two model
columns, LogisticRegression(fit_intercept=False, penalty=None, tol=1e-6). Its
bootstrap refits on rows resampled with replacement; we time a few rounds and
extrapolate to 100 (said so in the output).
"""

from __future__ import annotations

import math
import time
import tracemalloc
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from arena.ratings.engine.battle_table import A_WINS, BattleTable
from arena.ratings.engine.bradley_terry import (
    aggregate_triples,
    fit_theta,
    pair_stats,
    theta_to_ratings,
)
from arena.ratings.engine.intervals import bootstrap_ratings, percentile_interval
from arena.ratings.engine.leaderboard import compute_leaderboard
from arena.ratings.engine.synthetic import spread_ratings, synthetic_battles, table_rows

N_MODELS = 30
SIZES = (100_000, 1_000_000)
BOOTSTRAP = 100
BASELINE_BOOTSTRAP_ROUNDS_TIMED = 2


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def peak_mib(function: Callable[[], Any]) -> float:
    """Peak traced allocation (numpy reports its buffers to tracemalloc), in MiB."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def ours_point(table: BattleTable) -> NDArray[np.float64]:
    fit = fit_theta(pair_stats(aggregate_triples(table)))
    return theta_to_ratings(fit.theta)


def ours_bootstrap(table: BattleTable) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    triples = aggregate_triples(table)
    ratings = theta_to_ratings(fit_theta(pair_stats(triples)).theta)
    return percentile_interval(bootstrap_ratings(triples, BOOTSTRAP, seed=42), ratings)


def sklearn_row_per_battle(table: BattleTable, rows: NDArray[np.intp] | None = None) -> Any:
    """compute_mle_elo of the Chatbot Arena notebook, on numpy columns instead of pandas."""
    from sklearn.linear_model import LogisticRegression

    a, b, outcome = table.model_a, table.model_b, table.outcome
    if rows is not None:
        a, b, outcome = a[rows], b[rows], outcome[rows]
    n, m = 2 * a.size, len(table.models)
    x = np.zeros((n, m))
    everything = np.arange(n)
    x[everything, np.concatenate([a, a])] = +math.log(10)
    x[everything, np.concatenate([b, b])] = -math.log(10)
    y = np.zeros(n)
    y[np.concatenate([outcome == A_WINS] * 2)] = 1.0  # one A win => two A wins
    tie = np.concatenate([outcome >= 2, np.zeros(a.size, dtype=bool)])
    y[tie] = 1.0  # one tie => one A win + one B win
    model = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-6)
    with warnings.catch_warnings():  # sklearn 1.8 deprecates penalty=None (use C=inf)
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(x, y)
    coef = model.coef_[0]
    return 400 * coef + 1000 - (400 * coef).mean()  # same mean-1000 gauge as ours


def baseline_bootstrap_rounds(table: BattleTable) -> list[Any]:
    """The notebook's bootstrap: refit on N rows drawn with replacement, a few times."""
    rng = np.random.default_rng(0)
    return [
        sklearn_row_per_battle(table, rng.integers(0, len(table), len(table)))
        for _ in range(BASELINE_BOOTSTRAP_ROUNDS_TIMED)
    ]


@cache
def measurements() -> list[dict[str, Any]]:
    sklearn = pytest.importorskip("sklearn")
    results = []
    truth = spread_ratings(N_MODELS)
    for size in SIZES:
        table = synthetic_battles(truth, size, seed=size)
        rows = table_rows(table)
        r: dict[str, Any] = {"battles": size, "sklearn": sklearn.__version__}
        r["ours_point_s"], ours = timed(lambda t=table: ours_point(t))
        r["ours_bootstrap_s"], _ = timed(lambda t=table: ours_bootstrap(t))
        r["leaderboard_table_s"], _ = timed(
            lambda t=table: compute_leaderboard(t, bootstrap=BOOTSTRAP)
        )
        r["leaderboard_rows_s"], _ = timed(
            lambda rw=rows: compute_leaderboard(rw, bootstrap=BOOTSTRAP)
        )
        r["leaderboard_sandwich_s"], _ = timed(
            lambda t=table: compute_leaderboard(t, interval="sandwich")
        )
        r["baseline_point_s"], baseline = timed(lambda t=table: sklearn_row_per_battle(t))
        r["baseline_round_s"], _ = timed(lambda t=table: baseline_bootstrap_rounds(t))
        r["baseline_round_s"] /= BASELINE_BOOTSTRAP_ROUNDS_TIMED
        r["baseline_bootstrap_s_extrapolated"] = (
            r["baseline_point_s"] + BOOTSTRAP * r["baseline_round_s"]
        )
        r["max_abs_rating_diff"] = float(np.abs(ours - baseline).max())
        r["max_abs_error_vs_truth"] = float(
            np.abs(ours - np.array([truth[m] for m in table.models])).max()
        )
        r["ours_leaderboard_peak_mib"] = peak_mib(
            lambda t=table: compute_leaderboard(t, bootstrap=BOOTSTRAP)
        )
        r["baseline_point_peak_mib"] = peak_mib(lambda t=table: sklearn_row_per_battle(t))
        r["speedup_point"] = r["baseline_point_s"] / r["ours_point_s"]
        r["speedup_bootstrap"] = r["baseline_bootstrap_s_extrapolated"] / r["ours_bootstrap_s"]
        results.append(r)
        del rows
    print("\n" + report(results))
    return results


def report(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{N_MODELS} models, {BOOTSTRAP} bootstrap rounds; baseline bootstrap = point fit + "
        f"{BOOTSTRAP} x mean of {BASELINE_BOOTSTRAP_ROUNDS_TIMED} timed rounds (extrapolated)"
    ]
    for r in results:
        lines += [
            f"{key:>36}: {value:.4g}" if isinstance(value, float) else f"{key:>36}: {value}"
            for key, value in r.items()
        ]
        lines.append("")
    return "\n".join(lines)


def test_bt_point_estimate_agrees_with_the_sklearn_baseline() -> None:
    for r in measurements():
        assert r["max_abs_rating_diff"] < 0.05  # rating points; sklearn tol=1e-6 limits it


def test_full_leaderboard_for_1m_battles_takes_under_10_seconds() -> None:
    big = next(r for r in measurements() if r["battles"] == 1_000_000)
    assert big["leaderboard_table_s"] < 10
    assert big["leaderboard_rows_s"] < 10


def test_we_are_at_least_20x_faster_than_the_row_per_battle_baseline() -> None:
    for r in measurements():
        assert r["speedup_point"] >= 20
        assert r["speedup_bootstrap"] >= 20


if __name__ == "__main__":
    measurements()
