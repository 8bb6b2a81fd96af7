from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from arena.battles.models import InteractionEvent, Response, Vote
from arena.exports.schema import FIELD_NAMES, OUTPUT_MAX_CHARS, SCHEMA_ID, arrow_schema
from arena.exports.writers import DataFile
from arena.raters.models import Rater
from arena.runs.models import Artifact, Execution

pytestmark = pytest.mark.django_db


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def rich_vote(alice: Rater, make_vote: Callable[..., Vote]) -> Vote:
    """Two turns, an edited re-run with long output and an artifact, feedback, an event."""
    vote = make_vote(
        alice,
        winner="both_bad",
        category="algorithms",
        language="python",
        environment="interpreter",
    )
    Vote.objects.filter(pk=vote.pk).update(feedback={"readability": "model_b", "speed": "tie"})
    battle = vote.battle
    turn = battle.turns.create(index=1, prompt="now sort it")
    for side in "ab":
        Response.objects.create(
            turn=turn,
            side=side,
            model=battle.model_for(side),
            status="done",
            text=f"second answer {side}",
            code="print(2)",
            code_language="python",
            ttft_ms=120,
            total_ms=900,
        )
    response = battle.turns.get(index=0).responses.get(side="a")
    run = Execution.objects.create(
        owner=response,
        code="print('x' * 10**5)",
        language="python",
        is_edited=True,
        status="ok",
        exit_code=0,
        stdout="x" * (OUTPUT_MAX_CHARS + 50),
        stderr="warn",
    )
    Artifact.objects.create(
        execution=run, name="plot.png", mime="image/png", size=3, sha256="ab" * 32, data=b"png"
    )
    InteractionEvent.objects.create(
        battle=battle, response=response, kind="rerun", data={"edited": True, "language": "python"}
    )
    return vote


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_every_format_has_the_documented_columns_in_order(
    fmt: str, rich_vote: Vote, export
) -> None:
    result = export(fmt)
    rows = read_rows(result.data_file)
    assert len(rows) == 1
    assert tuple(rows[0]) == FIELD_NAMES
    assert rows[0]["schema"] == SCHEMA_ID
    assert sorted(p.name for p in result.directory.iterdir()) == [
        "README.md",
        "manifest.json",
        f"votes.{fmt}",
    ]


def test_parquet_carries_the_schema_id_and_the_arrow_types(rich_vote: Vote, export) -> None:
    path = export("parquet").data_file
    schema = pq.read_schema(path)
    assert schema.metadata[b"schema"] == SCHEMA_ID.encode()
    assert schema.remove_metadata().equals(arrow_schema().remove_metadata())


def test_a_row_holds_the_battle_as_the_rater_saw_it(rich_vote: Vote, export) -> None:
    row = read_rows(export("jsonl").data_file)[0]
    battle = rich_vote.battle
    assert row["battle_id"] == str(battle.pk)
    assert row["model_a"] == battle.model_a.name and row["model_b"] == battle.model_b.name
    assert (row["winner"], row["vote"]) == ("tie (bothbad)", "both_bad")
    assert row["feedback"] == [
        {"dimension": "readability", "choice": "model_b"},
        {"dimension": "speed", "choice": "tie"},
    ]
    assert row["turn"] == 2
    assert [m["role"] for m in row["conversation_a"]] == ["user", "assistant"] * 2
    assert row["conversation_b"][3]["content"] == "second answer b"
    assert row["conversation_a_id"] != row["conversation_b_id"]
    assert (row["category"], row["language"], row["environment"]) == (
        "algorithms",
        "python",
        "interpreter",
    )
    assert row["sampling_prob"] == 0.5
    assert row["tstamp"] == rich_vote.created_at.timestamp()
    assert row["vote_time"].endswith("Z")
    assert row["is_valid"] and row["is_anonymous"]
    assert len(row["rater_id"]) == 64


def test_executions_keep_code_status_and_capped_output(rich_vote: Vote, export) -> None:
    run = read_rows(export("parquet").data_file)[0]["executions"][0]
    assert (run["side"], run["turn"], run["is_edited"], run["status"]) == ("a", 0, True, "ok")
    assert len(run["stdout"]) == OUTPUT_MAX_CHARS and run["stdout_truncated"]
    assert run["stderr"] == "warn" and not run["stderr_truncated"]
    assert run["artifacts"] == [
        {"name": "plot.png", "mime": "image/png", "size": 3, "sha256": "ab" * 32}
    ]


def test_events_keep_only_allow_listed_data(rich_vote: Vote, export) -> None:
    InteractionEvent.objects.filter(battle=rich_vote.battle).update(
        data={"edited": True, "language": "python", "note": "free text", "nested": {"a": 1}}
    )
    event = read_rows(export("jsonl").data_file)[0]["events"][0]
    assert (event["kind"], event["side"], event["turn"]) == ("rerun", "a", 0)
    assert json.loads(event["data"]) == {"edited": True, "language": "python"}


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_preview_telemetry_rides_with_its_execution(
    fmt: str, rich_vote: Vote, add_preview: Callable[..., Execution], export
) -> None:
    add_preview(rich_vote)
    runs = read_rows(export(fmt).data_file)[0]["executions"]
    console, page = runs  # in run order: the edited re-run, then the preview
    assert console["preview_events"] == []
    assert (page["environment"], page["side"], page["turn"]) == ("html", "a", 0)
    events = page["preview_events"]
    assert [e["kind"] for e in events] == ["load", "click", "key", "error"]
    assert [json.loads(e["data"]) for e in events] == [
        {"width": 800, "height": 600},
        {"x": 10, "y": 20, "target": "button"},  # the element's text stays in the arena
        {"key": "char", "typing": True},
        {"line": 3},  # and so does the error's message
    ]
    assert events[0]["tstamp"] - events[0]["client_tstamp"] == pytest.approx(0.25)
    assert events[3]["client_tstamp"] is None
    assert "my secret note" not in export("jsonl").data_file.read_text()


def test_csv_puts_nested_fields_as_json(rich_vote: Vote, export) -> None:
    row = read_rows(export("csv").data_file)[0]
    assert json.loads(row["conversation_a"])[0] == {"role": "user", "content": "print hello"}
    assert row["is_valid"] == "true"
    assert float(row["tstamp"]) == rich_vote.created_at.timestamp()


def test_the_manifest_hashes_every_file_and_the_card_explains_loading(
    rich_vote: Vote, export
) -> None:
    import hashlib

    for fmt in ("jsonl", "csv", "parquet"):  # each format's writer hashes its own file
        result = export(fmt)
        manifest = json.loads((result.directory / "manifest.json").read_text())
        assert manifest["schema"] == SCHEMA_ID and manifest["rows"] == 1
        assert {entry["name"] for entry in manifest["files"]} == {f"votes.{fmt}", "README.md"}
        for entry in manifest["files"]:
            data = (result.directory / entry["name"]).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["bytes"] == len(data)
    card = (result.directory / "README.md").read_text()
    assert "pd.read_parquet" in card and 'load_dataset("parquet"' in card
    assert SCHEMA_ID in card and "license: cc-by-4.0" in card
    assert "2026-03-01 to 2026-03-01" in card


def test_an_empty_selection_still_gives_a_valid_export(db: None, export) -> None:
    for fmt in ("jsonl", "parquet", "csv"):
        result = export(fmt)
        assert result.rows == 0
        assert read_rows(result.data_file) == []


def test_unicode_line_separators_never_split_a_jsonl_row(alice: Rater, make_vote, export) -> None:
    vote = make_vote(alice)
    vote.battle.turns.update(prompt="one\u2028two\x85three\u2029four")
    text = export("jsonl").data_file.read_text()
    assert len(text.splitlines()) == 1
    assert json.loads(text)["conversation_a"][0]["content"] == "one\u2028two\x85three\u2029four"


def test_arrow_readers_load_the_text_formats_as_datasets_does(rich_vote: Vote, export) -> None:
    """Hugging Face `datasets` loads JSON with pyarrow.json; pandas is not installed here."""
    import pyarrow.csv
    import pyarrow.json

    table = pyarrow.json.read_json(export("jsonl").data_file)
    assert table.num_rows == 1 and tuple(table.column_names) == FIELD_NAMES
    assert table.column("executions").to_pylist()[0][0]["artifacts"][0]["name"] == "plot.png"
    csv_table = pyarrow.csv.read_csv(export("csv").data_file)
    assert csv_table.num_rows == 1 and tuple(csv_table.column_names) == FIELD_NAMES


def test_the_data_file_is_hashed_as_written_across_cache_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    monkeypatch.setattr(DataFile, "DROP_BYTES", 1_000)  # a drop every few writes
    chunks = [bytes([n % 251]) * (300 + 97 * n) for n in range(40)]
    data_file = DataFile(tmp_path / "votes.jsonl")
    for n, chunk in enumerate(chunks):
        assert data_file.write(memoryview(chunk) if n % 2 else chunk) == len(chunk)
    data_file.close()
    written = (tmp_path / "votes.jsonl").read_bytes()
    assert written == b"".join(chunks)
    assert data_file.sha256() == hashlib.sha256(written).hexdigest()
