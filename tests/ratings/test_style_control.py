from __future__ import annotations

import numpy as np
import pytest

from arena.ratings.engine.battle_table import BattleTable
from arena.ratings.engine.bradley_terry import LN10
from arena.ratings.engine.leaderboard import compute_leaderboard
from arena.ratings.engine.style import style_control, style_difference
from arena.ratings.engine.synthetic import spread_ratings, synthetic_battles

TRUTH = spread_ratings(6, spread=200)


def styled_battles(chars_effect: float, exec_effect: float, n: int = 20_000) -> BattleTable:
    """Battles where longer answers and running code win more than BT alone says (the
    two features the site stores per side, see snapshots.style_rows)."""
    base = synthetic_battles(TRUTH, n, seed=11, tie_rate=0.0)
    rng = np.random.default_rng(12)
    chars_a, chars_b = (
        rng.integers(50, 2000, n).astype(float),
        rng.integers(50, 2000, n).astype(float),
    )
    ok_a, ok_b = rng.integers(0, 2, n).astype(float), rng.integers(0, 2, n).astype(float)
    ratings = np.array([TRUTH[m] for m in base.models])

    def z(d: np.ndarray) -> np.ndarray:
        return (d - d.mean()) / d.std()

    logit = (
        LN10 * (ratings[base.model_a] - ratings[base.model_b]) / 400
        + chars_effect * z((chars_a - chars_b) / (chars_a + chars_b + 1))
        + exec_effect * z(ok_a - ok_b)
    )
    a_wins = rng.random(n) < 1 / (1 + np.exp(-logit))
    return BattleTable(
        models=base.models,
        model_a=base.model_a,
        model_b=base.model_b,
        outcome=np.where(a_wins, 0, 1).astype(np.int8),
        style_features=("chars", "exec_ok"),
        style_a=np.column_stack([chars_a, ok_a]),
        style_b=np.column_stack([chars_b, ok_b]),
    )


def test_style_control_recovers_the_style_coefficients_and_the_ratings() -> None:
    result = style_control(styled_battles(chars_effect=0.5, exec_effect=0.3))
    coefficients = {c.feature: c for c in result.coefficients}
    assert coefficients["chars"].ci_low < 0.5 < coefficients["chars"].ci_high
    assert coefficients["exec_ok"].ci_low < 0.3 < coefficients["exec_ok"].ci_high
    assert coefficients["chars"].rating_points == pytest.approx(0.5 * 400 / LN10, rel=0.1)
    assert max(abs(m.bt - TRUTH[m.model]) for m in result.models) < 15


def test_without_a_style_effect_controlled_ratings_equal_plain_ratings_closely() -> None:
    table = styled_battles(chars_effect=0.0, exec_effect=0.0)
    controlled = {m.model: m.bt for m in style_control(table).models}
    plain = {m.model: m.bt for m in compute_leaderboard(table, bootstrap=0).models}
    assert controlled == pytest.approx(plain, abs=3)


def test_style_control_bootstrap_and_sandwich_roughly_agree() -> None:
    table = styled_battles(chars_effect=0.4, exec_effect=0.0, n=5000)
    boot = style_control(table, interval="bootstrap", bootstrap=40)
    sandwich = style_control(table)
    for b, s in zip(boot.coefficients, sandwich.coefficients, strict=True):
        assert b.coefficient == s.coefficient
        assert (b.ci_high - b.ci_low) == pytest.approx(s.ci_high - s.ci_low, rel=0.35)


def test_a_constant_feature_is_dropped_not_nan() -> None:
    table = styled_battles(0.2, 0.0, n=2000)
    constant = BattleTable(
        table.models,
        table.model_a,
        table.model_b,
        table.outcome,
        style_features=("chars", "exec_ok"),
        style_a=np.column_stack([table.style_a[:, 0], np.ones(len(table))]),  # type: ignore[index]
        style_b=np.column_stack([table.style_b[:, 0], np.ones(len(table))]),  # type: ignore[index]
    )
    result = style_control(constant)
    assert result.dropped_features == ("exec_ok",)
    assert [c.feature for c in result.coefficients] == ["chars"]
    assert result.to_json()


def test_style_control_reads_per_side_columns_from_rows() -> None:
    rows = [
        {"model_a": "x", "model_b": "y", "winner": w, "chars_a": ta, "chars_b": tb}
        for w, ta, tb in [("model_a", 900, 100), ("model_b", 100, 800), ("tie", 300, 300)] * 5
    ]
    result = style_control(rows)
    assert result.coefficients[0].feature == "chars"
    assert result.coefficients[0].coefficient > 0


def test_the_style_difference_is_relative_for_counts_and_plain_for_a_binary_feature() -> None:
    a, b = np.array([30.0, 1.0]), np.array([10.0, 0.0])
    assert style_difference("chars", a, b).tolist() == [20 / 41, 1 / 2]
    assert style_difference("exec_ok", a, b).tolist() == [20.0, 1.0]


def test_style_control_without_any_varying_feature_says_which_are_constant() -> None:
    rows = [
        {"model_a": "x", "model_b": "y", "winner": w, "chars_a": 9, "chars_b": 9}
        for w in ("model_a", "model_b", "tie")
    ]
    with pytest.raises(ValueError, match=r"no style feature varies \(constant: chars\)"):
        style_control(rows)
