from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize

from arena.ratings.engine.battle_table import BattleDataError, BattleTable
from arena.ratings.engine.bradley_terry import (
    LN10,
    DisconnectedComparisonsError,
    aggregate_triples,
    fit_theta,
    pair_stats,
)
from arena.ratings.engine.leaderboard import compute_leaderboard
from arena.ratings.engine.synthetic import spread_ratings, synthetic_battles, table_rows

WIKIPEDIA_GAMES = [("A", "B", 2, 3), ("A", "D", 1, 4), ("B", "C", 5, 3), ("C", "D", 1, 3)]


def wikipedia_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for a, b, a_wins, b_wins in WIKIPEDIA_GAMES:
        rows += [{"model_a": a, "model_b": b, "winner": "model_a"}] * a_wins
        rows += [{"model_a": a, "model_b": b, "winner": "model_b"}] * b_wins
    return rows


def ratings_of(rows: object, **options: object) -> dict[str, float]:
    board = compute_leaderboard(rows, bootstrap=0, **options)  # type: ignore[arg-type]
    return {m.model: m.bt for m in board.models}


def test_it_reproduces_the_wikipedia_strengths_with_geometric_mean_one() -> None:
    ratings = ratings_of(wikipedia_rows())
    # strength = 10^((R − 1000)/400): mean rating 1000 <=> geometric mean strength 1
    strengths = {m: 10 ** ((r - 1000) / 400) for m, r in ratings.items()}
    assert {m: round(s, 3) for m, s in strengths.items()} == {
        "A": 0.640,
        "B": 1.043,
        "C": 0.660,
        "D": 2.270,
    }
    assert math.prod(strengths.values()) == pytest.approx(1.0)


def test_newton_matches_a_tight_scipy_lbfgs_fit() -> None:
    table = synthetic_battles(spread_ratings(12), 20_000, seed=3)
    pairs = pair_stats(aggregate_triples(table))
    theta = fit_theta(pairs).theta

    def loss_and_gradient(t: np.ndarray) -> tuple[float, np.ndarray]:
        x = LN10 * (t[pairs.i] - t[pairs.j])
        loss = pairs.wins_i @ np.logaddexp(0, -x) + pairs.wins_j @ np.logaddexp(0, x)
        resid = pairs.wins_i - pairs.total / (1 + np.exp(-x))
        grad = -LN10 * (np.bincount(pairs.i, resid, 12) - np.bincount(pairs.j, resid, 12))
        return float(loss), grad

    reference = minimize(
        loss_and_gradient,
        np.zeros(12),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000},
    ).x
    assert np.abs((theta - (reference - reference.mean())) * 400).max() < 1e-3


def test_it_recovers_known_ratings_from_synthetic_battles() -> None:
    truth = spread_ratings(10)
    ratings = ratings_of(synthetic_battles(truth, 200_000, seed=1))
    assert max(abs(ratings[m] - truth[m]) for m in truth) < 8


def test_it_is_invariant_to_row_order() -> None:
    rows = table_rows(synthetic_battles(spread_ratings(6), 3000, seed=2))
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    for row in shuffled:
        row.pop("tstamp")
    board, shuffled_board = compute_leaderboard(rows), compute_leaderboard(shuffled)
    for m, s in zip(board.models, shuffled_board.models, strict=True):
        assert (m.model, m.bt_ci_low, m.bt_ci_high) == (s.model, s.bt_ci_low, s.bt_ci_high)
        assert m.bt == pytest.approx(s.bt, abs=1e-9)


def test_it_is_invariant_to_swapping_sides_with_the_outcome_flipped() -> None:
    rows = table_rows(synthetic_battles(spread_ratings(6), 3000, seed=4))
    flip = {"model_a": "model_b", "model_b": "model_a", "tie": "tie", "both_bad": "both_bad"}
    swapped = [
        {**row, "model_a": row["model_b"], "model_b": row["model_a"], "winner": flip[row["winner"]]}  # type: ignore[index]
        for row in rows
    ]
    board, swapped_board = compute_leaderboard(rows), compute_leaderboard(swapped)
    for m, s in zip(board.models, swapped_board.models, strict=True):
        assert m.elo == pytest.approx(s.elo, abs=1e-9)  # (y − E_a) vs −(y' − E_b): 1 ulp
        assert replace(m, elo=0.0) == replace(s, elo=0.0)


def test_a_tie_counts_as_half_a_win_and_half_a_loss() -> None:
    with_ties = [
        {"model_a": "x", "model_b": "y", "winner": w} for w in ["tie", "both_bad", "model_a"]
    ]
    halves = [
        {"model_a": "x", "model_b": "y", "winner": w} for w in ["model_a", "model_b", "model_a"]
    ]
    ratings, half_ratings = ratings_of(with_ties * 3 + halves), ratings_of(halves * 4)
    assert ratings["x"] == pytest.approx(half_ratings["x"])


def test_the_anchor_model_gets_the_anchor_rating() -> None:
    ratings = ratings_of(wikipedia_rows(), anchor=("A", 800.0))
    plain = ratings_of(wikipedia_rows())
    assert ratings["A"] == pytest.approx(800.0)
    assert ratings["D"] - ratings["A"] == pytest.approx(plain["D"] - plain["A"])


def test_equal_sampling_probabilities_weight_like_no_weights() -> None:
    rows = [{**row, "sampling_prob": 0.25} for row in wikipedia_rows()]
    assert ratings_of(rows, weighted=True) == pytest.approx(ratings_of(rows))


def test_inverse_probability_weights_count_rare_pairs_more() -> None:
    rows = wikipedia_rows()
    weighted = [{**row, "sampling_prob": 0.1 if row["model_b"] == "D" else 0.4} for row in rows]
    expected = [row for row in rows for _ in range(4 if row["model_b"] == "D" else 1)]
    assert ratings_of(weighted, weighted=True) == pytest.approx(ratings_of(expected))


def test_no_battles_give_an_empty_leaderboard() -> None:
    board = compute_leaderboard([])
    assert board.models == () and board.n_battles == 0


def test_an_undefeated_model_gets_a_finite_rating_above_the_rest() -> None:
    rows = wikipedia_rows() + [{"model_a": "E", "model_b": "D", "winner": "model_a"}] * 5
    board = compute_leaderboard(rows, bootstrap=20)
    assert board.prior_used
    assert board.models[0].model == "E"
    values = [v for m in board.models for v in (m.bt, m.bt_ci_low, m.bt_ci_high, m.elo)]
    assert all(math.isfinite(v) for v in values)
    assert board.to_json()  # allow_nan=False would raise on NaN


def test_a_single_battle_gives_finite_ratings_in_the_right_order() -> None:
    board = compute_leaderboard([{"model_a": "x", "model_b": "y", "winner": "model_b"}])
    assert [m.model for m in board.models] == ["y", "x"]
    assert all(math.isfinite(m.bt) for m in board.models)


def test_the_prior_is_not_used_when_the_mle_exists() -> None:
    assert not compute_leaderboard(wikipedia_rows(), bootstrap=0).prior_used


def test_disconnected_groups_of_models_are_a_clear_error() -> None:
    rows = wikipedia_rows() + [{"model_a": "P", "model_b": "Q", "winner": "tie"}]
    with pytest.raises(DisconnectedComparisonsError, match="2 disconnected groups") as error:
        compute_leaderboard(rows)
    assert error.value.components == [["A", "B", "C", "D"], ["P", "Q"]]


def test_an_unknown_winner_names_the_row() -> None:
    rows = wikipedia_rows() + [{"model_a": "A", "model_b": "B", "winner": "left"}]
    with pytest.raises(BattleDataError, match="row 22: unknown winner 'left'"):
        compute_leaderboard(rows)


def test_all_winner_spellings_are_accepted_and_both_bad_stays_distinct() -> None:
    winners = ["model_a", "model_b", "tie", "tie (bothbad)", "both_bad"]
    rows = [{"model_a": "x", "model_b": "y", "winner": w} for w in winners]
    x = next(m for m in compute_leaderboard(rows, bootstrap=0).models if m.model == "x")
    assert (x.battles, x.wins, x.losses, x.ties, x.both_bad) == (5, 1, 1, 1, 2)


def test_a_model_battling_itself_is_rejected() -> None:
    with pytest.raises(BattleDataError, match="row 0: a model cannot battle itself"):
        BattleTable.from_rows([{"model_a": "x", "model_b": "x", "winner": "tie"}])


def test_the_matrices_follow_leaderboard_order() -> None:
    board = compute_leaderboard(wikipedia_rows(), bootstrap=0)
    order = [m.model for m in board.models]
    a, b = order.index("A"), order.index("B")
    assert board.battle_count[a][b] == 5
    assert board.win_fraction[a][b] == pytest.approx(2 / 5)
    assert board.win_fraction[a][order.index("C")] is None
    assert board.predicted_win[a][a] is None
    assert board.predicted_win[a][b] + board.predicted_win[b][a] == pytest.approx(1.0)  # type: ignore[operator]
