"""Outlier raters on synthetic data: honest raters with noise pass, adversaries are flagged."""

from __future__ import annotations

import random

from arena.ratings.engine.outliers import RatedVote, flagged, outlier_scores
from arena.vocabulary import Winner

STRENGTH = {"strong": 2.0, "good": 1.0, "fair": 0.0, "weak": -1.0}


def honest_vote(rng: random.Random, rater: str) -> RatedVote:
    a, b = rng.sample(sorted(STRENGTH), 2)
    if rng.random() < 0.15:
        return RatedVote(rater, a, b, Winner.TIE)
    p_a = 1 / (1 + 10 ** ((STRENGTH[b] - STRENGTH[a]) / 1.5))
    return RatedVote(rater, a, b, Winner.MODEL_A if rng.random() < p_a else Winner.MODEL_B)


def crowd(rng: random.Random, raters: int = 60, votes_each: int = 20) -> list[RatedVote]:
    return [honest_vote(rng, f"honest-{r}") for r in range(raters) for _ in range(votes_each)]


def test_honest_raters_are_not_flagged_and_adversaries_are() -> None:
    rng = random.Random(7)
    votes = crowd(rng)
    for n in range(3):  # always for the weaker model
        for _ in range(20):
            a, b = rng.sample(sorted(STRENGTH), 2)
            weaker = Winner.MODEL_A if STRENGTH[a] < STRENGTH[b] else Winner.MODEL_B
            votes.append(RatedVote(f"contrarian-{n}", a, b, weaker))
    for _ in range(30):  # promotes one model whatever it meets
        a, b = rng.sample(sorted(STRENGTH), 2)
        if "weak" in (a, b):
            votes.append(
                RatedVote("shill", a, b, Winner.MODEL_A if a == "weak" else Winner.MODEL_B)
            )
    names = {score.rater for score in flagged(outlier_scores(votes))}
    assert names >= {"contrarian-0", "contrarian-1", "contrarian-2", "shill"}
    honest_flagged = {name for name in names if name.startswith("honest")}
    assert len(honest_flagged) <= 6  # alpha = 0.05 nominal over 60 honest raters: a few at most


def test_a_rater_with_few_votes_or_pairs_without_history_is_not_judged() -> None:
    votes = [RatedVote("newcomer", "strong", "weak", Winner.MODEL_B) for _ in range(4)]
    assert outlier_scores(votes) == []
    lonely = [RatedVote("lonely", "x", "y", Winner.MODEL_B) for _ in range(10)]
    (score,) = outlier_scores(lonely)
    assert score.votes_checked == 0 and score.log_evidence == 0.0


def test_only_the_newest_hundred_votes_count() -> None:
    rng = random.Random(3)
    votes = crowd(rng, raters=30)
    votes += [RatedVote("long", "strong", "weak", Winner.MODEL_B) for _ in range(150)]
    (score,) = [s for s in outlier_scores(votes) if s.rater == "long"]
    assert score.votes_checked == 100
