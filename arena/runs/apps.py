from __future__ import annotations

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "arena.runs"
    label = "runs"

    def ready(self) -> None:
        # Imported here: these modules import models, which Django loads after the configs.
        from arena import jobs
        from arena.runs.screenshots import screenshot_take
        from arena.runs.services import (
            EXECUTE_JOB,
            EXECUTE_TIME_LIMIT_S,
            SCREENSHOT_JOB,
            execution_run,
            recover_executions,
            waiting_executions,
        )

        jobs.register(
            EXECUTE_JOB,
            execution_run,
            queue="execution",
            recover=recover_executions,
            waiting=waiting_executions,
            time_limit_s=EXECUTE_TIME_LIMIT_S,
        )
        # A screenshot is a nicety: a restarted worker has nothing to fail.
        jobs.register(
            SCREENSHOT_JOB, screenshot_take, queue="execution", time_limit_s=EXECUTE_TIME_LIMIT_S
        )
