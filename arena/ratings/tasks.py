from __future__ import annotations

from celery import shared_task

from arena.ratings.snapshots import refresh_leaderboards


@shared_task(name="arena.ratings.tasks.refresh_leaderboards", ignore_result=True)
def refresh_leaderboards_task() -> None:
    # Runs after every vote and on a timer: skip the work when no counted vote changed.
    refresh_leaderboards(force=False)
