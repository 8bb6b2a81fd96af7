"""Judgement rows as integer codes, from in-memory columns or a JSONL/Parquet file.

Pure numpy + pyarrow (no Django). Every column is dictionary-encoded by pyarrow,
so validation and encoding look at the few distinct values, never at each row in
Python; a row is searched for only to name it in an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from numpy.typing import NDArray

from arena.cli import is_parquet
from arena.judges.agreement.metrics import LABELS

DIMENSIONS = ("category", "language", "environment")
# A battle judged twice: "ab" shows the battle's model_a as A, "ba" swaps the sides.
ORDERS = ("ab", "ba")
COLUMNS = ("human", "judge", *DIMENSIONS, "battle_id", "order")


class AgreementInputError(ValueError):
    """Malformed judgement rows or file; `row` is the 0-based row index when known."""

    def __init__(self, detail: str, row: int | None = None) -> None:
        super().__init__(detail if row is None else f"row {row}: {detail}")
        self.detail = detail
        self.row = row


@dataclass(frozen=True, eq=False)
class Grouping:
    """Row codes into `names` (sorted); -1 marks a row with no value for the dimension."""

    names: tuple[str, ...]
    codes: NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class Battles:
    """Row codes into `ids` (the battle_id values); `order` codes into ORDERS, when given."""

    ids: tuple[Any, ...]
    codes: NDArray[np.intp]
    order: NDArray[np.intp] | None


@dataclass(frozen=True, eq=False)
class LabelTable:
    """N judgements: human and judge label codes into LABELS, with optional groupings.

    The judge label is always in the battle's own sides, whatever `order` it was
    shown in: a judge that preferred the left answer of a "ba" row said model_b.
    """

    human: NDArray[np.intp]
    judge: NDArray[np.intp]
    groupings: Mapping[str, Grouping]
    battles: Battles | None = None

    def __len__(self) -> int:
        return int(self.human.size)

    @classmethod
    def from_columns(
        cls,
        human: Sequence[Any],
        judge: Sequence[Any],
        **optional: Sequence[Any] | None,
    ) -> LabelTable:
        """Build from equal-length Python sequences; optional columns are named as in COLUMNS."""
        unknown = sorted(set(optional) - set(COLUMNS))
        if unknown:
            raise TypeError(f"unknown column(s): {', '.join(unknown)}")
        given = {"human": human, "judge": judge, **optional}
        return cls.from_arrow({name: _arrow(name, v) for name, v in given.items() if v is not None})

    @classmethod
    def from_arrow(cls, columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> LabelTable:
        """Build from pyarrow columns; `human` and `judge` are required."""
        for name in ("human", "judge"):
            if name not in columns:
                raise AgreementInputError(f"missing column {name!r}")
        _check_lengths(columns)
        human = _label_codes("human", columns["human"])
        groupings = {name: _grouping(name, columns[name]) for name in DIMENSIONS if name in columns}
        return cls(
            human=human,
            judge=_label_codes("judge", columns["judge"]),
            groupings=groupings,
            battles=_battles(columns, human),
        )


def read_labels(path: Path) -> LabelTable:
    """A JSONL or Parquet file (told apart by content) as a LabelTable; errors name the line."""
    try:
        parquet = is_parquet(path)
    except OSError as error:
        raise AgreementInputError(f"{path}: {error.strerror or error}") from None
    return _read_parquet(path) if parquet else _read_jsonl(path)


def _arrow(name: str, values: Sequence[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise AgreementInputError(f"column {name!r} mixes value types ({error})") from None


def _check_lengths(columns: Mapping[str, pa.Array | pa.ChunkedArray]) -> None:
    n = len(columns["human"])
    for name, column in columns.items():
        if len(column) != n:
            raise AgreementInputError(f"column {name!r} has {len(column)} rows, expected {n}")


def _dictionary(
    name: str, column: pa.Array | pa.ChunkedArray
) -> tuple[NDArray[np.intp], list[Any]]:
    """(row codes, distinct values); a null row gets code -1."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()  # also unifies the chunks' dictionaries
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    value_type = column.type.value_type
    id_type = name == "battle_id" and pa.types.is_integer(value_type)
    if not (pa.types.is_null(value_type) or _is_text(value_type) or id_type):
        kind = "strings or integers" if name == "battle_id" else "strings"
        raise AgreementInputError(f"column {name!r} must hold {kind}, not {value_type}")
    codes = column.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, column.dictionary.to_pylist()


def _is_text(value_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(value_type) or pa.types.is_large_string(value_type))


def _no_nulls(name: str, codes: NDArray[np.intp]) -> None:
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise AgreementInputError(f"missing {name!r}", int(missing[0]))


def _recode(
    name: str, codes: NDArray[np.intp], values: list[Any], allowed: tuple[str, ...]
) -> NDArray[np.intp]:
    """Row codes into `allowed` from row codes into `values`; names the first unknown value."""
    _no_nulls(name, codes)
    position = {value: code for code, value in enumerate(allowed)}
    mapping = np.array([position.get(value, -1) for value in values], dtype=np.intp)
    unknown = np.flatnonzero(mapping < 0)
    if unknown.size:
        row = int(np.flatnonzero(codes == unknown[0])[0])
        expected = ", ".join(allowed)
        raise AgreementInputError(
            f"unknown {name} {values[unknown[0]]!r} (expected one of: {expected})", row
        )
    return mapping[codes] if mapping.size else codes


def _label_codes(name: str, column: pa.Array | pa.ChunkedArray) -> NDArray[np.intp]:
    codes, values = _dictionary(name, column)
    return _recode(name, codes, values, LABELS)


def _grouping(name: str, column: pa.Array | pa.ChunkedArray) -> Grouping:
    codes, values = _dictionary(name, column)
    order = sorted(range(len(values)), key=values.__getitem__)
    to_sorted = np.empty(len(values) + 1, dtype=np.intp)
    to_sorted[np.array(order, dtype=np.intp)] = np.arange(len(values))
    to_sorted[-1] = -1  # code -1 (no value) indexes the last slot and stays -1
    return Grouping(tuple(values[i] for i in order), to_sorted[codes])


def _battles(
    columns: Mapping[str, pa.Array | pa.ChunkedArray], human: NDArray[np.intp]
) -> Battles | None:
    if "battle_id" not in columns:
        if "order" in columns:
            raise AgreementInputError("column 'order' needs a 'battle_id' column")
        return None
    codes, ids = _dictionary("battle_id", columns["battle_id"])
    _no_nulls("battle_id", codes)
    _reject_two_human_labels(codes, human, ids)
    order = None
    if "order" in columns:
        order = _recode("order", *_dictionary("order", columns["order"]), ORDERS)
        _reject_repeated_order(codes, order, ids)
    return Battles(tuple(ids), codes, order)


def _reject_two_human_labels(
    battle: NDArray[np.intp], human: NDArray[np.intp], ids: list[Any]
) -> None:
    """All rows of a battle judge the same human vote, so they must carry the same label."""
    seen = np.bincount(battle * len(LABELS) + human, minlength=len(ids) * len(LABELS)) > 0
    labels_per_battle = seen.reshape(len(ids), len(LABELS)).sum(axis=1)
    if labels_per_battle.size and labels_per_battle.max() > 1:
        bad = int(np.flatnonzero(labels_per_battle > 1)[0])
        row = int(np.flatnonzero(battle == bad)[-1])
        raise AgreementInputError(f"battle {ids[bad]!r} has two different human labels", row)


def _reject_repeated_order(
    battle: NDArray[np.intp], order: NDArray[np.intp], ids: list[Any]
) -> None:
    key = battle * len(ORDERS) + order
    repeats = np.bincount(key, minlength=1)[key] > 1
    if repeats.any():
        first = int(np.flatnonzero(repeats)[0])
        second = int(np.flatnonzero(key == key[first])[1])
        raise AgreementInputError(
            f"battle {ids[battle[second]]!r} judged twice in order {ORDERS[order[second]]!r}",
            second,
        )


# --- files -------------------------------------------------------------------------------


def _read_parquet(path: Path) -> LabelTable:
    try:
        schema = pq.read_schema(path)
        present = [name for name in COLUMNS if name in schema.names]
        text = [name for name in present if _is_text(schema.field(name).type)]
        table = pq.read_table(path, columns=present, read_dictionary=text)
    except (OSError, pa.ArrowException) as error:
        raise AgreementInputError(f"{path}: not a readable Parquet file ({error})") from None
    try:
        return LabelTable.from_arrow({name: table.column(name) for name in present})
    except AgreementInputError as error:
        raise AgreementInputError(f"{path}: {error}") from None


def _read_jsonl(path: Path) -> LabelTable:
    schema = _jsonl_schema(path)
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(path, parse_options=options)
    except pa.ArrowInvalid as error:
        raise AgreementInputError(_jsonl_problem(path, schema) or f"{path}: {error}") from None
    try:
        return LabelTable.from_arrow({name: table.column(name) for name in _present(table)})
    except AgreementInputError as error:
        if error.row is None:
            raise AgreementInputError(f"{path}: {error}") from None
        line = _line_of_row(path, error.row)
        raise AgreementInputError(f"{path}:{line}: {error.detail}") from None


def _present(table: pa.Table) -> list[str]:
    """Columns of a JSONL read that some row has (absent keys read as all-null columns)."""
    return [name for name in table.schema.names if table.column(name).null_count < len(table)]


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-blank lines; the error paths' slow, exact reader."""
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except UnicodeDecodeError:
        raise AgreementInputError(f"{path}: neither Parquet nor UTF-8 JSONL") from None


def _jsonl_schema(path: Path) -> pa.Schema:
    """All columns as strings, but battle_id an integer if the first row has an integer."""
    battle_id_type = pa.string()
    for _, line in _jsonl_lines(path):
        try:
            first = json.loads(line)
        except json.JSONDecodeError:
            break  # the reader reports it with its line number
        if isinstance(first, dict) and isinstance(first.get("battle_id"), int):
            battle_id_type = pa.int64()
        break
    else:
        raise AgreementInputError(f"{path}: no judgement rows (empty file)")
    return pa.schema(
        [(name, battle_id_type if name == "battle_id" else pa.string()) for name in COLUMNS]
    )


def _jsonl_problem(path: Path, schema: pa.Schema) -> str | None:
    """The first line pyarrow could not read, said the way a person would."""
    expected = {"string": (str,), "int64": (int,)}
    for number, line in _jsonl_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            return f"{path}:{number}: invalid JSON ({error.msg})"
        if not isinstance(row, dict):
            return f"{path}:{number}: expected a JSON object"
        for field in schema:
            value = row.get(field.name)
            types = expected[str(field.type)]
            if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
                kind = "an integer" if field.type == pa.int64() else "a string"
                return f"{path}:{number}: {field.name!r} must be {kind}, got {value!r}"
    return None


def _line_of_row(path: Path, row: int) -> int:
    for index, (number, _) in enumerate(_jsonl_lines(path)):
        if index == row:
            return number
    return row + 1
