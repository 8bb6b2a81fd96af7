"""Pair sampling with exact, logged probabilities.

The sampler builds the full distribution over ordered pairs (a, b) and draws from
it, so the probability stored on the battle is exactly the one used. The shape
follows Chatbot Arena: the first model is drawn by weight, its rival by weight among
the rest, then sides are swapped with probability 1/2, so
    P(a, b) = 1/2 * (p1(a) * p2(b | a) + p1(b) * p2(a | b)).
A model with battle targets (rivals an admin wants it measured against) gives half
of its rival probability to those targets, split evenly:
    p2(r | f) = 1/2 * w_r / (W - w_f) + 1/2 * [r in targets(f)] / |targets(f)|.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    name: str
    weight: float
    targets: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Draw:
    model_a: str
    model_b: str
    probability: float


class NotEnoughModels(Exception):
    pass


def pair_distribution(
    candidates: Sequence[Candidate], avoid: frozenset[str] | None = None
) -> dict[tuple[str, str], float]:
    """Probability of every ordered pair; `avoid` is an unordered pair to leave out
    (the rater's previous pair), after which the rest is renormalised."""
    weights = {c.name: c.weight for c in candidates if c.weight > 0}
    targets = {c.name: c.targets & weights.keys() - {c.name} for c in candidates}
    total = sum(weights.values())
    unordered: dict[tuple[str, str], float] = {}
    for first, w_first in weights.items():
        rest = total - w_first
        if rest <= 0:
            continue
        for rival, w_rival in weights.items():
            if rival != first:
                # p1(first) * p2(rival | first), halved across the two side orders below
                unordered[(first, rival)] = (w_first / total) * _rival_probability(
                    rival, w_rival / rest, targets[first]
                )
    probs = {(a, b): 0.5 * (unordered[(a, b)] + unordered[(b, a)]) for (a, b) in unordered}
    if avoid and len(probs) > 2:
        probs = {pair: p for pair, p in probs.items() if frozenset(pair) != avoid}
    norm = sum(probs.values())
    return {pair: p / norm for pair, p in probs.items()} if norm > 0 else {}


def _rival_probability(rival: str, by_weight: float, targets: frozenset[str]) -> float:
    if not targets:
        return by_weight
    return 0.5 * by_weight + (0.5 / len(targets) if rival in targets else 0.0)


def sample_pair(
    candidates: Sequence[Candidate],
    rng: random.Random,
    avoid: frozenset[str] | None = None,
) -> Draw:
    distribution = pair_distribution(candidates, avoid)
    if not distribution:
        raise NotEnoughModels("at least two active models are needed for a battle")
    pairs = sorted(distribution)  # a fixed order makes a seeded draw reproducible
    (a, b) = rng.choices(pairs, weights=[distribution[p] for p in pairs])[0]
    return Draw(model_a=a, model_b=b, probability=distribution[(a, b)])
