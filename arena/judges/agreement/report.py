"""The agreement report: metrics overall and per group, position consistency, a
bootstrap interval on accuracy. Pure numpy (no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arena.judges.agreement.labels import DIMENSIONS, Battles, LabelTable
from arena.judges.agreement.metrics import (
    LABEL_SETS,
    LABELS,
    THREE_CLASS_CODE,
    Confusion,
    Metrics,
    confusion_codes,
    grouped_confusion,
)

DEFAULT_BOOTSTRAP = 1000
DEFAULT_SEED = 42
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True)
class PositionConsistency:
    """Battles judged in both side orders, and how many got the same label both times."""

    battles: int
    single_order: int
    agreeing: Mapping[str, int]

    def share(self, label_set: str) -> float | None:
        return self.agreeing[label_set] / self.battles if self.battles else None

    def to_dict(self) -> dict[str, Any]:
        shares = {label_set: self.share(label_set) for label_set in LABEL_SETS}
        return {"battles": self.battles, "single_order": self.single_order, **shares}


@dataclass(frozen=True)
class AccuracyInterval:
    """Percentile bootstrap interval on accuracy; `unit` is what was resampled."""

    rounds: int
    seed: int
    level: float
    unit: str
    bounds: Mapping[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        header = {"rounds": self.rounds, "seed": self.seed, "level": self.level, "unit": self.unit}
        return header | {label_set: list(self.bounds[label_set]) for label_set in LABEL_SETS}


@dataclass(frozen=True, eq=False)
class AgreementReport:
    """4-class confusion matrices overall and per group (3-class ones derive from them)."""

    overall: Confusion
    breakdowns: Mapping[str, Mapping[str, Confusion]]
    position_consistency: PositionConsistency | None
    accuracy_interval: AccuracyInterval | None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: the fixed overall/by_* shape, then the additions."""
        payload: dict[str, Any] = {"overall": metrics_by_label_set(self.overall)}
        for dimension in DIMENSIONS:
            groups = self.breakdowns.get(dimension, {})
            payload[f"by_{dimension}"] = {
                name: metrics_by_label_set(confusion) for name, confusion in groups.items()
            }
        consistency, interval = self.position_consistency, self.accuracy_interval
        payload["position_consistency"] = None if consistency is None else consistency.to_dict()
        payload["accuracy_interval"] = None if interval is None else interval.to_dict()
        payload["confusion"] = {
            label_set: confusion.to_dict()
            for label_set, confusion in self.overall.label_sets().items()
        }
        return payload


def metrics_by_label_set(four_class: Confusion) -> dict[str, dict[str, Any]]:
    """{"4class": M, "3class": M} as JSON-ready dicts."""
    return {name: c.metrics().to_dict() for name, c in four_class.label_sets().items()}


def confusion_matrices(human: Sequence[str], judge: Sequence[str]) -> dict[str, Confusion]:
    """{"4class": Confusion, "3class": Confusion} of in-memory label lists."""
    table = LabelTable.from_columns(human, judge)
    return confusion_codes(table.human, table.judge).label_sets()


def agreement_metrics(human: Sequence[str], judge: Sequence[str]) -> dict[str, Metrics]:
    """{"4class": M, "3class": M} of in-memory label lists."""
    return {name: c.metrics() for name, c in confusion_matrices(human, judge).items()}


def agreement_report(
    table: LabelTable,
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    level: float = DEFAULT_LEVEL,
) -> AgreementReport:
    """Everything the CLI prints and the report pages show, from one table."""
    breakdowns = {
        dimension: _per_group(table, grouping.names, grouping.codes)
        for dimension, grouping in table.groupings.items()
    }
    return AgreementReport(
        overall=confusion_codes(table.human, table.judge),
        breakdowns=breakdowns,
        position_consistency=(
            None if table.battles is None else position_consistency(table.judge, table.battles)
        ),
        accuracy_interval=bootstrap_accuracy(table, rounds=bootstrap, seed=seed, level=level),
    )


def _per_group(
    table: LabelTable, names: tuple[str, ...], codes: NDArray[np.intp]
) -> dict[str, Confusion]:
    """Groups with at least one row (rows without a value are left out)."""
    matrices = grouped_confusion(table.human, table.judge, codes, len(names))
    return {
        name: Confusion(LABELS, matrix)
        for name, matrix in zip(names, matrices, strict=True)
        if matrix.any()
    }


def position_consistency(judge: NDArray[np.intp], battles: Battles) -> PositionConsistency | None:
    """Share of battles, judged in both orders, whose two judge labels agree; None without
    an `order` column. Labels are in the battle's own sides, so a judge that just picks
    the left answer both times disagrees with itself."""
    if battles.order is None:
        return None
    by_order = np.full((2, len(battles.ids)), -1, dtype=np.intp)
    by_order[battles.order, battles.codes] = judge
    judged = (by_order >= 0).sum(axis=0)
    ab, ba = by_order[:, judged == 2]
    return PositionConsistency(
        battles=int(ab.size),
        single_order=int((judged == 1).sum()),
        agreeing={
            "4class": int((ab == ba).sum()),
            "3class": int((THREE_CLASS_CODE[ab] == THREE_CLASS_CODE[ba]).sum()),
        },
    )


def bootstrap_accuracy(
    table: LabelTable, *, rounds: int, seed: int, level: float = DEFAULT_LEVEL
) -> AccuracyInterval | None:
    """Percentile interval of accuracy over `rounds` resamples with replacement.

    The unit is the battle when a battle_id column exists (its judgements in both
    orders move together), else the row. Accuracy only depends on how many units of
    each (judgements, correct 4-class, correct 3-class) kind a resample holds, and
    those counts are exactly multinomial, so each round costs O(kinds), not O(rows),
    with the same distribution as drawing the units one by one.
    """
    if rounds <= 0 or len(table) == 0:
        return None
    unit = (
        table.battles.codes if table.battles is not None else np.arange(len(table), dtype=np.intp)
    )
    kinds, counts = _unit_kinds(table, unit)
    draws = np.random.default_rng(seed).multinomial(counts.sum(), counts / counts.sum(), rounds)
    judged = draws @ kinds[:, 0]
    tail = (1 - level) / 2
    bounds = {}
    for column, label_set in enumerate(LABEL_SETS, start=1):
        accuracy = (draws @ kinds[:, column]) / judged
        low, high = np.quantile(accuracy, [tail, 1 - tail])
        bounds[label_set] = (float(low), float(high))
    return AccuracyInterval(
        rounds=rounds,
        seed=seed,
        level=level,
        unit="row" if table.battles is None else "battle",
        bounds=bounds,
    )


def _unit_kinds(
    table: LabelTable, unit: NDArray[np.intp]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct (judgements, correct 4-class, correct 3-class) rows over units, with counts."""
    n_units = int(unit.max()) + 1
    judged = np.bincount(unit, minlength=n_units)
    correct4 = np.bincount(unit[table.human == table.judge], minlength=n_units)
    same3 = THREE_CLASS_CODE[table.human] == THREE_CLASS_CODE[table.judge]
    correct3 = np.bincount(unit[same3], minlength=n_units)
    base = int(judged.max()) + 1  # every count is <= judged, so this packs them losslessly
    packed = (judged * base + correct4) * base + correct3
    counts = np.bincount(packed)
    kind = np.flatnonzero(counts)
    return np.stack([kind // base // base, kind // base % base, kind % base], axis=1), counts[kind]
