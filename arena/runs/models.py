from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from executors.environments import (
    BROWSER_ENVIRONMENTS,
    ENVIRONMENT_LABELS,
    INTERPRETER,
    SERVER_APPS,
    language_labels,
)


def new_preview_token() -> str:
    """The capability in a preview's URL: unguessable, one per execution."""
    return secrets.token_urlsafe(24)


class Execution(models.Model):
    """One run of a program in the sandbox. Edit-and-re-run makes a new row.

    Runs know nothing of battles: an execution belongs to an `owner` (a battle's answer
    today, an automatic-arena answer tomorrow), which learns of every change through
    the `execution_changed` signal (signals.py)."""

    class Status(models.TextChoices):
        # The job's own states: before the sandbox answers, and when the job itself died.
        QUEUED = "queued"
        RUNNING = "running"
        FAILED = "failed"  # the worker restarted mid-run; `error` says why
        # The sandbox's outcomes, one for one (executors.STATUSES; a test ties the two).
        OK = "ok"
        COMPILE_ERROR = "compile_error"
        RUNTIME_ERROR = "runtime_error"
        TIMEOUT = "timeout"
        MEMORY_LIMIT = "memory_limit"
        OUTPUT_LIMIT = "output_limit"
        SANDBOX_ERROR = "sandbox_error"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    class AppState(models.TextChoices):
        """A server app's life after its run turned OK (arena/runs/live_apps.py)."""

        NONE = "", "not an app"
        LIVE = "live"  # answering through its bridge
        STOPPING = "stopping"  # asked to stop; the process holding it does so
        STOPPED = "stopped"  # gone; `app_message` says why

    LIVE_APP_STATES = (AppState.LIVE, AppState.STOPPING)

    owner_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    owner_id = models.PositiveBigIntegerField()
    owner = GenericForeignKey("owner_type", "owner_id")
    code = models.TextField()
    language = models.CharField(max_length=30, choices=list(language_labels().items()))
    environment = models.CharField(
        max_length=30, choices=list(ENVIRONMENT_LABELS.items()), default=INTERPRETER
    )
    is_edited = models.BooleanField(default=False, help_text="The rater changed the code.")
    stdin = models.TextField(blank=True, help_text="Standard input the rater gave the program.")
    packages = models.JSONField(
        default=list, blank=True, help_text="Python requirements the answer or the rater asked for."
    )
    packages_note = models.CharField(
        max_length=500, blank=True, help_text="Where each requested package came from."
    )
    preview_token = models.CharField(max_length=64, unique=True, default=new_preview_token)
    preview_side = models.CharField(
        max_length=1,
        choices=[("a", "A"), ("b", "B")],
        default="a",
        help_text="Which preview origin serves its page or app (PREVIEW_ORIGINS): the owner's "
        "side of a battle, so the two sides' previews are never same-origin.",
    )
    page = models.TextField(blank=True, help_text="The built document a preview serves.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    stdout_truncated = models.BooleanField(default=False)
    stderr_truncated = models.BooleanField(default=False)
    exit_code = models.IntegerField(null=True, blank=True)
    signal = models.IntegerField(null=True, blank=True)
    wall_ms = models.PositiveIntegerField(null=True, blank=True)
    cpu_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True, help_text="Worker that ran it.")
    holder = models.CharField(
        max_length=100, blank=True, help_text="Who the owner says may use a server app."
    )
    app_state = models.CharField(max_length=10, choices=AppState.choices, blank=True)
    app_socket = models.CharField(max_length=300, blank=True, help_text="The app's bridge.")
    app_seen_at = models.DateTimeField(null=True, blank=True, help_text="Last proxied use.")
    app_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["owner_type", "owner_id"], name="execution_owner")]

    def __str__(self) -> str:
        return f"execution {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def is_browser_rendered(self) -> bool:
        """A page the rater's browser renders (a preview), not a console run."""
        return self.environment in BROWSER_ENVIRONMENTS

    @property
    def has_preview(self) -> bool:
        return self.is_browser_rendered and self.status == self.Status.OK and bool(self.page)

    @property
    def is_app(self) -> bool:
        """A server app (Streamlit, Gradio) served through the app proxy."""
        return self.environment in SERVER_APPS

    @property
    def app_is_live(self) -> bool:
        return self.status == self.Status.OK and self.app_state == self.AppState.LIVE

    @property
    def app_path(self) -> str:
        """Where the app lives on the preview origin (its base URL path)."""
        return f"/a/{self.preview_token}"

    @property
    def app_url(self) -> str:
        """The app's frame URL for the owner's page, with a fresh ticket (app_proxy.py).
        Render it only for whom the owner lets use the app."""
        from arena.runs.app_proxy import app_launch_url  # it imports this module

        return app_launch_url(self)

    @property
    def preview_origin(self) -> str:
        """Where its page or app is served: its side's origin, never the arena's."""
        return settings.PREVIEW_ORIGINS[self.preview_side]

    @property
    def preview_url(self) -> str:
        return f"{self.preview_origin}/p/{self.preview_token}/"


class Artifact(models.Model):
    """A file the program wrote (a plot, a CSV), size-capped by the executor."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="artifacts")
    name = models.CharField(max_length=255)
    mime = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_image(self) -> bool:
        return self.mime in ("image/png", "image/jpeg", "image/gif", "image/svg+xml")


class PreviewEvent(models.Model):
    """What the rater did inside a preview (or what the page did wrong), as the preview
    bridge reported it (executors/runtime/preview-bridge.js). Research data."""

    class Kind(models.TextChoices):
        LOAD = "load"
        CLICK = "click"
        KEY = "key"
        SCROLL = "scroll"
        RESIZE = "resize"
        ERROR = "error"
        BLOCKED = "blocked"  # the page tried something its policy forbids

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    client_at = models.DateTimeField(null=True, blank=True, help_text="The page's clock.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} in {self.execution}"
