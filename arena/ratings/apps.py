from __future__ import annotations

from django.apps import AppConfig


class RatingsConfig(AppConfig):
    name = "arena.ratings"
    label = "ratings"

    def ready(self) -> None:
        # Imported here: these modules import models, which Django loads after the configs.
        from arena import jobs
        from arena.battles.signals import vote_recorded
        from arena.ratings.hygiene import FLAG_JOB, flag_outliers_job
        from arena.ratings.jobs import REFRESH_JOB, refresh_after_vote, refresh_when_asked

        jobs.register(REFRESH_JOB, refresh_when_asked, queue="ratings")
        jobs.register(FLAG_JOB, flag_outliers_job, queue="ratings")
        vote_recorded.connect(refresh_after_vote, dispatch_uid="ratings-refresh-after-vote")
