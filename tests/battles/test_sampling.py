from __future__ import annotations

import random
from collections import Counter

import pytest

from arena.battles.sampling import Candidate, NotEnoughModels, pair_distribution, sample_pair


def test_the_distribution_matches_the_two_step_draw_exactly() -> None:
    models = [Candidate("x", 1), Candidate("y", 2), Candidate("z", 1)]
    p = pair_distribution(models)
    # P(x, y) = 1/2 * (1/4 * 2/3 + 2/4 * 1/2)
    assert p[("x", "y")] == pytest.approx(0.5 * (0.25 * 2 / 3 + 0.5 * 0.5))
    assert p[("x", "y")] == p[("y", "x")]  # sides are swapped at random
    assert sum(p.values()) == pytest.approx(1)


def test_draws_follow_the_logged_probabilities() -> None:
    models = [Candidate("x", 1), Candidate("y", 3), Candidate("z", 1)]
    rng = random.Random(7)
    draws = [sample_pair(models, rng) for _ in range(20_000)]
    counts = Counter((d.model_a, d.model_b) for d in draws)
    for draw in draws[:50]:
        observed = counts[(draw.model_a, draw.model_b)] / len(draws)
        assert observed == pytest.approx(draw.probability, abs=0.015)


def test_the_previous_pair_is_never_drawn_again() -> None:
    models = [Candidate("x", 1), Candidate("y", 1), Candidate("z", 1)]
    rng = random.Random(1)
    for _ in range(500):
        draw = sample_pair(models, rng, avoid=frozenset({"x", "y"}))
        assert {draw.model_a, draw.model_b} != {"x", "y"}
        assert draw.probability == pytest.approx(0.25)  # 4 ordered pairs remain


def test_battle_targets_get_half_of_the_rival_draws() -> None:
    models = [Candidate("x", 1, frozenset({"z"})), Candidate("y", 1), Candidate("z", 1)]
    p = pair_distribution(models)
    # x first (1/3): z with 1/2*1/2 + 1/2 = 3/4, y with 1/4
    x_then_z, z_then_x = (1 / 3) * 0.75, (1 / 3) * 0.5
    assert p[("x", "z")] == pytest.approx(0.5 * (x_then_z + z_then_x))
    assert p[("x", "z")] > p[("x", "y")]


def test_inactive_or_zero_weight_models_are_never_drawn() -> None:
    models = [Candidate("x", 1), Candidate("y", 0), Candidate("z", 1)]
    assert all("y" not in pair for pair in pair_distribution(models))


def test_one_model_is_not_enough_for_a_battle() -> None:
    with pytest.raises(NotEnoughModels):
        sample_pair([Candidate("x", 1), Candidate("y", 0)], random.Random(0))
