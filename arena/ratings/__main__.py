"""`python -m arena.ratings FILE`: a leaderboard from a JSONL or Parquet battle file.

Works without Django or a database. Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.cli import OneLineErrorParser, is_parquet
from arena.ratings.engine import (
    STYLE_FEATURES,
    BattleDataError,
    BattleTable,
    Leaderboard,
    ModelRating,
    StyleControlResult,
    compute_leaderboard,
    style_control,
)

CLI_FIELDS = ("model", "bt", "bt_ci_low", "bt_ci_high", "elo", "battles", "rank_ub")
_COLUMNS = ("model_a", "model_b", "winner", "tstamp", "sampling_prob") + tuple(
    f"{feature}_{side}" for feature in STYLE_FEATURES for side in "ab"
)


class InputError(Exception):
    """A problem with the user's input, reported as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        anchor = _parse_anchor(args.anchor)
        table = read_battles(Path(args.file))
        if args.style_control:
            result: Leaderboard | StyleControlResult = style_control(
                table,
                interval=args.interval or "sandwich",
                bootstrap=args.bootstrap,
                seed=args.seed,
                anchor=anchor,
                weighted=args.weighted,
            )
        else:
            result = compute_leaderboard(
                table,
                bootstrap=args.bootstrap,
                seed=args.seed,
                anchor=anchor,
                weighted=args.weighted,
                interval=args.interval or "bootstrap",
            )
    except (InputError, ValueError) as error:
        print(f"arena.ratings: error: {error}", file=sys.stderr)
        return 2
    print(render_json(result) if args.format == "json" else render_table(result))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m arena.ratings", description=__doc__)
    parser.add_argument("file", help="battles as JSONL or Parquet")
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.add_argument("--bootstrap", type=int, default=100, metavar="N")
    parser.add_argument("--seed", type=int, default=42, metavar="S")
    parser.add_argument("--anchor", metavar="MODEL=RATING")
    parser.add_argument("--interval", choices=("bootstrap", "sandwich"))
    parser.add_argument("--weighted", action="store_true", help="weight battles by 1/sampling_prob")
    parser.add_argument(
        "--style-control", action="store_true", help="ratings controlled for style columns"
    )
    return parser


def _parse_anchor(value: str | None) -> tuple[str, float] | None:
    if value is None:
        return None
    model, separator, rating = value.rpartition("=")
    try:
        if not separator or not model:
            raise ValueError
        return model, float(rating)
    except ValueError:
        raise InputError(f"--anchor must look like MODEL=RATING, got {value!r}") from None


def read_battles(path: Path) -> BattleTable:
    """Read a JSONL or Parquet file (detected by content) into a BattleTable."""
    try:
        parquet = is_parquet(path)
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    return _read_parquet(path) if parquet else _read_jsonl(path)


def _read_parquet(path: Path) -> BattleTable:
    # Imported here: pyarrow is large and slow to load, and only Parquet input needs it.
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise InputError(f"{path}: not a readable Parquet file ({error})") from None
    missing = [name for name in ("model_a", "model_b", "winner") if name not in table.schema.names]
    if missing:
        raise InputError(f"{path}: missing column(s): {', '.join(missing)}")
    columns = {
        name: table.column(name).to_pylist() for name in _COLUMNS if name in table.schema.names
    }
    try:
        return BattleTable.from_columns(**columns)
    except BattleDataError as error:
        raise InputError(f"{path}: {error}") from None


def _read_jsonl(path: Path) -> BattleTable:
    rows: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise InputError(f"{path}:{number}: invalid JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{number}: expected a JSON object")
                rows.append(row)
                line_numbers.append(number)
    except UnicodeDecodeError:
        raise InputError(f"{path}: neither Parquet nor UTF-8 JSONL") from None
    try:
        return BattleTable.from_rows(rows)
    except BattleDataError as error:
        if error.row is None:
            raise InputError(f"{path}: {error}") from None
        raise InputError(f"{path}:{line_numbers[error.row]}: {error.detail}") from None


def render_json(result: Leaderboard | StyleControlResult) -> str:
    if isinstance(result, Leaderboard):
        rows = [{field: getattr(m, field) for field in CLI_FIELDS} for m in result.models]
        return json.dumps({"models": rows}, indent=2, allow_nan=False)
    payload = result.to_dict()
    return json.dumps(
        {"models": payload["models"], "coefficients": payload["coefficients"]},
        indent=2,
        allow_nan=False,
    )


def render_table(result: Leaderboard | StyleControlResult) -> str:
    lines = [f"{'rank':>4}  {'model':<32} {'rating':>8} {'95% CI':>13} {'elo':>7} {'battles':>8}"]
    for m in result.models:
        ci = f"+{m.bt_ci_high - m.bt:.0f}/-{m.bt - m.bt_ci_low:.0f}"
        elo = f"{m.elo:7.0f}" if isinstance(m, ModelRating) else f"{'-':>7}"
        lines.append(f"{m.rank_ub:>4}  {m.model:<32} {m.bt:8.1f} {ci:>13} {elo} {m.battles:>8}")
    if isinstance(result, StyleControlResult):
        lines.append("")
        lines.append(f"{'style feature':<16} {'log-odds/sd':>12} {'95% CI':>19} {'points':>8}")
        for c in result.coefficients:
            ci = f"[{c.ci_low:.3f}, {c.ci_high:.3f}]"
            lines.append(f"{c.feature:<16} {c.coefficient:12.4f} {ci:>19} {c.rating_points:8.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
