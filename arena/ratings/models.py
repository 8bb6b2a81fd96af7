from __future__ import annotations

from django.db import models
from django.utils import timezone

from arena.raters.models import Rater
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

    class Meta:
        verbose_name = "ratings settings"
        verbose_name_plural = "ratings settings"


class RaterFlag(models.Model):
    """A rater the outlier job found voting against everyone else (see hygiene.py).
    A flag only asks for review: an admin decides, and every decision can be undone."""

    class Status(models.TextChoices):
        OPEN = "open"
        INVALIDATED = "invalidated", "votes invalidated"
        DISMISSED = "dismissed"

    rater = models.ForeignKey(Rater, on_delete=models.PROTECT, related_name="+")
    log_evidence = models.FloatField(help_text="log M: above log 20 (3.0) is flagged.")
    votes_checked = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    reviewed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-log_evidence"]
        constraints = [
            models.UniqueConstraint(
                fields=["rater"], condition=models.Q(status="open"), name="one_open_flag_per_rater"
            ),
        ]

    def __str__(self) -> str:
        return f"flag {self.pk} on {self.rater}"

    @property
    def reason(self) -> str:
        """The tag of the invalidations this flag's review made: its undo finds them by it."""
        return f"outlier review, flag {self.pk}"
