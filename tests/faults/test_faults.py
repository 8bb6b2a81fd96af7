"""Faults survived without a lost vote: workers, the web process, Redis and PostgreSQL
killed or restarted under a live battle. Each test owns private PostgreSQL and Redis
servers on ports of their own (the machine's shared servers are never touched) and the
arena's processes. Not in the default run:

    .venv/bin/python -m pytest tests/faults

After each fault: every accepted vote is stored exactly once, every job ends in a final
state, and open pages show the outcome within RECOVERY_SHOWN_S of the recovery.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.rater import Rater, votable
from tests.stack import PrivatePostgres, PrivateRedis, Stack, wait_until

pytestmark = [pytest.mark.service, pytest.mark.timeout(600)]

RECOVERY_SHOWN_S = 2.0
RATER_GONE_S = 15  # longer than a web process takes to restart under load
SLOW_PROMPT = "Write a Python program that prints the first 20 prime numbers."
# A console program that runs long enough to be killed in the middle.
SLEEPER = "import time\nfor i in range(120):\n    print(i, flush=True)\n    time.sleep(0.5)\n"


@pytest.fixture
def arena(tmp_path: Path) -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.skip("private PostgreSQL servers are started as the postgres user (needs root)")
    postgres = PrivatePostgres().create()
    redis = PrivateRedis().start()
    stack = Stack(
        postgres.url,
        redis.url,
        tmp_path,
        postgres=postgres,
        redis=redis,
        extra_env={
            "RATER_GONE_SECONDS": str(RATER_GONE_S),
            "JOB_WAITING_SECONDS": "3",
            "JOB_REQUEUE_SECONDS": "2",
            "LEADERBOARD_DEBOUNCE_SECONDS": "1",
        },
    )
    try:
        stack.prepare()
        slow_models(stack)
        stack.start_all(generation=4, execution=2)
        stack.start_beat()
        yield stack
    finally:
        stack.stop()
        redis.kill()
        postgres.destroy()


def slow_models(stack: Stack) -> None:
    """Demo answers streamed slowly, so that a fault can land in the middle of one."""
    stack.manage(
        "shell",
        "-c",
        "from arena.llms.models import LanguageModel as M\n"
        "M.objects.update(params={'chunk_delay_s': 0.15})",
    )


def rows(stack: Stack, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(stack.database_url, connect_timeout=5) as connection:
        return connection.execute(sql, params).fetchall()  # type: ignore[arg-type]


def battle_of(path: str) -> str:
    return path.strip("/").split("/")[-1]


def response_states(stack: Stack, battle: str) -> list[str]:
    found = rows(
        stack,
        "SELECT r.status FROM battles_response r JOIN battles_turn t ON r.turn_id = t.id "
        "WHERE t.battle_id = %s ORDER BY r.side",
        battle,
    )
    return [str(state) for (state,) in found]


def assert_everything_final(stack: Stack) -> None:
    unfinished = rows(
        stack,
        "SELECT 'response', status FROM battles_response WHERE status IN ('pending','streaming') "
        "UNION ALL SELECT 'execution', status FROM runs_execution "
        "WHERE status IN ('queued','running')",
    )
    assert unfinished == []


def votes_per_battle(stack: Stack) -> dict[str, int]:
    found = rows(stack, "SELECT battle_id::text, count(*) FROM battles_vote GROUP BY battle_id")
    return {str(battle): int(count) for battle, count in found}  # type: ignore[call-overload]


def wait_rows(stack: Stack, sql: str, *params: object, timeout: float = 60) -> None:
    wait_until(lambda: bool(rows(stack, sql, *params)), timeout, sql)


async def play_to_vote(rater: Rater, path: str) -> None:
    page = rater.page(path)
    try:
        await page.wait_for(votable, timeout=120)
    finally:
        await page.close()
    answer = await rater.vote(path, "model_a")
    assert answer.status_code == 303, answer.text


def test_a_worker_killed_mid_answer_fails_it_voids_the_battle_and_the_page_shows_it(
    arena: Stack,
) -> None:
    async def scenario() -> None:
        async with Rater(arena.url, heartbeat_s=RATER_GONE_S / 3) as rater:
            path = await rater.start_battle(SLOW_PROMPT)
            battle = battle_of(path)
            page = rater.page(path)
            await asyncio.to_thread(
                wait_rows,
                arena,
                "SELECT 1 FROM battles_response r JOIN battles_turn t ON r.turn_id = t.id "
                "WHERE t.battle_id = %s AND r.status = 'streaming'",
                battle,
            )
            arena.kill("worker-generation")
            arena.start_generation_worker()
            await asyncio.to_thread(
                wait_until, lambda: "failed" in response_states(arena, battle), 60, "recovery"
            )
            [(recovered,)] = rows(
                arena,
                "SELECT max(r.finished_at) FROM battles_response r JOIN battles_turn t "
                "ON r.turn_id = t.id WHERE t.battle_id = %s AND r.status = 'failed'",
                battle,
            )
            shown = await page.wait_for(lambda m: "restarted while this answer" in m, 30)
            await page.close()
            assert shown - recovered.timestamp() <= RECOVERY_SHOWN_S  # type: ignore[attr-defined]
            [(status,)] = rows(arena, "SELECT status FROM battles_battle WHERE id = %s", battle)
            assert status == "void"
            # The arena goes on: the next battle is played to a vote.
            await play_to_vote(rater, await rater.start_battle(SLOW_PROMPT))

    asyncio.run(scenario())
    assert_everything_final(arena)
    assert list(votes_per_battle(arena).values()) == [1]


def test_a_worker_killed_mid_run_fails_the_run_and_the_page_shows_it(arena: Stack) -> None:
    async def scenario() -> None:
        async with Rater(arena.url, heartbeat_s=RATER_GONE_S / 3) as rater:
            path = await rater.start_battle(SLOW_PROMPT)
            battle = battle_of(path)
            page = rater.page(path)
            await page.wait_for(votable, timeout=120)
            [(response,)] = rows(
                arena,
                "SELECT r.id FROM battles_response r JOIN battles_turn t ON r.turn_id = t.id "
                "WHERE t.battle_id = %s AND r.side = 'a'",
                battle,
            )
            answer = await rater.post(
                f"{path}responses/{response}/run", {"code": SLEEPER, "language": "python"}
            )
            assert answer.status_code == 303
            await asyncio.to_thread(
                wait_rows, arena, "SELECT 1 FROM runs_execution WHERE status = 'running'"
            )
            arena.kill("worker-execution")
            arena.start_execution_worker()
            await asyncio.to_thread(
                wait_rows,
                arena,
                "SELECT 1 FROM runs_execution "
                "WHERE status = 'failed' AND error LIKE '%%restarted%%'",
            )
            [(recovered,)] = rows(
                arena, "SELECT max(finished_at) FROM runs_execution WHERE status = 'failed'"
            )
            shown = await page.wait_for(lambda m: "restarted while this was running" in m, 30)
            await page.close()
            assert shown - recovered.timestamp() <= RECOVERY_SHOWN_S  # type: ignore[attr-defined]
            vote = await rater.vote(path, "tie")  # the run ended: the battle can be voted
            assert vote.status_code == 303

    asyncio.run(scenario())
    assert_everything_final(arena)
    assert list(votes_per_battle(arena).values()) == [1]


def test_a_killed_web_process_loses_no_vote_and_leaves_no_presence_behind(
    arena: Stack,
) -> None:
    async def scenario() -> None:
        async with Rater(arena.url, heartbeat_s=RATER_GONE_S / 3) as rater:
            kept, left = (
                await rater.start_battle(SLOW_PROMPT),
                await rater.start_battle(SLOW_PROMPT),
            )
            page, gone = rater.page(kept), rater.page(left, reconnect=False)
            await asyncio.sleep(1)
            arena.kill("web")  # no goodbye to either socket
            await gone.close()  # this rater does not come back
            arena.start_web()
            await page.wait_for(votable, timeout=120)  # the other page reconnected
            await page.close()
            assert page.drops >= 1
            assert (await rater.vote(kept, "model_b")).status_code == 303
            # Nobody counts open pages, so nothing leaked: the abandoned battle's answers
            # stop once its page has been quiet for RATER_GONE_SECONDS.
            await asyncio.to_thread(
                wait_until,
                lambda: not {"pending", "streaming"} & set(response_states(arena, battle_of(left))),
                RATER_GONE_S + 60,
                "the abandoned battle's answers to end",
            )

    asyncio.run(scenario())
    assert_everything_final(arena)
    assert sorted(votes_per_battle(arena).values()) == [1]


def test_a_redis_restart_loses_no_job_and_pages_come_back(arena: Stack) -> None:
    async def scenario() -> None:
        async with Rater(arena.url, heartbeat_s=RATER_GONE_S / 3) as rater:
            first = await rater.start_battle(SLOW_PROMPT)
            page = rater.page(first)
            await asyncio.sleep(1)
            arena.redis.kill()  # queued messages die with it
            lost = await rater.start_battle(SLOW_PROMPT)  # its jobs cannot be queued now
            lost_page = rater.page(lost)  # its rater stays, as a person would
            arena.redis.start()
            for path, live in ((first, page), (lost, lost_page)):
                await live.wait_for(votable, timeout=180)  # requeue_waiting sent lost's jobs
                await live.close()
                assert (await rater.vote(path, "model_a")).status_code == 303

    asyncio.run(scenario())
    assert_everything_final(arena)
    assert sorted(votes_per_battle(arena).values()) == [1, 1]


def test_a_postgres_restart_during_a_burst_of_votes_stores_each_vote_once(arena: Stack) -> None:
    raters_n = 8

    async def one_rater(ready: asyncio.Barrier) -> tuple[str, int]:
        async with Rater(arena.url, heartbeat_s=RATER_GONE_S / 3) as rater:
            path = await rater.start_battle(SLOW_PROMPT)
            page = rater.page(path)
            await page.wait_for(votable, timeout=180)
            await page.close()
            await ready.wait()
            accepted = 0
            for _ in range(60):  # as a person would: try again after "briefly unavailable"
                try:
                    answer = await rater.vote(path, "model_b")
                except Exception:
                    await asyncio.sleep(0.5)
                    continue
                if answer.status_code == 303:
                    accepted += 1
                    break
                if answer.status_code == 400 and "already voted" in answer.text:
                    break  # a retry of a vote that was stored: still one vote
                assert answer.status_code == 503, answer.text  # never a 500
                await asyncio.sleep(0.5)
            return battle_of(path), accepted

    async def scenario() -> list[tuple[str, int]]:
        ready = asyncio.Barrier(raters_n + 1)
        voters = [asyncio.create_task(one_rater(ready)) for _ in range(raters_n)]
        await ready.wait()
        await asyncio.to_thread(arena.postgres.stop, "fast")
        await asyncio.sleep(2)
        await asyncio.to_thread(arena.postgres.start)
        return await asyncio.gather(*voters)

    outcome = asyncio.run(scenario())
    stored = votes_per_battle(arena)
    assert all(stored.get(battle) == 1 for battle, _ in outcome)
    assert len(stored) == raters_n
    assert_everything_final(arena)
