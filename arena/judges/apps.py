from __future__ import annotations

from django.apps import AppConfig


class JudgesConfig(AppConfig):
    name = "arena.judges"
    label = "judges"
    verbose_name = "Judges"

    def ready(self) -> None:
        # Imported here: these modules import models, which Django loads after the configs.
        from arena import jobs
        from arena.judges.autoarena import AUTO_ARENA_JOB, recover_auto_arena, run_auto_arena
        from arena.judges.services import JUDGE_JOB, recover_judging, run_judging

        jobs.register(JUDGE_JOB, run_judging, queue="judges", recover=recover_judging)
        jobs.register(AUTO_ARENA_JOB, run_auto_arena, queue="judges", recover=recover_auto_arena)
