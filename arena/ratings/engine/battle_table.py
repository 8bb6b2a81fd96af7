"""Battles as columns of numpy arrays, the input of every rating function.

Pure Python + numpy: no Django here, so the CLI and the benchmark run without a
database. The site builds a table from database rows with `BattleTable.from_rows`;
every entry point accepts either (`Battles`) and converts once with `as_table`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray

from arena.vocabulary import Winner

# Outcome codes. both_bad is kept distinct from tie in the data (counts, exports),
# but both score y = 0.5 in every rating formula, as in FastChat and arena-rank.
A_WINS, B_WINS, TIE, BOTH_BAD = 0, 1, 2, 3
OUTCOME_NAMES = (Winner.MODEL_A, Winner.MODEL_B, Winner.TIE, Winner.BOTH_BAD)  # by code
SCORE_OF_OUTCOME: NDArray[np.float64] = np.array([1.0, 0.0, 0.5, 0.5])
# Swapping the sides of a battle maps A_WINS <-> B_WINS and keeps ties.
SWAPPED_OUTCOME: NDArray[np.int8] = np.array([B_WINS, A_WINS, TIE, BOTH_BAD], dtype=np.int8)

WINNER_CODES: dict[str, int] = {
    **{name: code for code, name in enumerate(OUTCOME_NAMES)},
    "tie (bothbad)": BOTH_BAD,  # Chatbot Arena's spelling of both_bad in its datasets
}

# Per-side style columns a file or a row may carry: `<name>_a` and `<name>_b`.
STYLE_FEATURES = (
    "tokens",
    "chars",
    "code_lines",
    "comment_share",
    "header_count",
    "list_count",
    "bold_count",
    "exec_ok",
)


class BattleDataError(ValueError):
    """Input battles are malformed. `row` is the 0-based row index when known."""

    def __init__(self, detail: str, row: int | None = None) -> None:
        super().__init__(detail if row is None else f"row {row}: {detail}")
        self.detail = detail
        self.row = row


@dataclass(frozen=True, eq=False)
class BattleTable:
    """N battles between `models` (sorted names); model_a/model_b index `models`.

    `style_a`/`style_b` are N x F arrays of the per-side features named in
    `style_features` (empty tuple when the input had none).
    """

    models: tuple[str, ...]
    model_a: NDArray[np.intp]
    model_b: NDArray[np.intp]
    outcome: NDArray[np.int8]
    tstamp: NDArray[np.float64] | None = None
    sampling_prob: NDArray[np.float64] | None = None
    style_features: tuple[str, ...] = ()
    style_a: NDArray[np.float64] | None = None
    style_b: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.outcome.shape[0])

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> BattleTable:
        """Build a table from dict-like rows (database values, JSONL lines)."""
        rows = list(rows)
        columns = {name: _required_column(rows, name) for name in ("model_a", "model_b", "winner")}
        optional = ["tstamp", "sampling_prob"]
        optional += [f"{feature}_{side}" for feature in STYLE_FEATURES for side in "ab"]
        keys = set(chain.from_iterable(rows))  # iterating a mapping yields its keys
        for name in (name for name in optional if name in keys):
            present = [name in row and row[name] is not None for row in rows]
            if any(present):
                if not all(present):
                    missing = present.index(False)
                    raise BattleDataError(f"missing {name!r} (other rows have it)", missing)
                columns[name] = [row[name] for row in rows]
        return cls.from_columns(**columns)

    @classmethod
    def from_columns(
        cls,
        model_a: Sequence[Any],
        model_b: Sequence[Any],
        winner: Sequence[Any],
        tstamp: Sequence[Any] | None = None,
        sampling_prob: Sequence[Any] | None = None,
        **style_columns: Sequence[Any],
    ) -> BattleTable:
        """Build a table from equal-length columns; style columns are `<feature>_a/_b`."""
        n = len(winner)
        for name, column in (("model_a", model_a), ("model_b", model_b)):
            if len(column) != n:
                raise BattleDataError(f"column {name!r} has {len(column)} rows, expected {n}")
        models, index_a, index_b = _factorize_models(model_a, model_b)
        return cls(
            models=models,
            model_a=index_a,
            model_b=index_b,
            outcome=_outcome_codes(winner),
            tstamp=None if tstamp is None else _timestamps(tstamp),
            sampling_prob=None if sampling_prob is None else _probabilities(sampling_prob),
            **_style_arrays(style_columns, n),
        )

    def chronological_order(self) -> NDArray[np.intp]:
        """Battle indices by tstamp (stable, so equal stamps keep file order)."""
        if self.tstamp is None:
            return np.arange(len(self), dtype=np.intp)
        return np.argsort(self.tstamp, kind="stable").astype(np.intp)

    def inverse_probability_weights(self) -> NDArray[np.float64]:
        """Weights 1/p normalised to mean 1: a battle of a rarely sampled pair counts more,
        so the fit estimates the ratings as if every pair had been sampled alike."""
        if self.sampling_prob is None:
            raise BattleDataError("weighting needs a 'sampling_prob' column")
        weights = 1.0 / self.sampling_prob
        return np.asarray(weights / weights.mean(), dtype=np.float64)

    def anchor_index(self, anchor: tuple[str, float] | None) -> tuple[int, float] | None:
        """(model index, rating) of an anchor given by name; ValueError if it cannot anchor."""
        if anchor is None:
            return None
        name, rating = anchor
        if name not in self.models:
            raise ValueError(f"anchor model {name!r} has no battles")
        if not math.isfinite(rating):
            raise ValueError(f"anchor rating {rating!r} is not finite")
        return self.models.index(name), float(rating)


Battles = BattleTable | Iterable[Mapping[str, Any]]


def as_table(battles: Battles) -> BattleTable:
    """The battles as a table (dict rows are converted; a table is used as it is)."""
    return battles if isinstance(battles, BattleTable) else BattleTable.from_rows(battles)


def _required_column(rows: list[Mapping[str, Any]], name: str) -> list[Any]:
    try:
        return [row[name] for row in rows]  # fast path; find the culprit only on error
    except (KeyError, TypeError):
        return [_required(row, name, index) for index, row in enumerate(rows)]


def _required(row: Mapping[str, Any], name: str, index: int) -> Any:
    try:
        return row[name]
    except KeyError:
        raise BattleDataError(f"missing {name!r}", index) from None
    except TypeError:
        raise BattleDataError("not an object", index) from None


def _factorize_models(
    model_a: Sequence[Any], model_b: Sequence[Any]
) -> tuple[tuple[str, ...], NDArray[np.intp], NDArray[np.intp]]:
    """Map names to indices of the sorted name list (sorted => row-order invariant)."""
    first_seen: dict[str, int] = {}
    codes_a = [first_seen.setdefault(name, len(first_seen)) for name in model_a]
    codes_b = [first_seen.setdefault(name, len(first_seen)) for name in model_b]
    for name in first_seen:
        if not isinstance(name, str) or not name:
            row = _first_row_with(name, model_a, model_b)
            raise BattleDataError(f"model name {name!r} is not a non-empty string", row)
    models = tuple(sorted(first_seen))
    to_sorted = np.empty(len(models), dtype=np.intp)
    for position, name in enumerate(models):
        to_sorted[first_seen[name]] = position
    index_a = to_sorted[np.asarray(codes_a, dtype=np.intp)] if codes_a else _empty_index()
    index_b = to_sorted[np.asarray(codes_b, dtype=np.intp)] if codes_b else _empty_index()
    same = np.flatnonzero(index_a == index_b)
    if same.size:
        row = int(same[0])
        raise BattleDataError(f"a model cannot battle itself ({model_a[row]!r})", row)
    return models, index_a, index_b


def _empty_index() -> NDArray[np.intp]:
    return np.zeros(0, dtype=np.intp)


def _first_row_with(name: Any, model_a: Sequence[Any], model_b: Sequence[Any]) -> int:
    for row, (a, b) in enumerate(zip(model_a, model_b, strict=True)):
        if name in (a, b):
            return row
    return -1


def _outcome_codes(winner: Sequence[Any]) -> NDArray[np.int8]:
    try:
        codes = [WINNER_CODES[value] for value in winner]
    except (KeyError, TypeError):
        row = next(i for i, value in enumerate(winner) if _unknown_winner(value))
        known = ", ".join(WINNER_CODES)
        raise BattleDataError(
            f"unknown winner {winner[row]!r} (expected one of: {known})", row
        ) from None
    return np.asarray(codes, dtype=np.int8)


def _unknown_winner(value: Any) -> bool:
    return not isinstance(value, str) or value not in WINNER_CODES


def _timestamps(values: Sequence[Any]) -> NDArray[np.float64]:
    try:  # fast path: all plain numbers
        stamps = np.asarray(values, dtype=np.float64)
        if stamps.ndim == 1 and np.isfinite(stamps).all():
            return stamps
    except (TypeError, ValueError):
        pass
    stamps = np.empty(len(values), dtype=np.float64)
    for row, value in enumerate(values):
        stamps[row] = _timestamp(value, row)
    return stamps


def _timestamp(value: Any, row: int) -> float:
    """Unix seconds from a number, a datetime or an ISO 8601 string."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    elif (
        isinstance(value, int | float | np.number)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    ):
        return float(value)
    raise BattleDataError(f"bad tstamp {value!r}", row)


def _probabilities(values: Sequence[Any]) -> NDArray[np.float64]:
    probs = _float_column(values, "sampling_prob")
    bad = np.flatnonzero(~((probs > 0.0) & (probs <= 1.0)))
    if bad.size:
        row = int(bad[0])
        raise BattleDataError(f"sampling_prob {values[row]!r} not in (0, 1]", row)
    return probs


def _float_column(values: Sequence[Any], name: str) -> NDArray[np.float64]:
    try:
        column = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        column = np.full(len(values), np.nan)
        for row, value in enumerate(values):
            try:
                column[row] = float(value)
            except (TypeError, ValueError):
                raise BattleDataError(f"{name} {value!r} is not a number", row) from None
    bad = np.flatnonzero(~np.isfinite(column))
    if bad.size:
        row = int(bad[0])
        raise BattleDataError(f"{name} {values[row]!r} is not finite", row)
    return column


def _style_arrays(columns: Mapping[str, Sequence[Any]], n: int) -> dict[str, Any]:
    """Pair up `<feature>_a`/`<feature>_b` columns into N x F arrays."""
    unknown = sorted(set(columns) - {f"{f}_{s}" for f in STYLE_FEATURES for s in "ab"})
    if unknown:
        raise BattleDataError(f"unknown columns: {', '.join(unknown)}")
    names = tuple(f for f in STYLE_FEATURES if f"{f}_a" in columns or f"{f}_b" in columns)
    for feature in names:
        for side in "ab":
            if f"{feature}_{side}" not in columns:
                raise BattleDataError(f"style column {feature}_{side} is missing")
    if not names:
        return {}
    side_arrays = {
        side: np.column_stack(
            [_float_column(columns[f"{f}_{side}"], f"{f}_{side}") for f in names]
        ).reshape(n, len(names))
        for side in "ab"
    }
    return {"style_features": names, "style_a": side_arrays["a"], "style_b": side_arrays["b"]}
