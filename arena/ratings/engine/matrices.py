"""Pairwise matrices stored with each leaderboard, as in FastChat elo_analysis.

Battle counts and observed win fractions (the page's heatmap), and the win
probabilities the ratings predict: where the two differ, Bradley-Terry fits that
pair badly.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from arena.ratings.engine.battle_table import A_WINS, B_WINS
from arena.ratings.engine.bradley_terry import SCALE, OutcomeTriples


def battle_count_matrix(triples: OutcomeTriples) -> NDArray[np.int64]:
    """Battles between i and j in either seat, ties and both_bad included."""
    counts = np.zeros((triples.n_models, triples.n_models), dtype=np.int64)
    np.add.at(counts, (triples.lo, triples.hi), triples.count)
    return counts + counts.T


def win_fraction_matrix(triples: OutcomeTriples) -> NDArray[np.float64]:
    """Share of i's wins over j among their no-tie battles; NaN where there are none.

    Equals FastChat's (a_win_ptbl + b_win_ptbl.T) / (n + n.T) on no-tie battles.
    """
    wins = np.zeros((triples.n_models, triples.n_models))
    lo_won = triples.outcome == A_WINS
    hi_won = triples.outcome == B_WINS
    np.add.at(wins, (triples.lo[lo_won], triples.hi[lo_won]), triples.count[lo_won])
    np.add.at(wins, (triples.hi[hi_won], triples.lo[hi_won]), triples.count[hi_won])
    decided = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(decided > 0, wins / decided, np.nan)


def predicted_win_matrix(ratings: NDArray[np.float64]) -> NDArray[np.float64]:
    """P(i beats j) = 1 / (1 + 10^((R_j − R_i)/400)); NaN on the diagonal."""
    difference = ratings[np.newaxis, :] - ratings[:, np.newaxis]  # R_j − R_i
    predicted = 1.0 / (1.0 + 10.0 ** (difference / SCALE))
    np.fill_diagonal(predicted, np.nan)
    return predicted


def outcome_tallies(triples: OutcomeTriples) -> NDArray[np.int64]:
    """Per model: battles, wins, losses, ties, both_bad (columns in that order)."""
    # Column credited to the lower / higher model for outcome codes 0..3
    # (model_a won, model_b won, tie, both_bad); triples store lo as model_a.
    lo_column = np.array([1, 2, 3, 4])
    hi_column = np.array([2, 1, 3, 4])
    tallies = np.zeros((triples.n_models, 5), dtype=np.int64)
    np.add.at(tallies, (triples.lo, lo_column[triples.outcome]), triples.count)
    np.add.at(tallies, (triples.hi, hi_column[triples.outcome]), triples.count)
    tallies[:, 0] = tallies[:, 1:].sum(axis=1)
    return tallies
