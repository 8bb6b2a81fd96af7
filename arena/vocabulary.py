"""Words the whole arena shares, Django-free so that the pure modules (the rating engine,
the agreement math, the export schema) use the same ones as the models.

Languages, environments and run statuses belong to the sandbox: executors.environments
and executors.STATUSES hold them.
"""

from __future__ import annotations

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
