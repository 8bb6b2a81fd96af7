from __future__ import annotations

from celery import shared_task

from arena.battles.generation import generate_response


@shared_task(name="arena.battles.tasks.generate_response", ignore_result=True)
def generate_response_task(response_id: int) -> None:
    generate_response(response_id)
