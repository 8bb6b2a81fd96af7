"""Confusion matrices and the agreement metrics computed from them.

Pure numpy (no Django). Labels travel as int8 codes into LABELS; every metric is
computed from a small confusion matrix with exact integer arithmetic, so 1M rows
cost one `np.bincount` and the metrics cost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arena.vocabulary import Winner

LABELS = tuple(Winner)  # model_a, model_b, tie, both_bad: the vote outcomes
THREE_CLASS_LABELS = (Winner.MODEL_A, Winner.MODEL_B, Winner.TIE)
LABEL_SETS = ("4class", "3class")
# 3-class merges both_bad into tie: neither side is preferred (BigCodeReward's "uncertain").
THREE_CLASS_CODE: NDArray[np.intp] = np.array([0, 1, 2, 2], dtype=np.intp)
_TO_THREE_CLASS = np.eye(len(THREE_CLASS_LABELS), dtype=np.int64)[THREE_CLASS_CODE]


@dataclass(frozen=True)
class Metrics:
    """M in the report; a metric that is undefined for the matrix is None."""

    n: int
    accuracy: float | None
    macro_f1: float | None
    kappa: float | None
    mcc: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "kappa": self.kappa,
            "mcc": self.mcc,
        }


@dataclass(frozen=True, eq=False)
class Confusion:
    """Counts of (human, judge) label pairs: rows are human labels, columns judge labels."""

    labels: tuple[str, ...]
    matrix: NDArray[np.int64]

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    def three_class(self) -> Confusion:
        """The same judgements with both_bad merged into tie (a 4-class matrix only)."""
        if self.labels != LABELS:
            raise ValueError("only a 4-class confusion matrix can be merged to 3 classes")
        return Confusion(THREE_CLASS_LABELS, _TO_THREE_CLASS.T @ self.matrix @ _TO_THREE_CLASS)

    def label_sets(self) -> dict[str, Confusion]:
        """{"4class": self, "3class": merged} for a 4-class matrix."""
        return {"4class": self, "3class": self.three_class()}

    def metrics(self) -> Metrics:
        return metrics_from_confusion(self.matrix)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "matrix": self.matrix.tolist()}


def confusion_codes(human: NDArray[np.integer[Any]], judge: NDArray[np.integer[Any]]) -> Confusion:
    """The 4-class confusion matrix of two equal-length code arrays."""
    return Confusion(LABELS, grouped_confusion(human, judge, np.zeros(human.size, np.intp), 1)[0])


def grouped_confusion(
    human: NDArray[np.integer[Any]],
    judge: NDArray[np.integer[Any]],
    group: NDArray[np.integer[Any]],
    n_groups: int,
) -> NDArray[np.int64]:
    """n_groups x 4 x 4 confusion matrices in one bincount; rows with group < 0 are left out."""
    keep = group >= 0
    if not keep.all():
        human, judge, group = human[keep], judge[keep], group[keep]
    size = len(LABELS)
    key = (group.astype(np.int64) * size + human) * size + judge
    counts = np.bincount(key, minlength=n_groups * size * size)
    return counts.reshape(n_groups, size, size).astype(np.int64)


def metrics_from_confusion(matrix: NDArray[np.integer[Any]]) -> Metrics:
    """Accuracy, macro-F1, Cohen's kappa and multiclass MCC (Gorodkin) of one matrix.

    Python ints throughout: products of 1M-row counts stay exact. Undefined cases
    are None where scikit-learn would warn and return nan or 0.
    """
    cells = [[int(count) for count in row] for row in matrix]
    n = sum(map(sum, cells))
    if n == 0:
        return Metrics(0, None, None, None, None)
    correct = sum(cells[k][k] for k in range(len(cells)))
    human_totals = [sum(row) for row in cells]
    judge_totals = [sum(column) for column in zip(*cells, strict=True)]
    return Metrics(
        n=n,
        accuracy=correct / n,
        macro_f1=_macro_f1(cells, human_totals, judge_totals),
        kappa=_kappa(n, correct, human_totals, judge_totals),
        mcc=_mcc(n, correct, human_totals, judge_totals),
    )


def _macro_f1(cells: list[list[int]], human_totals: list[int], judge_totals: list[int]) -> float:
    # Averaged over labels present in either column, as scikit-learn's f1_score(average="macro")
    # does; F1 = 2TP / (2TP + FP + FN) = 2TP / (human total + judge total) for each label.
    present = [k for k in range(len(cells)) if human_totals[k] + judge_totals[k] > 0]
    scores = [2 * cells[k][k] / (human_totals[k] + judge_totals[k]) for k in present]
    return sum(scores) / len(scores)


def _kappa(n: int, correct: int, human_totals: list[int], judge_totals: list[int]) -> float | None:
    # kappa = (p_o - p_e) / (1 - p_e), scaled by n^2; undefined when chance agreement is certain
    # (both columns hold the same single label).
    chance = sum(h * j for h, j in zip(human_totals, judge_totals, strict=True))
    if n * n == chance:
        return None
    return (n * correct - chance) / (n * n - chance)


def _mcc(n: int, correct: int, human_totals: list[int], judge_totals: list[int]) -> float | None:
    # Undefined when either column holds a single label (zero variance); scikit-learn returns 0.
    chance = sum(h * j for h, j in zip(human_totals, judge_totals, strict=True))
    human_spread = n * n - sum(h * h for h in human_totals)
    judge_spread = n * n - sum(j * j for j in judge_totals)
    if human_spread == 0 or judge_spread == 0:
        return None
    return (n * correct - chance) / math.sqrt(human_spread * judge_spread)
