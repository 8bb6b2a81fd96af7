from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from arena import jobs
from arena.runs.services import execution_run, recover_orphans

# The sandbox's own wall limit is far shorter; this only catches a wedged job.
EXECUTION_TIME_LIMIT_S = 120


@shared_task(
    name="arena.runs.tasks.run_execution",
    ignore_result=True,
    soft_time_limit=EXECUTION_TIME_LIMIT_S,
    time_limit=EXECUTION_TIME_LIMIT_S + 5,
)
def run_execution_task(execution_id: int) -> None:
    execution_run(execution_id)


@worker_ready.connect
def _fail_what_a_previous_worker_left(**_: object) -> None:
    recover_orphans(jobs.worker_name())
