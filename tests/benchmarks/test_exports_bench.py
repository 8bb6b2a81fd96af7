"""Export speed and memory: rows per second and peak RSS, per format and size.

Two measurements, each run in a fresh subprocess so that peak RSS (VmHWM) belongs
to that one export:

- synthetic: schema rows built in Python (no database) through the very writers the
  export uses, at 100k, 200k and 1M rows; shows the writers' memory stays flat.
- database: `export_votes` (the code behind the command and the jobs) against a
  PostgreSQL database filled with N voted battles by SQL (`generate_series`), each
  with one turn, two answers, one execution per side and an event on every fifth.
  Needs EXPORTS_BENCH_DATABASE_URL (a database it may fill, e.g.
  postgres://postgres@127.0.0.1:5432/arena_exports_bench); sizes from
  EXPORTS_BENCH_DB_SIZES (default "50000,200000,1000000").

Run: `python -m pytest tests/benchmarks/test_exports_bench.py -s`
Figures are recorded in arena/exports/README.md.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# CSV is the slow, secondary format: measured to 200k only, to keep the run short.
SYNTHETIC_SIZES = {
    "parquet": (100_000, 200_000, 1_000_000),
    "jsonl": (100_000, 200_000, 1_000_000),
    "csv": (100_000, 200_000),
}
MEMORY_LIMIT_MB = 300
# On PostgreSQL the export holds up to three chunks of rows' JSON text in flight
# (sql_rows.Exporter) plus, for Parquet, a row group of Arrow batches.
EXPORT_GROWTH_LIMIT_MB = 200
BATCH = 1_000


# --- synthetic rows -------------------------------------------------------------------------

# fmt: off
WORDS = ["print", "sort", "list", "value", "return", "array", "function", "loop", "index",
         "result", "string", "number", "python", "while", "for", "if", "else", "class", "def",
         "import", "main", "output", "input", "test", "data"]
# fmt: on


def _texts(rng: random.Random, n: int, words: int) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(n)]


def synthetic_rows(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Rows shaped like arena/exports/rows.py makes them: ~2 KB of text each."""
    from arena.exports.schema import SCHEMA_ID

    rng = random.Random(seed)
    prompts, answers, codes = _texts(rng, 500, 30), _texts(rng, 500, 120), _texts(rng, 500, 60)
    models = [f"model-{i}" for i in range(20)]
    for i in range(n):
        a, b = rng.sample(models, 2)
        battle = uuid.UUID(int=rng.getrandbits(128))
        prompt = f"{rng.choice(prompts)} #{i}"
        sides = {s: f"{rng.choice(answers)} ({s}{i})" for s in "ab"}
        yield {
            "schema": SCHEMA_ID,
            "vote_id": i + 1,
            "battle_id": str(battle),
            "conversation_a_id": str(uuid.uuid5(battle, "a")),
            "conversation_b_id": str(uuid.uuid5(battle, "b")),
            "model_a": a,
            "model_b": b,
            "winner": rng.choice(["model_a", "model_b", "tie", "tie (bothbad)"]),
            "vote": "model_a",
            "feedback": [],
            "turn": 1,
            "conversation_a": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": sides["a"]},
            ],
            "conversation_b": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": sides["b"]},
            ],
            "responses": [
                {
                    "side": s,
                    "turn": 0,
                    "status": "done",
                    "code": rng.choice(codes),
                    "code_language": "python",
                    "reasoning": "",
                    "ttft_ms": 300,
                    "total_ms": 4000,
                    "input_tokens": 80,
                    "output_tokens": 400,
                }
                for s in "ab"
            ],
            "executions": [
                {
                    "side": s,
                    "turn": 0,
                    "code": rng.choice(codes),
                    "language": "python",
                    "environment": "interpreter",
                    "is_edited": False,
                    "status": "ok",
                    "exit_code": 0,
                    "signal": None,
                    "wall_ms": 120,
                    "cpu_ms": 80,
                    "stdout": f"result {i}",
                    "stderr": "",
                    "stdout_truncated": False,
                    "stderr_truncated": False,
                    "artifacts": [],
                    "preview_events": [
                        {
                            "kind": "load",
                            "tstamp": 1.7e9 + i,
                            "client_tstamp": None,
                            "data": '{"width":800,"height":600}',
                        },
                    ]
                    if i % 10 == 0
                    else [],
                    "tstamp": 1.7e9 + i,
                }
                for s in "ab"
            ],
            "events": [
                {
                    "kind": "rerun",
                    "side": "a",
                    "turn": 0,
                    "tstamp": 1.7e9 + i,
                    "data": '{"edited":true}',
                }
            ]
            if i % 5 == 0
            else [],
            "category": "algorithms",
            "language": "python",
            "environment": "interpreter",
            "sampling_prob": 1 / 190,
            "tstamp": 1.7e9 + i,
            "vote_time": "2026-01-01T00:00:00Z",
            "battle_tstamp": 1.7e9 + i,
            "is_anonymous": True,
            "anonymity_note": "",
            "is_valid": True,
            "invalid_reason": "",
            "battle_status": "voted",
            "void_reason": "",
            "replay_of": "",
            "replay_swapped": False,
            "rater_id": f"{rng.getrandbits(256):064x}",
        }


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over exec
    from the forked parent, so a child of a big pytest would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_synthetic(fmt: str, n: int) -> dict[str, Any]:
    from arena.exports.card import DatasetStats, RowFacts
    from arena.exports.writers import open_writer, row_line

    baseline = _peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"votes.{fmt}"
        stats = DatasetStats()
        start = time.perf_counter()
        writer = open_writer(fmt, path)
        batch: list[str] = []
        for row in synthetic_rows(n):
            # As on SQLite (rows.py): the row built in Python, then its JSON line.
            stats.add(RowFacts.of(row))
            batch.append(row_line(row))
            if len(batch) >= BATCH:
                writer.write(batch)
                batch = []
        writer.write(batch)
        writer.close()
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {
        "rows": n,
        "seconds": seconds,
        "rows_per_s": n / seconds,
        "file_mb": size / 2**20,
        "baseline_mb": baseline,
        "peak_mb": _peak_mb(),
    }


# --- database -------------------------------------------------------------------------------

NL = "chr(10)"
ANSWER_CODE = f"repeat('print(i * i)  # ' || b.i || {NL}, 25)"


def _inserts() -> list[tuple[Any, dict[str, str], str]]:
    """(model, {column: SQL expression}, FROM clause). Columns not named get their
    model default, so fields others add later do not break the fill."""
    from django.contrib.contenttypes.models import ContentType

    from arena.battles.models import Battle, InteractionEvent, Response, Turn, Vote
    from arena.llms.models import LanguageModel
    from arena.raters.models import Rater
    from arena.runs.models import Execution, PreviewEvent

    response_type = ContentType.objects.get_for_model(Response).pk
    return [
        (
            LanguageModel,
            {"name": "'bench-' || i", "provider": "'replay'", "model_id": "'demo-atlas'"},
            "FROM generate_series(0, 19) i",
        ),
        (Rater, {"uuid": "md5('rater' || i)::uuid"}, "FROM generate_series(0, 9999) i"),
        (
            Battle,
            {
                "id": "battle",
                "rater_id": "rater",
                "model_a_id": "ma",
                "model_b_id": "mb",
                "sampling_prob": "1.0 / 380",
                "category": "'algorithms'",
                "language": "'python'",
                "environment": "'interpreter'",
                "status": "'voted'",
                "created_at": "t",
                "updated_at": "t",
            },
            "FROM bench_ids",
        ),
        (
            Turn,
            {
                "battle_id": "battle",
                "index": "0",
                "created_at": "t",
                "prompt": "'Write a Python program that prints the first ' || i || "
                "' prime numbers. ' || repeat('Use a sieve and explain. ', 5)",
            },
            "FROM bench_ids",
        ),
        (
            Response,
            {
                "turn_id": "tu.id",
                "side": "s.side",
                "status": "'done'",
                "model_id": "CASE s.side WHEN 'a' THEN b.ma ELSE b.mb END",
                "text": f"'Here is a program:' || {NL} || '```python' || {NL} || "
                f"{ANSWER_CODE} || '```' || {NL} || repeat('It prints squares. ', 20)",
                "code": ANSWER_CODE,
                "code_language": "'python'",
                "ttft_ms": "300",
                "total_ms": "4000",
                "input_tokens": "80",
                "output_tokens": "400",
                "created_at": "b.t",
            },
            "FROM bench_ids b JOIN battles_turn tu ON tu.battle_id = b.battle "
            "CROSS JOIN (VALUES ('a'), ('b')) s(side)",
        ),
        (
            Execution,
            {
                "owner_type_id": str(response_type),
                "owner_id": "r.id",
                "preview_token": "md5('preview' || r.id)",
                "code": "r.code",
                "language": "'python'",
                "environment": "'interpreter'",
                "status": "'ok'",
                "stdout": f"repeat(r.id || {NL}, 20)",
                "exit_code": "0",
                "wall_ms": "120",
                "cpu_ms": "80",
                "created_at": "r.created_at",
            },
            "FROM battles_response r JOIN battles_turn tu ON tu.id = r.turn_id "
            "JOIN bench_ids b ON b.battle = tu.battle_id",
        ),
        (
            # Preview telemetry on every tenth run: a load, a click and a named key.
            PreviewEvent,
            {
                "execution_id": "e.id",
                "kind": "k.kind",
                "data": "k.data::jsonb",
                "client_at": "e.created_at",
                "received_at": "e.created_at + interval '1 second'",
            },
            "FROM runs_execution e CROSS JOIN (VALUES ('load', '{\"width\": 800, "
            '"height": 600}\'), (\'click\', \'{"x": 10, "y": 20, "target": '
            '"button", "text": "Run"}\'), (\'key\', \'{"key": "Enter", '
            '"typing": false}\')) k(kind, data) WHERE e.id % 10 = 0',
        ),
        (
            InteractionEvent,
            {
                "battle_id": "battle",
                "kind": "'rerun'",
                "created_at": "t",
                "data": '\'{"edited": true, "language": "python"}\'',
            },
            "FROM bench_ids WHERE i % 5 = 0",
        ),
        (
            Vote,
            {
                "battle_id": "battle",
                "rater_id": "rater",
                "created_at": "t",
                "winner": "(ARRAY['model_a', 'model_b', 'tie', 'both_bad'])[1 + i % 4]",
            },
            "FROM bench_ids",
        ),
    ]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict | list):
        value = json.dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert_sql(model: Any, given: dict[str, str], source: str, existing: set[str]) -> str:
    """Others change the models while this runs: fields without a column yet are skipped."""
    columns, values = list(given), list(given.values())
    for field in model._meta.concrete_fields:
        if field.column in given or field.primary_key or field.null:
            continue
        if field.column not in existing:
            continue
        auto = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if auto or (callable(field.default) and field.default.__name__ == "now"):
            value = "now()"
        else:
            value = _literal(field.get_default())
        columns.append(field.column)
        values.append(value)
    cols = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {model._meta.db_table} ({cols}) SELECT {', '.join(values)} {source}"


BENCH_IDS_SQL = """
CREATE TEMP TABLE bench_ids AS
SELECT i, md5('battle' || i)::uuid AS battle,
       (SELECT min(id) FROM llms_languagemodel) + (i % 20) AS ma,
       (SELECT min(id) FROM llms_languagemodel) + ((i + 1 + i / 20 % 19) % 20) AS mb,
       (SELECT min(id) FROM raters_rater) + (i % 10000) AS rater,
       timestamptz '2026-01-01' + i * interval '1 second' AS t
FROM generate_series(1, {n}) i
"""


def fill_database(n: int) -> None:
    """Empty the arena tables and insert n voted battles (setup: not timed as export)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    inserts = _inserts()
    tables = ", ".join(model._meta.db_table for model, _, _ in reversed(inserts))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}, runs_artifact CASCADE")
        cursor.execute("DROP TABLE IF EXISTS bench_ids")
        for model, given, source in inserts:
            if model._meta.db_table == "battles_battle":
                cursor.execute(BENCH_IDS_SQL.format(n=int(n)))
            table = model._meta.db_table
            existing = {
                c.name for c in connection.introspection.get_table_description(cursor, table)
            }
            cursor.execute(_insert_sql(model, given, source, existing))
        cursor.execute("ANALYZE")


def run_database(fmt: str) -> dict[str, Any]:
    from arena.exports.filters import ExportFilters
    from arena.exports.services import export_votes

    baseline = _peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        result = export_votes(ExportFilters(), fmt, Path(tmp) / "out", secret=b"bench-secret")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        size = result.data_file.stat().st_size
    return {
        "rows": result.rows,
        "seconds": seconds,
        "rows_per_s": result.rows / seconds,
        # This process's CPU per row: the load of a shared machine moves it far less
        # than the wall time (PostgreSQL's own work is not in it).
        "cpu_us_per_row": cpu / max(result.rows, 1) * 1e6,
        "load": os.getloadavg()[0],
        "file_mb": size / 2**20,
        "baseline_mb": baseline,
        "peak_mb": _peak_mb(),
    }


# --- subprocess plumbing --------------------------------------------------------------------


def _child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(kind: str, fmt: str, r: dict[str, Any]) -> str:
    return (
        f"{kind:<9} {fmt:<8} {r['rows']:>9,} rows {r['seconds']:8.1f} s "
        f"{r['rows_per_s']:>9,.0f} rows/s  peak RSS {r['peak_mb']:6.0f} MB "
        f"(after imports {r['baseline_mb']:4.0f} MB)  file {r['file_mb']:8.1f} MB"
        + (f"  cpu {r['cpu_us_per_row']:.0f} us/row, load {r['load']:.1f}" if "load" in r else "")
    )


@pytest.mark.timeout(1800)
def test_synthetic_writer_memory_stays_flat() -> None:
    for fmt, sizes in SYNTHETIC_SIZES.items():
        results = []
        for n in sizes:
            results.append(_child("synthetic", fmt, str(n)))
            print(_line("synthetic", fmt, results[-1]), flush=True)
        assert results[-1]["peak_mb"] < MEMORY_LIMIT_MB
        assert results[-1]["peak_mb"] < results[0]["peak_mb"] * 1.25  # flat, not growing


@pytest.mark.timeout(3600)  # the 1M fill and exports take minutes each
@pytest.mark.skipif(
    not os.environ.get("EXPORTS_BENCH_DATABASE_URL"),
    reason="set EXPORTS_BENCH_DATABASE_URL to a PostgreSQL database to fill",
)
def test_database_export_throughput_and_memory() -> None:
    env = {"DATABASE_URL": os.environ["EXPORTS_BENCH_DATABASE_URL"], "SECRET_KEY": "bench"}
    sizes = [
        int(s) for s in os.environ.get("EXPORTS_BENCH_DB_SIZES", "50000,200000,1000000").split(",")
    ]
    peaks: dict[str, list[float]] = {"parquet": [], "jsonl": []}
    for n in sizes:
        start = time.perf_counter()
        _child("fill", str(n), env=env)
        print(f"filled {n:,} voted battles in {time.perf_counter() - start:.0f} s", flush=True)
        for fmt, seen in peaks.items():
            r = _child("database", fmt, env=env)
            print(_line("database", fmt, r), flush=True)
            seen.append(r["peak_mb"] - r["baseline_mb"])
    for seen in peaks.values():
        # Flat: what the export adds over the imports does not grow with the votes.
        assert max(seen) < EXPORT_GROWTH_LIMIT_MB
        assert seen[-1] < seen[0] * 1.25 + 20


def _main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    if argv[0] == "synthetic":
        print(json.dumps(run_synthetic(argv[1], int(argv[2]))))
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")
    import django

    django.setup()
    if argv[0] == "fill":
        fill_database(int(argv[1]))
        print(json.dumps({}))
    else:
        print(json.dumps(run_database(argv[1])))


if __name__ == "__main__":
    _main(sys.argv[1:])
