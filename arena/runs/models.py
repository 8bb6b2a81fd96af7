from __future__ import annotations

from django.db import models
from django.utils import timezone

from arena.battles.models import Response


class Execution(models.Model):
    """One run of a response's code in the sandbox. Edit-and-re-run makes a new row."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        OK = "ok"
        COMPILE_ERROR = "compile_error"
        RUNTIME_ERROR = "runtime_error"
        TIMEOUT = "timeout"
        MEMORY_LIMIT = "memory_limit"
        OUTPUT_LIMIT = "output_limit"
        SANDBOX_ERROR = "sandbox_error"
        FAILED = "failed"  # the job itself died (worker restart); `error` says why

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="executions")
    code = models.TextField()
    language = models.CharField(max_length=30)
    environment = models.CharField(max_length=30, default="interpreter")
    is_edited = models.BooleanField(default=False, help_text="The rater changed the code.")
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
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"execution {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED


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
