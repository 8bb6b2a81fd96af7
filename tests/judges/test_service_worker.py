"""Idempotency under a killed Celery worker (service mode: PostgreSQL, Redis, Celery)."""

from __future__ import annotations

import signal

import pytest

from arena.judges.models import Judge, Judgement, JudgingRun
from arena.judges.services import Selection, run_start
from tests.fakes.scoring import scoring_server
from tests.service.test_celery_worker import start_worker, stop, wait_for

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]


def test_a_run_killed_mid_way_resumes_on_restart_and_judges_each_row_once(voted_battles) -> None:
    voted_battles(8)  # 8 battles x 2 orders x 2 modes = 32 judgements, 64 scoring calls
    with scoring_server(score=lambda body: len(body["response"])) as srv:
        worker = start_worker()
        try:
            judge = Judge.objects.create(
                name="length-rm",
                kind="reward",
                endpoint_url=srv.url,
                request_template={"prompt": "{instruction}", "response": "{answer}{execution}"},
                score_path="score",
                concurrency=2,
                timeout_s=10,
            )
            srv.delay_s = 0.15  # every call takes a while, so the kill lands mid-run
            run = run_start(judge=judge, selection=Selection())
            rows = Judgement.objects.filter(judge=judge)
            wait_for(lambda: rows.filter(status="done").count() >= 8)
            stop(worker, signal.SIGKILL)  # no goodbye
            assert JudgingRun.objects.get(pk=run.pk).status == "running"
            assert rows.filter(status="done").count() < 32
            assert rows.filter(status="running").exists()  # claimed by the dead worker
            worker = start_worker()  # its worker_ready hook resets and requeues the run
            wait_for(lambda: JudgingRun.objects.get(pk=run.pk).status == "done")
        finally:
            stop(worker)
    run.refresh_from_db()
    assert (run.total, run.done, run.failed) == (32, 32, 0)
    assert rows.count() == 32 and set(rows.values_list("status", flat=True)) == {"done"}
    assert all(
        claimed.startswith("celery:") for claimed in rows.values_list("claimed_by", flat=True)
    )
    # Only the judgements in flight at the kill (at most `concurrency`) were asked twice.
    assert 64 <= len(srv.bodies) <= 64 + 2 * 2
    assert max(rows.values_list("attempts", flat=True)) <= 2
