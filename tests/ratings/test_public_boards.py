"""Stored boards as the public sees them: hidden models out, reranking, preliminary
models, broken rows; head-to-head records from the votes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from arena.battles.models import Vote
from arena.llms.models import LanguageModel
from arena.ratings.public_boards import head_to_head, public_board

Cast = Callable[..., Vote]


def row(model: str, bt: float, low: float, high: float, battles: int = 50) -> dict[str, Any]:
    counts = {"wins": 0, "losses": 0, "ties": 0, "both_bad": 0, "rank_ub": 0}
    return {
        "model": model,
        "bt": bt,
        "bt_ci_low": low,
        "bt_ci_high": high,
        "elo": bt,
        "battles": battles,
        **counts,
    }


def models_named(*names: str) -> dict[str, LanguageModel]:
    return {n: LanguageModel(name=n, organization=f"{n} org") for n in names}


def test_removing_a_hidden_model_recomputes_the_ranks() -> None:
    data = {
        "models": [
            row("hidden", 1200, 1150, 1250),
            row("a", 1100, 1080, 1120),
            row("b", 1090, 1070, 1110),
            row("c", 900, 880, 920),
        ]
    }
    board = public_board(data, models_named("a", "b", "c"), min_votes=10)
    assert [(r.model, r.rank) for r in board.ranked] == [("a", 1), ("b", 1), ("c", 3)]
    assert board.ranked[0].organization == "a org"


def test_models_under_the_vote_minimum_are_preliminary_and_not_ranked() -> None:
    data = {
        "models": [
            row("new", 1300, 1000, 1600, battles=3),
            row("a", 1100, 1080, 1120),
            row("b", 900, 880, 920),
        ]
    }
    board = public_board(data, models_named("new", "a", "b"), min_votes=10)
    assert [(r.model, r.rank) for r in board.ranked] == [("a", 1), ("b", 2)]
    assert [(r.model, r.rank) for r in board.preliminary] == [("new", None)]
    assert board.preliminary[0].is_preliminary


def test_a_row_with_a_missing_or_non_finite_number_is_left_out() -> None:
    data = {
        "models": [
            row("a", 1100, 1080, 1120),
            row("b", float("nan"), 0, 1),
            {"model": "c", "bt": 900},
        ]
    }
    board = public_board(data, models_named("a", "b", "c"), min_votes=10)
    assert [r.model for r in board.rows] == ["a"]


@pytest.mark.django_db
def test_head_to_head_counts_each_outcome_from_the_models_side(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    me, rival, other, hidden = (make_model(name=n) for n in ("me", "rival", "other", "hidden"))
    hidden.is_public = False
    hidden.save()
    for winner in ("model_a", "model_a", "model_b", "tie", "both_bad"):
        cast(me, rival, winner)
    cast(rival, me, "model_a")  # rival sat on side A and won: a loss for me
    cast(other, me, "model_b")  # a win for me from side B
    cast(other, me, "model_b", is_valid=False)
    cast(me, hidden, "model_a")
    cast(rival, other, "model_a")  # not mine
    records = {r.opponent: r for r in head_to_head(me)}
    assert set(records) == {"rival", "other"}
    assert (
        records["rival"].wins,
        records["rival"].losses,
        records["rival"].ties,
        records["rival"].both_bad,
        records["rival"].battles,
    ) == (2, 2, 1, 1, 6)
    assert records["rival"].win_rate == 0.5
    assert (records["other"].wins, records["other"].battles) == (1, 1)
