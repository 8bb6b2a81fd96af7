from __future__ import annotations

import pytest

from arena.ratings.engine.battle_table import BattleTable
from arena.ratings.engine.elo import online_elo


def test_online_elo_matches_a_hand_computed_sequence() -> None:
    table = BattleTable.from_rows(
        [
            {"model_a": "x", "model_b": "y", "winner": "model_a"},
            {"model_a": "y", "model_b": "x", "winner": "tie"},
        ]
    )
    # 1) equal ratings: E_x = 0.5, x wins: x 1002, y 998.
    # 2) y vs x tie: E_y = 1/(1 + 10^((1002 − 998)/400)) = 1/(1 + 10^0.01), y += 4(0.5 − E_y).
    expected_y = 1.0 / (1.0 + 10**0.01)
    y = 998 + 4 * (0.5 - expected_y)
    x = 1002 - 4 * (0.5 - expected_y)
    assert online_elo(table).tolist() == pytest.approx([x, y], abs=1e-12)


def test_online_elo_replays_battles_in_tstamp_order() -> None:
    rows = [
        {"model_a": "x", "model_b": "y", "winner": "model_a", "tstamp": 2.0},
        {"model_a": "x", "model_b": "y", "winner": "model_b", "tstamp": 1.0},
    ]
    reordered = [rows[1], rows[0]]
    assert (
        online_elo(BattleTable.from_rows(rows)).tolist()
        == online_elo(BattleTable.from_rows(reordered)).tolist()
    )
    # the later battle (x wins) decides: x ends above y
    x, y = online_elo(BattleTable.from_rows(rows))
    assert x > y


def test_online_elo_keeps_the_mean_at_the_initial_rating() -> None:
    rows = [{"model_a": a, "model_b": b, "winner": "model_a"} for a, b in ["xy", "yz", "zx", "xz"]]
    assert online_elo(BattleTable.from_rows(rows)).mean() == pytest.approx(1000.0)
