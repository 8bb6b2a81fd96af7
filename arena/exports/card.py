"""The dataset card (README.md), the sha256 manifest and the deterministic zip.

Everything here is a function of the rows and the filters, never of the clock, so an
export rebuilt from the same data and secret is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from arena.exports.schema import (
    EVENT_DATA_KEYS,
    FIELDS,
    OUTPUT_MAX_CHARS,
    PREVIEW_EVENT_DATA_KEYS,
    SCHEMA_ID,
)

CARD_NAME = "README.md"
MANIFEST_NAME = "manifest.json"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the zip format's epoch: no wall clock in the archive


class RowFacts(NamedTuple):
    """What the card counts of one row."""

    is_valid: bool
    is_anonymous: bool
    tstamp: float
    winner: str
    model_a: str
    model_b: str
    category: str
    language: str
    environment: str

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RowFacts:
        return cls._make(row[name] for name in cls._fields)


@dataclass
class DatasetStats:
    """Counts gathered while rows stream past (small: one counter per distinct value)."""

    rows: int = 0
    valid: int = 0
    anonymous: int = 0
    first_tstamp: float | None = None
    last_tstamp: float | None = None
    winners: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    environments: Counter[str] = field(default_factory=Counter)

    def add(self, row: RowFacts) -> None:
        self.rows += 1
        self.valid += bool(row.is_valid)
        self.anonymous += bool(row.is_anonymous)
        stamp = row.tstamp
        self.first_tstamp = stamp if self.first_tstamp is None else min(self.first_tstamp, stamp)
        self.last_tstamp = stamp if self.last_tstamp is None else max(self.last_tstamp, stamp)
        self.winners[row.winner] += 1
        self.models[row.model_a] += 1
        self.models[row.model_b] += 1
        self.categories[row.category or "(none)"] += 1
        self.languages[row.language or "(none)"] += 1
        self.environments[row.environment or "(none)"] += 1

    def date_range(self) -> tuple[str, str]:
        if self.first_tstamp is None or self.last_tstamp is None:
            return "", ""
        return _day(self.first_tstamp), _day(self.last_tstamp)


def _day(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).date().isoformat()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_card(
    directory: Path,
    *,
    data_file: str,
    fmt: str,
    stats: DatasetStats,
    filters: Mapping[str, Any],
    raters: int,
    licence: str,
    title: str,
) -> Path:
    path = directory / CARD_NAME
    path.write_text(
        render_card(
            data_file=data_file,
            fmt=fmt,
            stats=stats,
            filters=filters,
            raters=raters,
            licence=licence,
            title=title,
        ),
        encoding="utf-8",
        newline="\n",
    )
    return path


def write_manifest(
    directory: Path,
    *,
    files: list[str],
    fmt: str,
    stats: DatasetStats,
    filters: Mapping[str, Any],
    licence: str,
    hashed: Mapping[str, str],
) -> Path:
    """sha256 and size of every file in the export, sorted by name. `hashed`: the
    digests already known (the data file's, taken as it was written)."""
    manifest = {
        "schema": SCHEMA_ID,
        "format": fmt,
        "rows": stats.rows,
        "date_range": list(stats.date_range()),
        "filters": dict(filters),
        "license": licence,
        "files": [
            {
                "name": name,
                "bytes": (directory / name).stat().st_size,
                "sha256": hashed.get(name) or sha256_file(directory / name),
            }
            for name in sorted(files)
        ],
    }
    path = directory / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_zip(directory: Path, archive: Path) -> Path:
    """Every file of `directory` under a folder of the archive's name, fixed dates and modes."""
    folder = archive.stem
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(p for p in directory.iterdir() if p.is_file()):
            info = zipfile.ZipInfo(f"{folder}/{path.name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with path.open("rb") as source, zf.open(info, "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
    return archive


def render_card(
    *,
    data_file: str,
    fmt: str,
    stats: DatasetStats,
    filters: Mapping[str, Any],
    raters: int,
    licence: str,
    title: str,
) -> str:
    first, last = stats.date_range()
    lines = [
        "---",
        f"license: {licence.lower()}",
        "pretty_name: " + json.dumps(title),
        "configs:",
        "- config_name: default",
        f"  data_files: {data_file}",
        "---",
        "",
        f"# {title}",
        "",
        "Human preference votes between anonymous code-writing models. A rater asked for a "
        "program, two models answered side by side, each answer's code ran in a sandbox, "
        "and the rater voted. One row per vote.",
        "",
        "| | |",
        "|---|---|",
        f"| schema | `{SCHEMA_ID}` |",
        f"| file | `{data_file}` ({fmt}) |",
        f"| votes | {stats.rows:,} ({stats.valid:,} valid, {stats.anonymous:,} anonymous) |",
        f"| raters | {raters:,} |",
        f"| models | {len(stats.models)} |",
        f"| votes from | {first or '–'} to {last or '–'} (UTC) |",
        f"| license | {licence} |",
        f"| filters | `{json.dumps(dict(filters), sort_keys=True)}` |",
        "",
        "## Outcomes",
        "",
        *_counter_table("winner", stats.winners),
        "## Models (battles per model)",
        "",
        *_counter_table("model", stats.models),
        "## Categories",
        "",
        *_counter_table("category", stats.categories),
        "## Languages",
        "",
        *_counter_table("language", stats.languages),
        "## Environments",
        "",
        *_counter_table("environment", stats.environments),
        *_loading_section(data_file, fmt),
        *_schema_section(),
        *_privacy_section(),
    ]
    return "\n".join(lines) + "\n"


def _counter_table(label: str, counter: Counter[str]) -> list[str]:
    rows = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [f"| {label} | votes |", "|---|---:|", *(f"| {k} | {v:,} |" for k, v in rows), ""]


def _loading_section(data_file: str, fmt: str) -> list[str]:
    pandas = {
        "jsonl": f'pd.read_json("{data_file}", lines=True)',
        "parquet": f'pd.read_parquet("{data_file}")',
        "csv": f'pd.read_csv("{data_file}", keep_default_na=False)',
    }[fmt]
    builder = {"jsonl": "json", "parquet": "parquet", "csv": "csv"}[fmt]
    lines = [
        "## Loading",
        "",
        "```python",
        "import pandas as pd",
        f"votes = {pandas}",
        "",
        "from datasets import load_dataset",
        f'votes = load_dataset("{builder}", data_files="{data_file}", split="train")',
        "```",
        "",
    ]
    if fmt == "csv":
        lines += ["In CSV, list fields (conversations, executions, ...) are JSON strings.", ""]
    lines += [
        "Recompute the leaderboard (Bradley-Terry with bootstrap intervals, and Elo):",
        "",
        "```sh",
        f"python -m arena.ratings {data_file} --format json --bootstrap 100 --seed 42",
        "```",
        "",
        "Rows are ordered by vote time, then vote id; `tstamp` orders Elo. With the filters "
        "of a site leaderboard (valid, anonymous, finished battles) the result matches the "
        "site's snapshot.",
        "",
    ]
    return lines


def _schema_section() -> list[str]:
    lines = [f"## Schema `{SCHEMA_ID}`", "", "| field | type | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | `{kind}` | {doc} |" for name, kind, doc in FIELDS]
    return [*lines, ""]


def _privacy_section() -> list[str]:
    return [
        "## Privacy",
        "",
        "Raters consented to publishing their requests and votes. No IP address, e-mail "
        "address or user name is exported: raters appear only as `rater_id`, an HMAC-SHA256 "
        "of an internal id keyed with a secret drawn for this release, so ids do not link "
        "across releases. Reason texts are scrubbed of e-mail and IP addresses and staff "
        f"user names. Interaction event data keeps only: {', '.join(EVENT_DATA_KEYS)}. "
        "Preview telemetry (clicks, keys, scrolls, errors inside web previews) keeps only: "
        f"{', '.join(PREVIEW_EVENT_DATA_KEYS)}; a character typed into a field is only "
        "`char`. "
        f"Program output is capped at {OUTPUT_MAX_CHARS:,} characters per stream.",
        "",
    ]
