from __future__ import annotations

import numpy as np

from arena.ratings.engine.bradley_terry import aggregate_triples
from arena.ratings.engine.intervals import bootstrap_ratings, rank_upper_bound
from arena.ratings.engine.leaderboard import compute_leaderboard
from arena.ratings.engine.synthetic import spread_ratings, synthetic_battles

TRUTH = spread_ratings(5, spread=150)


def coverage(interval: str, datasets: int = 50) -> float:
    hits = []
    for seed in range(datasets):
        table = synthetic_battles(TRUTH, 1500, seed=1000 + seed)
        board = compute_leaderboard(table, bootstrap=100, seed=seed, interval=interval)  # type: ignore[arg-type]
        hits += [m.bt_ci_low <= TRUTH[m.model] <= m.bt_ci_high for m in board.models]
    return float(np.mean(hits))


def test_bootstrap_intervals_cover_the_true_rating_about_95_percent_of_the_time() -> None:
    assert coverage("bootstrap") >= 0.85


def test_sandwich_intervals_cover_the_true_rating_about_95_percent_of_the_time() -> None:
    assert coverage("sandwich") >= 0.85


def test_sandwich_and_bootstrap_intervals_roughly_agree() -> None:
    table = synthetic_battles(spread_ratings(8), 20_000, seed=7)
    boot = compute_leaderboard(table, bootstrap=400)
    sandwich = compute_leaderboard(table, interval="sandwich")
    for b, s in zip(boot.models, sandwich.models, strict=True):
        assert b.model == s.model and b.bt == s.bt
        boot_width = b.bt_ci_high - b.bt_ci_low
        sandwich_width = s.bt_ci_high - s.bt_ci_low
        assert abs(boot_width - sandwich_width) < 0.2 * sandwich_width


def test_the_same_seed_gives_the_same_intervals() -> None:
    triples = aggregate_triples(synthetic_battles(spread_ratings(4), 500, seed=1))
    first, again = bootstrap_ratings(triples, 20, seed=5), bootstrap_ratings(triples, 20, seed=5)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, bootstrap_ratings(triples, 20, seed=6))


def test_the_point_estimate_is_the_full_data_mle_not_the_bootstrap_median() -> None:
    table = synthetic_battles(spread_ratings(4), 800, seed=2)
    assert [m.bt for m in compute_leaderboard(table, bootstrap=30).models] == [
        m.bt for m in compute_leaderboard(table, bootstrap=0).models
    ]


def test_rank_upper_bound_counts_models_whose_lower_bound_is_above_my_upper_bound() -> None:
    low = np.array([1100.0, 1050.0, 1000.0, 900.0])
    high = np.array([1200.0, 1150.0, 1080.0, 1060.0])
    # model 3: only model 0's lower bound (1100) is above its upper bound (1060)
    assert rank_upper_bound(low, high).tolist() == [1, 1, 2, 2]


def test_an_anchored_model_has_a_zero_width_interval() -> None:
    table = synthetic_battles(spread_ratings(4), 2000, seed=3)
    for interval in ("bootstrap", "sandwich"):
        board = compute_leaderboard(table, anchor=("m00", 800.0), interval=interval)  # type: ignore[arg-type]
        anchored = next(m for m in board.models if m.model == "m00")
        assert anchored.bt == 800.0
        assert anchored.bt_ci_high - anchored.bt_ci_low < 1e-9
