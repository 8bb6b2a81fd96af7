"""Outlier raters, by Chatbot Arena's method: compare each vote of a rater with what
everyone else said about the same pair of models.

For a vote with outcome v (1: the alphabetically first model won, 0: it lost, 1/2: a
tie or both bad) and the other raters' outcomes h on that pair, the vote's one-sided
p-value is p = min(P(h <= v), P(h >= v)), add-one smoothed so that an outcome no one
else gave is unlikely, not impossible. A rater's evidence is M = prod 1/(2p) over up to
`max_votes` of their votes (the newest) on pairs with at least `min_history` other votes;
M > 1/alpha (20 at alpha = 0.05) flags the rater. Honest disagreement multiplies in
factors near 1 and below; voting against the crowd on every pair multiplies in
factors near (n+1)/2 and soon crosses the threshold. Flags are for review: nothing
here deletes or invalidates a vote.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from arena.vocabulary import Winner

Pair = tuple[str, str]


@dataclass(frozen=True)
class RatedVote:
    rater: str
    model_a: str
    model_b: str
    winner: str  # a Winner value


@dataclass(frozen=True)
class OutlierScore:
    rater: str
    log_evidence: float  # log M
    votes_checked: int

    @property
    def evidence(self) -> float:
        return math.exp(min(self.log_evidence, 700.0))


def _pair_and_outcome(vote: RatedVote) -> tuple[Pair, float]:
    first, second = sorted((vote.model_a, vote.model_b))
    if vote.winner in (Winner.TIE, Winner.BOTH_BAD):
        return (first, second), 0.5
    winner = vote.model_a if vote.winner == Winner.MODEL_A else vote.model_b
    return (first, second), 1.0 if winner == first else 0.0


def outlier_scores(
    votes: Iterable[RatedVote],
    *,
    min_votes: int = 5,
    max_votes: int = 100,
    min_history: int = 5,
) -> list[OutlierScore]:
    """The evidence against each rater with at least `min_votes` votes; `votes` oldest first."""
    everyone: dict[Pair, Counter[float]] = defaultdict(Counter)
    by_rater: dict[str, list[tuple[Pair, float]]] = defaultdict(list)
    for vote in votes:
        pair, outcome = _pair_and_outcome(vote)
        everyone[pair][outcome] += 1
        by_rater[vote.rater].append((pair, outcome))
    scores = []
    for rater, own in by_rater.items():
        if len(own) < min_votes:
            continue
        mine: dict[Pair, Counter[float]] = defaultdict(Counter)
        for pair, outcome in own:
            mine[pair][outcome] += 1
        log_m, checked = 0.0, 0
        for pair, outcome in own[-max_votes:]:
            others = everyone[pair] - mine[pair]
            p = _p_value(others, outcome)
            if p is None or sum(others.values()) < min_history:
                continue
            log_m += -math.log(2 * p)
            checked += 1
        scores.append(OutlierScore(rater, log_m, checked))
    return scores


def _p_value(others: Counter[float], outcome: float) -> float | None:
    n = sum(others.values())
    if not n:
        return None
    at_most = sum(c for h, c in others.items() if h <= outcome)
    at_least = sum(c for h, c in others.items() if h >= outcome)
    return (min(at_most, at_least) + 1) / (n + 1)


def flagged(scores: Sequence[OutlierScore], alpha: float = 0.05) -> list[OutlierScore]:
    threshold = math.log(1 / alpha)
    return [score for score in scores if score.log_evidence > threshold]
