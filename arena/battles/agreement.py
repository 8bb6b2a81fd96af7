"""Inter-rater agreement on replayed battles: pure math, no Django.

A battle and its replays (the same request and answers served to other raters) form one
item; each valid vote on them is one rating of that item, read in the original battle's
sides (a replay with swapped sides has its A and B turned back first), so the categories
are: the original's model A better, its model B better, tie, both bad.

Raters differ from item to item, so the fitting chance-corrected measure is Fleiss' kappa
(Cohen's assumes the same two raters rate every item); items may have two or more ratings,
and the per-item agreement is Fleiss's P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), the
share of agreeing ordered pairs of its ratings. Percent agreement is over all pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from arena.vocabulary import Winner

_SWAPPED = {Winner.MODEL_A: Winner.MODEL_B, Winner.MODEL_B: Winner.MODEL_A}


def in_original_sides(winner: str, sides_swapped: bool) -> str:
    """A replay's vote as it reads on the original battle's sides."""
    return str(_SWAPPED.get(Winner(winner), winner)) if sides_swapped else winner


@dataclass(frozen=True)
class Agreement:
    items: int  # battles with at least two valid votes (original and replays)
    ratings: int  # the votes on them
    pairs: int  # pairs of votes on one item
    agreeing_pairs: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.agreeing_pairs / self.pairs if self.pairs else None


def agreement(items: Sequence[Sequence[str]]) -> Agreement:
    """Percent agreement over every pair of votes on one item; items with fewer than two
    votes say nothing about agreement and are left out."""
    rated = [item for item in items if len(item) >= 2]
    pairs = sum(len(item) * (len(item) - 1) // 2 for item in rated)
    agreeing = sum(n * (n - 1) // 2 for item in rated for n in Counter(item).values())
    return Agreement(
        items=len(rated), ratings=sum(map(len, rated)), pairs=pairs, agreeing_pairs=agreeing
    )


def fleiss_kappa(items: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa for items with any number (two or more) of ratings each. None when it
    is undefined: no rated item, or every rating in one category (no chance to beat)."""
    rated = [Counter(item) for item in items if len(item) >= 2]
    if not rated:
        return None
    observed = sum(
        (sum(n * n for n in counts.values()) - total) / (total * (total - 1))
        for counts in rated
        for total in [sum(counts.values())]
    ) / len(rated)
    totals: Counter[str] = Counter()
    for counts in rated:
        totals.update(counts)
    all_ratings = sum(totals.values())
    chance = sum((n / all_ratings) ** 2 for n in totals.values())
    if chance >= 1:
        return None
    return (observed - chance) / (1 - chance)
