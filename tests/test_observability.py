"""What an operator watches: health, metrics and log lines that say what they are about."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from arena.battles.models import Response
from arena.logs import ContextFilter, JsonFormatter, TextFormatter, log_context
from arena.raters.models import Rater
from arena.runs.services import execution_create, execution_run

pytestmark = pytest.mark.django_db


def test_health_names_every_part_and_answers_200_when_all_answer(client: Client, settings) -> None:
    settings.JOBS_MODE = "inline"  # workers are checked with a real one in tests/service
    answer = client.get("/healthz")
    body = answer.json()
    assert answer.status_code == 200 and body["ok"] is True
    assert body["checks"]["database"]["ok"] is True


def test_health_answers_503_and_names_the_part_that_is_down(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": answer.json()["checks"]["redis"]["ms"],
    }


def test_a_run_is_counted_in_the_metrics(client: Client, alice: Rater, make_battle) -> None:
    def executions_ok() -> float:
        for line in client.get("/metrics").content.decode().splitlines():
            if line.startswith('arena_executions_total{language="python",status="ok"}'):
                return float(line.split()[-1])
        return 0.0

    before = executions_ok()
    response = Response.objects.filter(turn__battle=make_battle(alice)).first()
    execution = execution_create(
        owner=response, code="print(1)", language="python", environment="interpreter"
    )
    execution_run(execution.pk)
    text = client.get("/metrics").content.decode()
    assert executions_ok() == before + 1
    assert "arena_websocket_connections" in text and "arena_queue_depth" in text


def test_log_lines_carry_the_ids_of_their_unit_of_work() -> None:
    record = logging.LogRecord("arena.test", logging.INFO, __file__, 1, "ran %s", ("x",), None)
    with log_context(battle_id="b-1", execution_id=7):
        ContextFilter().filter(record)
    assert json.loads(JsonFormatter().format(record)) | {"time": "t"} == {
        "time": "t",
        "level": "INFO",
        "logger": "arena.test",
        "message": "ran x",
        "battle_id": "b-1",
        "execution_id": "7",
    }
    assert TextFormatter("%(message)s").format(record) == "ran x [battle_id=b-1 execution_id=7]"
