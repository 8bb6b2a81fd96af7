from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from arena.battles.models import Vote
from arena.raters.models import Rater
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db


def export_cmd(tmp_path: Path, *args: str, **options: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_votes", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text("a-release-secret-of-some-length\n")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_the_same_data_and_secret_give_byte_identical_exports(
    fmt: str,
    alice: Rater,
    make_vote: Callable[..., Vote],
    add_preview: Callable[..., Execution],
    tmp_path: Path,
    secret_file: Path,
) -> None:
    for n in range(5):
        vote = make_vote(alice, minutes=n, winner=["model_a", "tie"][n % 2])
    add_preview(vote)  # preview telemetry is part of the bytes too
    outputs = []
    for name in ("one", "two"):
        export_cmd(
            tmp_path,
            format=fmt,
            output=str(tmp_path / name),
            secret_file=str(secret_file),
            no_progress=True,
        )
        export_cmd(
            tmp_path,
            format=fmt,
            output=str(tmp_path / f"{name}.zip"),
            secret_file=str(secret_file),
            no_progress=True,
        )
        outputs.append({p.name: p.read_bytes() for p in (tmp_path / name).iterdir()})
    assert outputs[0] == outputs[1]
    assert (tmp_path / "one.zip").read_bytes() != b""
    with zipfile.ZipFile(tmp_path / "one.zip") as one, zipfile.ZipFile(tmp_path / "two.zip") as two:
        assert [(i.filename, i.CRC) for i in one.infolist()] == [
            (i.filename.replace("two/", "one/"), i.CRC) for i in two.infolist()
        ]
        assert sorted(one.namelist()) == ["one/README.md", "one/manifest.json", f"one/votes.{fmt}"]


def test_a_different_secret_gives_different_rater_ids(
    alice: Rater, make_vote, tmp_path: Path, monkeypatch
) -> None:
    make_vote(alice)
    ids = []
    for n, secret in enumerate(["first-secret-0123456789", "second-secret-0123456789"]):
        monkeypatch.setenv("ARENA_EXPORT_SECRET", secret)
        export_cmd(tmp_path, format="jsonl", output=str(tmp_path / str(n)), no_progress=True)
        ids.append(json.loads((tmp_path / str(n) / "votes.jsonl").read_text())["rater_id"])
    assert ids[0] != ids[1]


def test_it_draws_a_random_secret_and_says_so_when_none_is_given(
    alice: Rater, make_vote, tmp_path: Path
) -> None:
    make_vote(alice)
    out, err = export_cmd(tmp_path, format="csv", output=str(tmp_path / "x"))
    assert "random pseudonym key" in err
    assert "Exported 1 votes" in out


def test_it_shows_progress_on_stderr(alice: Rater, make_vote, tmp_path: Path) -> None:
    for n in range(3):
        make_vote(alice, minutes=n)
    out, err = export_cmd(tmp_path, "--format", "jsonl", "--output", str(tmp_path / "y"))
    assert "3/3 votes" in err and "100%" in err
    assert "votes" not in out.replace("Exported 3 votes", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--format", "jsonl", "--since", "yesterday"], "--since: expected a date like"),
        (["--format", "jsonl", "--until", "2026-02-30"], "--until: expected a date like"),
        (["--format", "jsonl", "--since", "2026-03-02", "--until", "2026-03-01"], "is after"),
        (["--format", "jsonl", "--models", "no-such-model"], "unknown model(s): no-such-model"),
        (["--format", "jsonl", "--secret-file", "/nonexistent/secret"], "--secret-file"),
    ],
)
def test_bad_input_is_a_clear_command_error(args: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError) as error:
        export_cmd(tmp_path, *args, "--output", str(tmp_path / "out"))
    assert message in str(error.value)


def test_bad_input_on_the_command_line_prints_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "export_votes",
            "--format",
            "jsonl",
            "--output",
            str(tmp_path / "o"),
            "--since",
            "31/01/2026",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "--since: expected a date like 2026-01-31" in done.stderr
