"""The rating engine: battles in, Bradley-Terry leaderboards and style control out.

Pure Python + numpy/scipy. Nothing here imports Django or any other part of arena,
so the CLI and the benchmark run without a database. The Django side of the app
(snapshots, pages) and the CLI use only the names exported here.
"""

from __future__ import annotations

from arena.ratings.engine.battle_table import (
    STYLE_FEATURES,
    BattleDataError,
    Battles,
    BattleTable,
)
from arena.ratings.engine.bradley_terry import POINTS_PER_LOG_ODDS, DisconnectedComparisonsError
from arena.ratings.engine.intervals import gauge_variance, half_width_95, rank_upper_bound
from arena.ratings.engine.leaderboard import Leaderboard, ModelRating, compute_leaderboard
from arena.ratings.engine.style import (
    StyleCoefficient,
    StyleControlledRating,
    StyleControlResult,
    style_control,
    style_difference,
)

__all__ = [
    "STYLE_FEATURES",
    "BattleDataError",
    "BattleTable",
    "Battles",
    "DisconnectedComparisonsError",
    "POINTS_PER_LOG_ODDS",
    "Leaderboard",
    "ModelRating",
    "StyleCoefficient",
    "StyleControlResult",
    "StyleControlledRating",
    "compute_leaderboard",
    "gauge_variance",
    "half_width_95",
    "rank_upper_bound",
    "style_control",
    "style_difference",
]
