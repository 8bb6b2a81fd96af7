from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

TOKEN_PREFIX = "cae_"


def new_release_secret() -> str:
    return secrets.token_hex(32)


class Export(models.Model):
    """One release of the vote dataset: filters in, a zip (data + manifest + card) out.

    Researchers (staff, or users with `exports.view_export`) start them from the
    research page or admin; a background job writes the files.
    """

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines"
        PARQUET = "parquet", "Parquet"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    format = models.CharField(max_length=10, choices=Format.choices, default=Format.PARQUET)
    filters = models.JSONField(default=dict, blank=True, help_text="ExportFilters.to_dict().")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    # The per-release pseudonym key: kept so the release can be rebuilt byte for byte,
    # never shown or served (rater ids stay unlinkable to other releases).
    secret = models.CharField(max_length=64, default=new_release_secret, editable=False)
    archive = models.CharField(max_length=200, blank=True, help_text="Zip, under EXPORTS_DIR.")
    archive_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    claimed_by = models.CharField(max_length=200, blank=True, help_text="Worker that wrote it.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.status})"

    @property
    def name(self) -> str:
        return f"code-arena-votes-{self.pk:06d}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)

    @property
    def filters_label(self) -> str:
        """ "category=web, valid_only" for lists; "all votes" when nothing narrows it."""
        parts = [
            key
            if value is True
            else f"{key}={','.join(value) if isinstance(value, list) else value}"
            for key, value in sorted((self.filters or {}).items())
            if value
        ]
        return ", ".join(parts) or "all votes"

    def get_download_url(self) -> str:
        return reverse("arena-export-download", args=[self.pk])


class ApiToken(models.Model):
    """A bearer token for the research API. Only its sha256 is stored; the token itself
    is shown once, when an admin creates it."""

    name = models.CharField(max_length=100, help_text="Who or what uses it.")
    prefix = models.CharField(max_length=12, editable=False, help_text="To recognise it.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        # Tokens are 256 random bits: a plain hash cannot be brute-forced, so no slow KDF.
        return hashlib.sha256(token.encode()).hexdigest()

    def issue(self) -> str:
        """Set a fresh token on this (unsaved or rotated) row; return the plaintext."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.prefix, self.digest = token[:12], self.digest_of(token)
        return token

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
