from __future__ import annotations

from django.db import models
from django.utils import timezone


class LeaderboardSnapshot(models.Model):
    """A computed leaderboard. Pages read snapshots; only the ratings job writes them."""

    scope = models.CharField(
        max_length=100, db_index=True, help_text='"overall", "language:python", ...'
    )
    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    n_votes = models.PositiveIntegerField()
    params = models.JSONField(default=dict, help_text="Bootstrap rounds, seed, filters.")
    data = models.JSONField(help_text="The leaderboard as the rating engine returned it.")

    class Meta:
        ordering = ["-computed_at"]
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"{self.scope} at {self.computed_at:%Y-%m-%d %H:%M}"
