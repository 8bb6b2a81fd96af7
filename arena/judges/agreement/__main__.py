"""`python -m arena.judges.agreement FILE`: how well a judge agrees with human raters.

FILE is JSONL or Parquet with `human` and `judge` labels (model_a, model_b, tie,
both_bad), optional `category`, `language`, `environment`, and optional
`battle_id` + `order` (ab|ba) for position consistency. Works without Django or
a database. Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from arena.cli import OneLineErrorParser
from arena.judges.agreement.labels import DIMENSIONS, AgreementInputError, read_labels
from arena.judges.agreement.metrics import LABEL_SETS, Confusion
from arena.judges.agreement.report import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    AgreementReport,
    agreement_report,
)

_METRICS = ("accuracy", "macro_f1", "kappa", "mcc")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        report = agreement_report(
            read_labels(Path(args.file)), bootstrap=args.bootstrap, seed=args.seed
        )
    except AgreementInputError as error:
        print(f"arena.judges.agreement: error: {error}", file=sys.stderr)
        return 2
    text = render_json(report) if args.format == "json" else render_table(report)
    print(text)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m arena.judges.agreement", description=__doc__)
    parser.add_argument("file", help="judgements as JSONL or Parquet")
    parser.add_argument("--format", choices=("json", "table"), default="json")
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=DEFAULT_BOOTSTRAP,
        metavar="N",
        help=f"resamples for the 95%% accuracy interval; 0 = none (default {DEFAULT_BOOTSTRAP})",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S")
    return parser


def non_negative_int(value: str) -> int:
    rounds = int(value)
    if rounds < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {rounds}")
    return rounds


def render_json(report: AgreementReport) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def render_table(report: AgreementReport) -> str:
    lines = [_header()]
    lines.append(_row("overall", "", report.overall))
    for dimension in DIMENSIONS:
        for name, confusion in report.breakdowns.get(dimension, {}).items():
            lines.append(_row(dimension, name, confusion))
    lines += ["", "confusion (rows human, columns judge), 4-class:"]
    lines += _matrix_lines(report.overall)
    if report.position_consistency is not None:
        pc = report.position_consistency
        shares = ", ".join(f"{s} {_number(pc.share(s))}" for s in LABEL_SETS)
        lines.append(
            f"\nposition consistency over {pc.battles} battles judged in both orders "
            f"({pc.single_order} in one order only): {shares}"
        )
    if report.accuracy_interval is not None:
        ai = report.accuracy_interval
        bounds = ", ".join(f"{s} [{lo:.3f}, {hi:.3f}]" for s, (lo, hi) in ai.bounds.items())
        lines.append(
            f"\naccuracy {ai.level:.0%} interval ({ai.rounds} resamples of {ai.unit}s, "
            f"seed {ai.seed}): {bounds}"
        )
    return "\n".join(lines)


def _header() -> str:
    metrics = " ".join(f"{f'{s[0]}c {m}':>12}" for s in LABEL_SETS for m in _METRICS)
    return f"{'scope':<12} {'group':<24} {'n':>9} {metrics}"


def _row(scope: str, group: str, confusion: Confusion) -> str:
    cells = []
    for label_set_confusion in confusion.label_sets().values():
        metrics = label_set_confusion.metrics()
        cells += [f"{_number(getattr(metrics, m)):>12}" for m in _METRICS]
    return f"{scope:<12} {group[:24]:<24} {confusion.n:>9} {' '.join(cells)}"


def _matrix_lines(confusion: Confusion) -> list[str]:
    width = max(9, len(str(confusion.matrix.max(initial=0))) + 1)
    lines = [f"{'':<10}" + "".join(f"{label:>{width}}" for label in confusion.labels)]
    for label, row in zip(confusion.labels, confusion.matrix, strict=True):
        lines.append(f"{label:<10}" + "".join(f"{int(count):>{width}}" for count in row))
    return lines


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
