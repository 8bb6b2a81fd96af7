from __future__ import annotations

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "arena.exports"
    label = "exports"

    def ready(self) -> None:
        # Imported here: these modules import models, which Django loads after the configs.
        from arena import jobs
        from arena.exports.services import (
            EXPORT_JOB,
            export_recover_orphans,
            export_run,
            export_waiting,
        )

        jobs.register(
            EXPORT_JOB,
            export_run,
            queue="exports",
            recover=export_recover_orphans,
            waiting=export_waiting,
        )
