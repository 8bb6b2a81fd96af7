from __future__ import annotations

from celery import shared_task

from arena.exports.services import export_run


@shared_task(name="arena.exports.tasks.run_export", ignore_result=True)
def run_export_task(export_id: int) -> None:
    export_run(export_id)
