"""Streaming writers: batches of rows in, one data file out. Memory is bounded by a
batch (JSONL, CSV) or by a row group of ~16 MB of Arrow batches (Parquet).

A row arrives as its canonical JSON text (`dumps` of the row, fields in schema order):
that is the JSONL line itself, Arrow's C++ JSON reader turns a batch of them into a
record batch for Parquet, and CSV decodes them. On PostgreSQL the database writes that
text (`sql_rows.py`), so no format builds Python objects per value except CSV.

No Django here: the benchmark feeds synthetic rows through the very same path. Output
is deterministic: fixed column order, no clocks, compact JSON with a fixed key order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from arena.exports.schema import FIELD_NAMES, NESTED_FIELDS, arrow_schema

Row = Mapping[str, Any]


class RowWriter(Protocol):
    def write(self, lines: Sequence[str]) -> None: ...

    def close(self) -> str:
        """Finish the file; its sha256 (hex)."""
        ...


class DataFile(io.FileIO):
    """The data file, written once from start to end, hashed on the way and kept out of
    the page cache behind the writer.

    Hashing as it is written spares the manifest a second read of a file that reaches
    several GB. Dropping written pages (flushed, then `POSIX_FADV_DONTNEED`, every
    `DROP_BYTES`) keeps the kernel from filling its cache with pages nobody reads
    again: on the 2-core machines this runs on, writing 6.5 GB cost 15 s of kernel CPU
    that way and 2 s with the drop, and the full cache evicted the database's pages
    while the export was reading them."""

    DROP_BYTES = 64 * 2**20

    def __init__(self, path: Path) -> None:
        super().__init__(path, "wb")
        self._digest = hashlib.sha256()
        self._written = self._dropped = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        done = 0
        while done < len(view):  # a raw write may take part of the buffer
            done += super().write(view[done:]) or 0
        self._written += done
        if self._written - self._dropped >= self.DROP_BYTES:
            self._drop()
        return done

    def _drop(self) -> None:
        if hasattr(os, "posix_fadvise"):  # Linux; elsewhere the cache keeps the pages
            os.fdatasync(self.fileno())
            os.posix_fadvise(self.fileno(), 0, self._written, os.POSIX_FADV_DONTNEED)
        self._dropped = self._written

    def sha256(self) -> str:
        return self._digest.hexdigest()


# Characters str.splitlines() treats as line ends that JSON leaves raw: escaped, so that
# one row is one line for every reader, not only for those splitting on "\n".
_LINE_ENDS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(value: Any) -> str:
    """Canonical compact JSON (UTF-8 text kept readable; NaN refused)."""
    return escape_line_ends(
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    )


def escape_line_ends(text: str) -> str:
    if "\x85" in text or "\u2028" in text or "\u2029" in text:  # rare: skip translate's cost
        text = text.translate(_LINE_ENDS)
    return text


def row_line(row: Row) -> str:
    """A row (a mapping of every schema field) as its canonical JSON text."""
    return dumps({name: row[name] for name in FIELD_NAMES})


class JsonlWriter:
    def __init__(self, path: Path) -> None:
        self._file = DataFile(path)

    def write(self, lines: Sequence[str]) -> None:
        if lines:
            self._file.write("\n".join([*lines, ""]).encode())

    def close(self) -> str:
        self._file.close()
        return self._file.sha256()


class ParquetWriter:
    """zstd, the schema id in the key-value metadata, row groups of ~ROW_GROUP_BYTES.

    Batches become Arrow record batches at once (compact columnar memory, not Python
    dicts) and are written together as one row group: few large row groups read fast,
    and a size in bytes, not rows, keeps memory flat however long the conversations.
    """

    ROW_GROUP_BYTES = 16 * 2**20

    def __init__(self, path: Path) -> None:
        self._schema = arrow_schema()
        # Statistics (min/max) only for the flat columns: for conversations and code they
        # would copy long texts into the footer for every row group, and the footer stays
        # in memory until the file closes.
        flat = [name for name in FIELD_NAMES if name not in NESTED_FIELDS]
        self._file = DataFile(path)
        self._writer = pq.ParquetWriter(
            self._file, self._schema, compression="zstd", write_statistics=flat
        )
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = self._pending_bytes = 0

    def write(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        batch = self._batch(lines)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if self._pending_bytes >= self.ROW_GROUP_BYTES:
            self._flush()

    def _batch(self, lines: Sequence[str]) -> pa.RecordBatch:
        """One record batch from JSON lines, by Arrow's JSON reader (C++) with the schema
        given: a field of another type or a field not in the schema is an error."""
        data = ("\n".join(lines) + "\n").encode()
        table = pa_json.read_json(
            io.BytesIO(data),
            # One block for the whole batch, so that it comes back as one chunk.
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(
                explicit_schema=self._schema, unexpected_field_behavior="error"
            ),
        )
        if table.num_rows != len(lines):
            raise ValueError(f"{len(lines)} rows in, {table.num_rows} out of the JSON reader")
        table = table.select(list(FIELD_NAMES))
        if not table.schema.equals(self._schema):  # the reader gives the schema's types:
            table = table.cast(self._schema)  # a cast that changes nothing copies every value
        return table.combine_chunks().to_batches()[0]

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, schema=self._schema)
            self._writer.write_table(table, row_group_size=self._pending_rows)
            self._pending, self._pending_rows, self._pending_bytes = [], 0, 0

    def close(self) -> str:
        self._flush()
        self._writer.close()
        self._file.close()  # Arrow leaves a file it was given open
        return self._file.sha256()


class CsvWriter:
    """Flat columns; nested fields (conversations, executions, ...) as JSON strings."""

    def __init__(self, path: Path) -> None:
        self._data = DataFile(path)
        self._file = io.TextIOWrapper(io.BufferedWriter(self._data), encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(FIELD_NAMES)

    def write(self, lines: Sequence[str]) -> None:
        rows = map(json.loads, lines)
        self._csv.writerows([_csv_cell(name, row[name]) for name in FIELD_NAMES] for row in rows)

    def close(self) -> str:
        self._file.close()
        return self._data.sha256()


def _csv_cell(name: str, value: Any) -> Any:
    if name in NESTED_FIELDS:
        return dumps(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else value


WRITERS: dict[str, type[JsonlWriter] | type[ParquetWriter] | type[CsvWriter]] = {
    "jsonl": JsonlWriter,
    "parquet": ParquetWriter,
    "csv": CsvWriter,
}


def open_writer(fmt: str, path: Path) -> RowWriter:
    try:
        return WRITERS[fmt](path)
    except KeyError:
        raise ValueError(
            f"unknown format {fmt!r} (expected one of: {', '.join(WRITERS)})"
        ) from None
