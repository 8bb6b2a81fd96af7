"""`python -m arena.judges.agreement` on JSONL and Parquet files, good and bad."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arena.judges.agreement import LABELS, LabelTable, agreement_report
from arena.judges.agreement.__main__ import main
from tests.cli import run_module

REPO = Path(__file__).resolve().parents[2]
METRIC_KEYS = ["n", "accuracy", "macro_f1", "kappa", "mcc"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("arena.judges.agreement", *args)


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and stderr of main(); for the many error cases (subprocesses are slow)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def judgement_rows(n_battles: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for battle in range(n_battles):
        human = str(rng.choice(LABELS))
        for order in ("ab", "ba"):
            rows.append(
                {
                    "battle_id": battle,
                    "order": order,
                    "human": human,
                    "judge": human if rng.random() < 0.6 else str(rng.choice(LABELS[:3])),
                    "category": str(rng.choice(["web", "game"])),
                    "language": str(rng.choice(["python", "javascript"])),
                    "environment": str(rng.choice(["react", "pygame", "runner"])),
                    "prompt": "ignored extra field",
                }
            )
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def expected_report(rows: list[dict[str, Any]], bootstrap: int, seed: int) -> dict[str, Any]:
    columns = {name: [row[name] for row in rows] for name in rows[0] if name != "prompt"}
    table = LabelTable.from_columns(**columns)
    return agreement_report(table, bootstrap=bootstrap, seed=seed).to_dict()


@pytest.mark.parametrize("writer", [write_jsonl, write_parquet])
def test_the_cli_prints_the_documented_json_for_both_file_formats(
    tmp_path: Path, writer: Any
) -> None:
    rows = judgement_rows(150, seed=3)
    path = writer(tmp_path / "judgements", rows)
    result = run_cli(str(path), "--bootstrap", "300", "--seed", "9")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report)[:4] == ["overall", "by_category", "by_language", "by_environment"]
    assert list(report["overall"]) == ["4class", "3class"]
    assert list(report["overall"]["4class"]) == METRIC_KEYS
    assert sorted(report["by_environment"]) == ["pygame", "react", "runner"]
    assert report["overall"]["4class"]["n"] == 300
    assert report["position_consistency"]["battles"] == 150
    assert report["accuracy_interval"]["rounds"] == 300
    assert report == expected_report(rows, bootstrap=300, seed=9)


def test_jsonl_and_parquet_of_the_same_rows_give_the_same_report(tmp_path: Path) -> None:
    rows = judgement_rows(40, seed=4)
    for row in rows:  # string battle ids this time
        row["battle_id"] = f"battle-{row['battle_id']}"
    jsonl = run_cli(str(write_jsonl(tmp_path / "a.jsonl", rows)))
    parquet = run_cli(str(write_parquet(tmp_path / "a.parquet", rows)))
    assert jsonl.returncode == parquet.returncode == 0
    assert json.loads(jsonl.stdout) == json.loads(parquet.stdout)


def test_the_table_format_shows_metrics_groups_and_the_confusion_matrix(tmp_path: Path) -> None:
    rows = [
        {"human": "model_a", "judge": "model_a", "category": "web"},
        {"human": "tie", "judge": "both_bad", "category": "web"},
        {"human": "tie", "judge": "tie", "category": "game"},
    ]
    result = run_cli(str(write_jsonl(tmp_path / "t.jsonl", rows)), "--format", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    overall = next(line for line in lines if line.startswith("overall"))
    assert overall.split()[1:4] == ["3", "0.667", "0.556"]  # n, 4c accuracy, 4c macro-F1
    assert any(line.split()[:3] == ["category", "game", "1"] for line in lines)
    assert any(line.split() == ["tie", "0", "0", "1", "1"] for line in lines)
    assert not any("position consistency" in line for line in lines)


def test_minimal_rows_give_empty_breakdowns_and_no_consistency(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [{"human": "tie", "judge": "tie"}] * 3)
    report = json.loads(run_cli(str(path)).stdout)
    assert report["by_category"] == report["by_language"] == report["by_environment"] == {}
    assert report["position_consistency"] is None
    assert report["overall"]["4class"] == {
        "n": 3,
        "accuracy": 1.0,
        "macro_f1": 1.0,
        "kappa": None,
        "mcc": None,
    }


def test_an_unknown_label_fails_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"human": "tie", "judge": "tie"}, {"human": "tie", "judge": "[[A>>B]]"}],
    )
    result = run_cli(str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"arena.judges.agreement: error: {path}:2: unknown judge '[[A>>B]]' "
        "(expected one of: model_a, model_b, tie, both_bad)\n"
    )


BAD_JSONL = {
    "invalid JSON": ('{"human": "tie", "judge": "tie"}\n{"human": \n', ":2: invalid JSON"),
    "not an object": ('{"human": "tie", "judge": "tie"}\n[1, 2]\n', ":2: expected a JSON object"),
    "a number label": ('{"human": 1, "judge": "tie"}\n', ":1: 'human' must be a string, got 1"),
    "a missing label": (
        '{"human": "tie", "judge": "tie"}\n\n{"human": "tie"}\n',
        ":3: missing 'judge'",
    ),
    "no human column": ('{"judge": "tie"}\n', "missing column 'human'"),
    "an empty file": ("\n\n", "no judgement rows"),
    "a battle id type change": (
        '{"human": "tie", "judge": "tie", "battle_id": 1}\n'
        '{"human": "tie", "judge": "tie", "battle_id": "x"}\n',
        ":2: 'battle_id' must be an integer, got 'x'",
    ),
}


@pytest.mark.parametrize("case", BAD_JSONL)
def test_bad_jsonl_is_named_by_line_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    content, message = BAD_JSONL[case]
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    code, err = run_in_process(capsys, str(path))
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"arena.judges.agreement: error: {path}")
    assert message in err


def test_a_parquet_file_without_the_judge_column_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_parquet(tmp_path / "p.parquet", [{"human": "tie", "category": "web"}])
    code, err = run_in_process(capsys, str(path))
    assert (code, err) == (2, f"arena.judges.agreement: error: {path}: missing column 'judge'\n")


def test_a_parquet_label_column_of_numbers_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_parquet(tmp_path / "p.parquet", [{"human": "tie", "judge": 3}])
    code, err = run_in_process(capsys, str(path))
    assert code == 2
    assert (
        err
        == f"arena.judges.agreement: error: {path}: column 'judge' must hold strings, not int64\n"
    )


def test_a_truncated_parquet_file_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_parquet(tmp_path / "p.parquet", judgement_rows(5, seed=1))
    path.write_bytes(path.read_bytes()[:200])
    code, err = run_in_process(capsys, str(path))
    assert code == 2
    assert "not a readable Parquet file" in err and err.count("\n") == 1


def test_a_binary_file_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.bin"
    path.write_bytes(b"\xff\xfe\x00garbage\x80\n")
    code, err = run_in_process(capsys, str(path))
    expected = f"arena.judges.agreement: error: {path}: neither Parquet nor UTF-8 JSONL\n"
    assert (code, err) == (2, expected)


def test_a_missing_file_and_a_directory_are_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (tmp_path / "nope.jsonl", tmp_path):
        code, err = run_in_process(capsys, str(path))
        assert code == 2
        assert err.startswith(f"arena.judges.agreement: error: {path}: ")
        assert err.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [["--bootstrap", "-1"], ["--bootstrap", "many"], ["--format", "csv"], []],
)
def test_bad_arguments_fail_with_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    path = write_jsonl(tmp_path / "ok.jsonl", [{"human": "tie", "judge": "tie"}])
    code, err = run_in_process(capsys, *([str(path)] if args else []), *args)
    assert code == 2
    assert err.startswith("python -m arena.judges.agreement: error: ")
    assert err.count("\n") == 1
