from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from arena import jobs
from arena.exports.services import export_recover_orphans, export_run


@shared_task(name="arena.exports.tasks.run_export", ignore_result=True)
def run_export_task(export_id: int) -> None:
    export_run(export_id)


@worker_ready.connect
def _fail_exports_a_previous_worker_left(**_: object) -> None:
    export_recover_orphans(jobs.worker_name())
