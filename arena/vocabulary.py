"""Words the whole arena shares, Django-free so that the pure modules (the rating engine,
the agreement math, the export schema) use the same ones as the models.

Languages, environments and run statuses belong to the sandbox: executors.environments
and executors.STATUSES hold them.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Winner(StrEnum):
    """A vote's outcome, as stored and as exported (Chatbot Arena's spelling)."""

    MODEL_A = "model_a"
    MODEL_B = "model_b"
    TIE = "tie"
    BOTH_BAD = "both_bad"


WINNER_LABELS = {
    Winner.MODEL_A: "A is better",
    Winner.MODEL_B: "B is better",
    Winner.TIE: "Tie",
    Winner.BOTH_BAD: "Both are bad",
}


# The days a date filter may name (leaderboard ranges, exports). Anything outside is a
# typo, and a day next to date.max would overflow when a range adds its closing day.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY
