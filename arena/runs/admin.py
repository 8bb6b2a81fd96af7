from __future__ import annotations

from django.contrib import admin

from arena.records import ReadOnlyEvidence
from arena.runs.models import Artifact, Execution, PreviewEvent


class ArtifactInline(ReadOnlyEvidence, admin.TabularInline[Artifact, Execution]):
    model = Artifact
    extra = 0
    fields = ("name", "mime", "size", "sha256")


class PreviewEventInline(ReadOnlyEvidence, admin.TabularInline[PreviewEvent, Execution]):
    """What the rater did inside the preview, in order (telemetry of the preview bridge)."""

    model = PreviewEvent
    extra = 0
    fields = ("received_at", "client_at", "kind", "data")


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyEvidence, admin.ModelAdmin[Execution]):
    list_display = (
        "id",
        "owner_type",
        "owner_id",
        "language",
        "environment",
        "status",
        "wall_ms",
        "is_edited",
        "created_at",
    )
    list_filter = ("status", "language", "environment", "is_edited", "owner_type")
    search_fields = ("code", "stdout", "stderr", "=owner_id")
    inlines = (ArtifactInline, PreviewEventInline)
    list_select_related = ("owner_type",)
