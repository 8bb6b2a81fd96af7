from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arena.ratings.__main__ import main
from arena.ratings.engine.synthetic import spread_ratings, synthetic_battles, table_rows
from tests.cli import run_module

REPO = Path(__file__).resolve().parents[2]
FIELDS = ["model", "bt", "bt_ci_low", "bt_ci_high", "elo", "battles", "rank_ub"]


def run_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and stderr of main(); for the many error cases (subprocesses are slow)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().err


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_module("arena.ratings", *args)


@pytest.fixture
def rows() -> list[dict[str, object]]:
    return table_rows(synthetic_battles(spread_ratings(5), 3000, seed=1))


@pytest.fixture
def jsonl_file(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_the_cli_prints_a_json_leaderboard_from_jsonl(jsonl_file: Path) -> None:
    result = run_cli(str(jsonl_file), "--format", "json", "--bootstrap", "20", "--seed", "1")
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)["models"]
    assert [list(m) for m in models] == [FIELDS] * 5
    assert [m["model"] for m in models] == ["m04", "m03", "m02", "m01", "m00"]
    assert [(m["rank_ub"], -m["bt"]) for m in models] == sorted(
        (m["rank_ub"], -m["bt"]) for m in models
    )


def test_the_cli_reads_parquet_with_the_same_result(
    tmp_path: Path, jsonl_file: Path, rows: list[dict[str, object]]
) -> None:
    parquet_file = tmp_path / "battles.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet_file)
    from_parquet = run_cli(str(parquet_file), "--bootstrap", "10", "--anchor", "m00=800")
    from_jsonl = run_cli(str(jsonl_file), "--bootstrap", "10", "--anchor", "m00=800")
    assert from_parquet.returncode == 0, from_parquet.stderr
    assert from_parquet.stdout == from_jsonl.stdout
    anchored = next(m for m in json.loads(from_parquet.stdout)["models"] if m["model"] == "m00")
    assert anchored["bt"] == 800.0


def test_the_cli_prints_a_table_for_people(jsonl_file: Path) -> None:
    result = run_cli(str(jsonl_file), "--format", "table", "--interval", "sandwich")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:3] == ["rank", "model", "rating"]
    assert "m04" in result.stdout.splitlines()[1]


def test_the_cli_weights_and_style_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "styled.jsonl"
    lines = [
        {
            "model_a": a,
            "model_b": b,
            "winner": w,
            "sampling_prob": p,
            "tokens_a": ta,
            "tokens_b": tb,
        }
        for a, b, w, p, ta, tb in [
            ("x", "y", "model_a", 0.5, 900, 100),
            ("y", "x", "model_a", 0.5, 700, 100),
            ("x", "z", "tie", 0.25, 300, 310),
            ("z", "y", "model_b", 0.25, 200, 600),
            ("z", "x", "model_a", 0.25, 400, 300),
        ]
        * 4
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines))
    assert main([str(path), "--weighted", "--bootstrap", "10"]) == 0
    assert main([str(path), "--style-control", "--format", "table"]) == 0
    capsys.readouterr()
    assert main([str(path), "--style-control"]) == 0
    assert json.loads(capsys.readouterr().out)["coefficients"][0]["feature"] == "tokens"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"model_a": "x", "model_b": "y", "winner": "model_a"}\n{oops\n', ":2: invalid JSON"),
        ('{"model_a": "x", "model_b": "y", "winner": "left"}\n', ":1: unknown winner 'left'"),
        ('{"model_a": "x", "winner": "tie"}\n', ":1: missing 'model_b'"),
        ("[1, 2]\n", ":1: expected a JSON object"),
        (
            '{"model_a": "x", "model_b": "y", "winner": "tie"}\n'
            '{"model_a": "p", "model_b": "q", "winner": "tie"}\n',
            "disconnected groups",
        ),
    ],
)
def test_bad_files_give_one_line_on_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    code, stderr = run_in_process(capsys, str(path))
    assert code == 2
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["missing.jsonl"],
        ["{file}", "--anchor", "nobody=1000"],
        ["{file}", "--anchor", "m00"],
        ["{file}", "--bootstrap", "many"],
        ["{file}", "--format", "xml"],
    ],
)
def test_bad_arguments_give_one_line_on_stderr_and_exit_2(
    jsonl_file: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, stderr = run_in_process(capsys, *[arg.format(file=jsonl_file) for arg in args])
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1


def test_a_broken_parquet_file_is_a_one_line_error_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 20)
    result = run_cli(str(path))
    assert result.returncode == 2
    assert "not a readable Parquet file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_engine_and_the_cli_load_nothing_from_django_or_the_rest_of_arena() -> None:
    # Measured after `import arena`: the project package itself sets up Celery, which the
    # engine cannot avoid; everything the engine and the CLI add must stay outside, but for
    # the shared Django-free modules (arena.vocabulary, arena.cli).
    script = (
        "import sys, arena\n"
        "before = set(sys.modules)\n"
        "import arena.ratings.__main__, arena.ratings.engine.synthetic\n"
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    added = result.stdout.split()
    assert "arena.ratings.engine.style" in added
    assert [m for m in added if m.split(".")[0] == "django"] == []
    outside = [
        m
        for m in added
        if m.startswith("arena.")
        and m not in ("arena.ratings", "arena.ratings.__main__", "arena.vocabulary", "arena.cli")
        and m.split(".")[:3] != ["arena", "ratings", "engine"]
    ]
    assert outside == []
