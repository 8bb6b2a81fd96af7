from __future__ import annotations

from django.db import models
from django.utils import timezone

from arena.records import SingletonSettings


class LeaderboardSnapshot(models.Model):
    """A computed leaderboard. Pages read snapshots; only the ratings job writes them."""

    scope = models.CharField(
        max_length=100, db_index=True, help_text='"overall", "language:python", ...'
    )
    window_days = models.PositiveSmallIntegerField(
        default=0, help_text="0: all counted votes; N: votes of the last N days."
    )
    computed_at = models.DateTimeField(default=timezone.now, db_index=True)
    n_votes = models.PositiveIntegerField()
    params = models.JSONField(default=dict, help_text="Bootstrap rounds, seed, filters.")
    data = models.JSONField(help_text="The leaderboard as the rating engine returned it.")

    class Meta:
        ordering = ["-computed_at"]
        get_latest_by = "computed_at"
        indexes = [
            models.Index(fields=["scope", "window_days", "-computed_at"], name="snapshot_latest"),
        ]

    def __str__(self) -> str:
        window = f" (last {self.window_days} days)" if self.window_days else ""
        return f"{self.scope}{window} at {self.computed_at:%Y-%m-%d %H:%M}"

    @property
    def error(self) -> str:
        return str(self.data.get("error") or "")


class RatingsSettings(SingletonSettings):
    """Admin-editable leaderboard settings; one row (pk 1). Pages fall back to the defaults."""

    min_votes = models.PositiveIntegerField(
        default=10,
        help_text="Models with fewer votes in a board are preliminary: listed, not ranked.",
    )
    recent_days = models.PositiveSmallIntegerField(
        default=30, help_text='The "recent" window precomputed per scope; 0 turns it off.'
    )
    on_demand_bootstrap = models.PositiveSmallIntegerField(
        default=20, help_text="Bootstrap rounds for custom date ranges, computed on request."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "ratings settings"
        verbose_name_plural = "ratings settings"

    def __str__(self) -> str:
        return "Ratings settings"
