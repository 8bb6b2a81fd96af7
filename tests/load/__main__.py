"""Load test of service mode on this machine, loopback only, bounded in count and time:
N raters play full battles over HTTP and websockets, as a browser does, against one
Daphne process and Celery workers; the report says what the raters saw.

    .venv/bin/python -m tests.load --raters 50 --battles 3 [--profile DIR]

With --profile, py-spy (the 'load' extra) samples the web process and both workers for
the whole run; the report gives each one's busy share and its hottest functions, and the
collapsed stacks are left in DIR (flame-graph input).

Needs the machine's PostgreSQL and Redis (it makes its own database, and uses Redis
database 13, flushed first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.load.profile import Profiler
from tests.rater import Rater, votable
from tests.stack import Stack, cpu_seconds

PROMPTS = [
    "Write a Python program that prints the first 20 prime numbers.",
    "Write a Go program that counts word frequencies in a fixed text and prints the top 5.",
    "Write an HTML page with a working tic-tac-toe game.",
    "Write a Rust program that computes the longest common subsequence of two strings.",
    "Write a Python program that plots sin and cos on one chart.",
]
BATTLE_TIMEOUT_S = 240


@dataclass
class BattleRecord:
    battle_id: str = ""
    requested: float = 0.0  # wall clock (time.time), comparable with the database's
    votable_on_screen: float | None = None
    vote_latency_s: float | None = None
    vote_accepted: bool = False
    drops: int = 0
    error: str = ""


async def play(base: str, battles: int, seed: int) -> list[BattleRecord]:
    rng = random.Random(seed)
    records = []
    async with Rater(base) as rater:
        for _ in range(battles):
            record = BattleRecord()
            records.append(record)
            try:
                await asyncio.wait_for(play_one(rater, rng, record), timeout=BATTLE_TIMEOUT_S)
            except Exception as error:  # counted and reported, never hidden
                record.error = f"{type(error).__name__}: {error}"[:200]
    return records


async def play_one(rater: Rater, rng: random.Random, record: BattleRecord) -> None:
    record.requested = time.time()
    path = await rater.start_battle(rng.choice(PROMPTS))
    record.battle_id = path.strip("/").split("/")[-1]
    page = rater.page(path)
    try:
        record.votable_on_screen = await page.wait_for(votable, timeout=BATTLE_TIMEOUT_S)
    finally:
        await page.close()
        record.drops = page.drops
    started = time.monotonic()
    vote = await rater.vote(path, rng.choice(["model_a", "model_b", "tie", "both_bad"]))
    record.vote_latency_s = time.monotonic() - started
    record.vote_accepted = vote.status_code == 303
    if not record.vote_accepted:
        raise RuntimeError(f"vote answered {vote.status_code}: {vote.text[:120]}")


def database_times(database_url: str, battle_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per battle, from the rows: when both answers finished, when the battle became
    votable (every answer and run of the last turn finished), and its votes."""
    query = """
        SELECT b.id::text,
               max(r.finished_at) AS answers_done,
               greatest(max(r.finished_at), max(e.finished_at)) AS votable,
               (SELECT count(*) FROM battles_vote v WHERE v.battle_id = b.id) AS votes
        FROM battles_battle b
        JOIN battles_turn t ON t.battle_id = b.id
        JOIN battles_response r ON r.turn_id = t.id
        LEFT JOIN runs_execution e ON e.owner_id = r.id AND e.owner_type_id = (
            SELECT id FROM django_content_type WHERE app_label = 'battles' AND model = 'response')
        WHERE b.id = ANY(%s::uuid[])
        GROUP BY b.id
    """
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(query, (battle_ids,)).fetchall()
    return {
        row[0]: {
            "answers_done": row[1].timestamp() if row[1] else None,
            "votable": row[2].timestamp() if row[2] else None,
            "votes": row[3],
        }
        for row in rows
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def report(
    records: list[BattleRecord],
    times: dict[str, dict[str, Any]],
    cpu: dict[str, float],
    wall_s: float,
) -> dict[str, Any]:
    done = [b for b in records if b.vote_accepted]
    db = [(b, times.get(b.battle_id, {})) for b in done]
    return {
        "battles_started": len(records),
        "battles_completed": len(done),
        # Each with its battle and what the database holds of it, to tell a run that
        # never finished from a page that was never told.
        "errors": [
            {"battle": b.battle_id, "error": b.error, "database": times.get(b.battle_id)}
            for b in records
            if b.error
        ],
        "websocket_drops": sum(b.drops for b in records),
        "votes_accepted": len(done),
        "votes_stored": sum(t.get("votes", 0) for t in times.values()),
        "votes_lost_or_duplicated": sum(1 for b, t in db if t.get("votes") != 1),
        "request_to_answers_finished_s": percentiles(
            [t["answers_done"] - b.requested for b, t in db if t.get("answers_done")]
        ),
        "request_to_votable_in_db_s": percentiles(
            [t["votable"] - b.requested for b, t in db if t.get("votable")]
        ),
        "votable_in_db_to_votable_on_screen_s": percentiles(
            [
                b.votable_on_screen - t["votable"]
                for b, t in db
                if t.get("votable") and b.votable_on_screen
            ]
        ),
        "vote_latency_s": percentiles([b.vote_latency_s for b in done if b.vote_latency_s]),
        "cpu_seconds": {name: round(value, 1) for name, value in cpu.items()},
        "wall_s": round(wall_s, 1),
        "load_average": os.getloadavg(),
    }


async def run_raters(base: str, raters: int, battles: int) -> list[BattleRecord]:
    # Raters arrive over the first few seconds, as people do, not in one instant.
    async def arrive(n: int) -> list[BattleRecord]:
        await asyncio.sleep(n * 0.1)
        return await play(base, battles, seed=n)

    played = await asyncio.gather(*(arrive(n) for n in range(raters)))
    return [record for records in played for record in records]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__)
    parser.add_argument("--raters", type=int, default=50)
    parser.add_argument("--battles", type=int, default=3, help="per rater")
    parser.add_argument("--output", type=Path, help="also write the report here (JSON)")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="sample every process with py-spy"
    )
    parser.add_argument(
        "--server",
        choices=("daphne", "uvicorn"),
        default="daphne",
        help="the web process's ASGI server (uvicorn: pip install -e '.[load]')",
    )
    args = parser.parse_args()
    if not 1 <= args.raters <= 200 or not 1 <= args.battles <= 10:
        parser.error("--raters must be 1..200 and --battles 1..10 (a bounded test)")
    name = f"arena_load_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    subprocess.run(["redis-cli", "-n", "13", "flushdb"], check=True, capture_output=True)
    database_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    stack = Stack(
        database_url, "redis://127.0.0.1:6379/13", Path(tempfile.mkdtemp()), web_server=args.server
    )
    try:
        stack.prepare().start_all()
        time.sleep(3)  # workers connect to the broker
        before = {n: cpu_seconds(pid) for n, pid in stack.pids().items()}
        profiler = Profiler(args.profile, stack.pids()) if args.profile else None
        started = time.monotonic()
        records = asyncio.run(run_raters(stack.url, args.raters, args.battles))
        wall = time.monotonic() - started
        cpu = {n: cpu_seconds(pid) - before[n] for n, pid in stack.pids().items()}
        ids = [b.battle_id for b in records if b.battle_id]
        result = report(records, database_times(database_url, ids), cpu, wall)
        if profiler is not None:
            result["profiles"] = profiler.stop()
    finally:
        stack.stop()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name])
    result["raters"], result["battles_per_rater"] = args.raters, args.battles
    result["server"] = args.server
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0 if not result["errors"] and result["votes_lost_or_duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
