from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.http import HttpRequest

from arena.battles.models import (
    Battle,
    InteractionEvent,
    Response,
    SuggestedPrompt,
    Turn,
    Vote,
)
from arena.runs.models import Execution


class TurnInline(admin.TabularInline[Turn, Battle]):
    model = Turn
    extra = 0
    fields = ("index", "prompt", "created_at")
    readonly_fields = fields
    can_delete = False


class VoteInline(admin.TabularInline[Vote, Battle]):
    model = Vote
    extra = 0
    fields = ("winner", "is_valid", "invalid_reason", "created_at")
    readonly_fields = ("winner", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Battle | None = None) -> bool:
        return False


@admin.register(Battle)
class BattleAdmin(admin.ModelAdmin[Battle]):
    list_display = (
        "id",
        "created_at",
        "model_a",
        "model_b",
        "status",
        "category",
        "language",
        "is_anonymous",
        "sampling_prob",
    )
    list_filter = ("status", "is_anonymous", "category", "language", "environment", "model_a")
    search_fields = ("id", "turns__prompt", "model_a__name", "model_b__name")
    readonly_fields = (
        "id",
        "rater",
        "model_a",
        "model_b",
        "sampling_prob",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    inlines = (TurnInline, VoteInline)
    list_select_related = ("model_a", "model_b")


class ExecutionInline(GenericTabularInline):
    """The runs of an answer's program (the model's and the rater's edits)."""

    model = Execution
    ct_field = "owner_type"
    ct_fk_field = "owner_id"
    extra = 0
    fields = ("language", "environment", "status", "is_edited", "wall_ms", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin[Response]):
    list_display = (
        "id",
        "turn",
        "side",
        "model",
        "status",
        "ttft_ms",
        "total_ms",
        "output_tokens",
        "code_language",
    )
    list_filter = ("status", "side", "model", "code_language")
    search_fields = ("text", "error", "turn__battle__id")
    readonly_fields = (
        "turn",
        "side",
        "model",
        "claimed_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    list_select_related = ("turn", "model")
    inlines = (ExecutionInline,)


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin[Vote]):
    """Votes are append-only: admins can only mark one invalid, with a reason."""

    list_display = ("id", "battle", "winner", "is_valid", "invalid_reason", "created_at")
    list_filter = ("winner", "is_valid")
    search_fields = ("battle__id", "invalid_reason")
    readonly_fields = ("battle", "rater", "winner", "feedback", "created_at")
    actions = ("invalidate",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Vote | None = None) -> bool:
        return False

    @admin.action(description="Mark selected votes invalid (admin review)")
    def invalidate(self, request: HttpRequest, queryset: object) -> None:
        for vote in queryset:  # type: ignore[attr-defined]
            vote.invalidate(f"invalidated by {request.user} in admin")


@admin.register(InteractionEvent)
class InteractionEventAdmin(admin.ModelAdmin[InteractionEvent]):
    list_display = ("id", "battle", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("battle__id",)


@admin.register(SuggestedPrompt)
class SuggestedPromptAdmin(admin.ModelAdmin[SuggestedPrompt]):
    list_display = ("text", "category", "language", "is_active")
    list_filter = ("category", "language", "is_active")
    list_editable = ("is_active",)
    search_fields = ("text",)
