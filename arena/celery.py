"""Celery app for service mode: one task runs any registered job by name (arena/jobs.py).
In embedded mode jobs never reach a broker."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_ready
from django.conf import settings

from arena import jobs
from arena.observability import serve_worker_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "arena.settings")

app = Celery("arena")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="arena.jobs.run", ignore_result=True)
def run_job(name: str, *args: Any) -> None:
    jobs.run(name, *args)


@app.task(name="arena.jobs.requeue_waiting", ignore_result=True)
def requeue_waiting() -> None:
    jobs.requeue_waiting(settings.JOB_WAITING_SECONDS)


@celeryd_after_setup.connect
def _name_the_worker(sender: str, **_: object) -> None:
    jobs.identify_worker(sender)  # before the first task: claims carry the node name


@worker_ready.connect
def _on_worker_start(**_: object) -> None:
    jobs.recover_orphans(jobs.worker_name(), jobs.started_at())
    serve_worker_metrics()
