from __future__ import annotations

from django.apps import AppConfig


class BattlesConfig(AppConfig):
    name = "arena.battles"
    label = "battles"

    def ready(self) -> None:
        # Imported here: these modules import models, which Django loads after the configs.
        from arena import jobs
        from arena.battles import broadcast
        from arena.battles.generation import (
            generate_response,
            recover_generations,
            waiting_generations,
        )
        from arena.battles.services import GENERATE_JOB
        from arena.runs.signals import execution_changed

        jobs.register(
            GENERATE_JOB,
            generate_response,
            queue="generation",
            recover=recover_generations,
            waiting=waiting_generations,
        )
        execution_changed.connect(broadcast.execution_changed, dispatch_uid="battles-runs")
