"""Online Elo, a secondary column (FastChat compute_elo).

It depends on the order of the battles and drifts with recent ones, so it is shown
next to the Bradley-Terry rating, never used for ranks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from arena.ratings.engine.battle_table import SCORE_OF_OUTCOME, BattleTable

ELO_K = 4.0
ELO_INIT = 1000.0
ELO_SCALE = 400.0
ELO_BASE = 10.0


def online_elo(
    table: BattleTable,
    *,
    k: float = ELO_K,
    init: float = ELO_INIT,
    scale: float = ELO_SCALE,
    base: float = ELO_BASE,
) -> NDArray[np.float64]:
    """Elo ratings after replaying the battles once.

    1. Order battles by tstamp when the table has one, else keep file order.
    2. For each battle: E_a = 1 / (1 + base^((R_b − R_a)/scale)), y = 1 / 0 / 0.5,
       R_a += k·(y − E_a) and R_b −= k·(y − E_a). Updates are zero-sum, so the
       mean rating stays `init`.
    """
    ratings = [init] * len(table.models)
    order = table.chronological_order()
    # Python floats in a plain loop: the recursion is sequential, and scalar numpy
    # indexing would be several times slower than list indexing.
    model_a = table.model_a[order].tolist()
    model_b = table.model_b[order].tolist()
    scores = SCORE_OF_OUTCOME[table.outcome[order]].tolist()
    for a, b, y in zip(model_a, model_b, scores, strict=True):
        expected_a = 1.0 / (1.0 + base ** ((ratings[b] - ratings[a]) / scale))
        delta = k * (y - expected_a)
        ratings[a] += delta
        ratings[b] -= delta
    return np.asarray(ratings, dtype=np.float64)
