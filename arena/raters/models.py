from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from arena.records import SingletonSettings

DEFAULT_TERMS = (
    "Your requests, the answers and your votes are published in research datasets under "
    "a pseudonym, never with your name or address. Do not type personal or confidential "
    "information into a request."
)


class ConsentTerms(models.Model):
    """What a rater agrees to before the first battle. Admins add a new version rather
    than edit an old one, so every rater's consent names the exact text they saw."""

    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "consent terms"

    def __str__(self) -> str:
        return f"terms of {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def current_text(cls) -> str:
        terms = cls.objects.first()
        return terms.text if terms else DEFAULT_TERMS


class Rater(models.Model):
    """Whoever votes: a signed-in user or an anonymous browser (a signed cookie)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    consented_at = models.DateTimeField(null=True, blank=True)
    consent_text = models.TextField(blank=True, help_text="The terms exactly as agreed to.")
    is_blocked = models.BooleanField(
        default=False, help_text="Blocked raters cannot start battles."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.user.get_username() if self.user else f"anonymous {str(self.uuid)[:8]}"


class RaterLimits(SingletonSettings):
    """How much one rater, and one network address, may do; 0 turns a limit off. Rates
    count in fixed windows in the limits cache (limits.py); caps count the database."""

    window_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="The window the rates below count in."
    )
    battles_per_rater = models.PositiveIntegerField(default=30, help_text="Follow-ups count too.")
    battles_per_ip = models.PositiveIntegerField(
        default=120, help_text="Many raters can share one address (a class, an office)."
    )
    new_raters_per_ip = models.PositiveIntegerField(
        default=60, help_text="New anonymous raters from one address: stops cookie-less floods."
    )
    votes_per_rater = models.PositiveIntegerField(default=30)
    votes_per_ip = models.PositiveIntegerField(default=120)
    runs_per_rater = models.PositiveIntegerField(default=60, help_text="Edited re-runs.")
    runs_per_ip = models.PositiveIntegerField(default=300)
    daily_votes_per_rater = models.PositiveIntegerField(default=200)
    concurrent_battles_per_rater = models.PositiveSmallIntegerField(
        default=3, help_text="Battles whose answers are still being written."
    )

    class Meta:
        verbose_name = "rater limits"
        verbose_name_plural = "rater limits"
