from __future__ import annotations

from django.contrib import admin

from arena.runs.models import Artifact, Execution


class ArtifactInline(admin.TabularInline[Artifact, Execution]):
    model = Artifact
    extra = 0
    fields = ("name", "mime", "size", "sha256")
    readonly_fields = fields
    can_delete = False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin[Execution]):
    list_display = (
        "id",
        "response",
        "language",
        "environment",
        "status",
        "wall_ms",
        "is_edited",
        "created_at",
    )
    list_filter = ("status", "language", "environment", "is_edited")
    search_fields = ("code", "stdout", "stderr", "response__turn__battle__id")
    readonly_fields = ("response", "claimed_by", "created_at", "started_at", "finished_at")
    inlines = (ArtifactInline,)
    list_select_related = ("response",)
