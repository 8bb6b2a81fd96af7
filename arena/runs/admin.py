from __future__ import annotations

from django.contrib import admin

from arena.runs.models import Artifact, Execution, PreviewEvent


class ArtifactInline(admin.TabularInline[Artifact, Execution]):
    model = Artifact
    extra = 0
    fields = readonly_fields = ("name", "mime", "size", "sha256")
    can_delete = False


class PreviewEventInline(admin.TabularInline[PreviewEvent, Execution]):
    """What the rater did inside the preview, in order (telemetry of the preview bridge)."""

    model = PreviewEvent
    extra = 0
    fields = readonly_fields = ("received_at", "client_at", "kind", "data")
    can_delete = False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin[Execution]):
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
    readonly_fields = (
        "owner_type",
        "owner_id",
        "claimed_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    inlines = (ArtifactInline, PreviewEventInline)
    list_select_related = ("owner_type",)
