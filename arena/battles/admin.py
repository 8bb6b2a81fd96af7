from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from arena.battles.models import (
    AgreementSettings,
    Battle,
    InteractionEvent,
    Response,
    SuggestedPrompt,
    Turn,
    Vote,
    VoteAudit,
)
from arena.battles.selectors import agreement_report
from arena.llms.models import LanguageModel
from arena.records import ReadOnlyEvidence, SingletonAdmin
from arena.runs.models import Execution


class TurnInline(ReadOnlyEvidence, admin.TabularInline[Turn, Battle]):
    model = Turn
    extra = 0
    fields = ("index", "prompt", "created_at")


class VoteInline(ReadOnlyEvidence, admin.TabularInline[Vote, Battle]):
    model = Vote
    extra = 0
    fields = ("winner", "is_valid", "invalid_reason", "created_at")
    show_change_link = True


class ModelFilter(admin.SimpleListFilter):
    """Battles (or votes on battles) where a model took either side."""

    title = "model (either side)"
    parameter_name = "model"
    prefix = ""  # "battle__" on votes

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        return [(str(pk), name) for pk, name in LanguageModel.objects.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:  # type: ignore[type-arg]
        if not self.value():
            return queryset
        p = self.prefix
        return queryset.filter(
            Q(**{f"{p}model_a": self.value()}) | Q(**{f"{p}model_b": self.value()})
        )


class VoteModelFilter(ModelFilter):
    prefix = "battle__"


@admin.register(Battle)
class BattleAdmin(ReadOnlyEvidence, admin.ModelAdmin[Battle]):
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
        "replay_of",
    )
    list_filter = (
        ModelFilter,
        "status",
        "is_anonymous",
        "sides_swapped",
        ("replay_of", admin.EmptyFieldListFilter),
        "category",
        "language",
        "environment",
    )
    search_fields = ("id", "turns__prompt", "model_a__name", "model_b__name")
    date_hierarchy = "created_at"
    inlines = (TurnInline, VoteInline)
    list_select_related = ("model_a", "model_b")
    readonly_fields = ("transcript",)

    @admin.display(description="Turns, answers and runs")
    def transcript(self, battle: Battle) -> SafeString:
        """The whole battle as the rater saw it, read-only: each turn's request, both
        answers with their status and timing, and every run of their programs."""
        runs = Prefetch("executions", queryset=Execution.objects.order_by("created_at"))
        answers = Prefetch(
            "responses", queryset=Response.objects.select_related("model").prefetch_related(runs)
        )
        turns = battle.turns.order_by("index").prefetch_related(answers)
        return render_to_string("battles/admin_transcript.html", {"turns": turns})


class ExecutionInline(ReadOnlyEvidence, GenericTabularInline):
    """The runs of an answer's program (the model's and the rater's edits)."""

    model = Execution
    ct_field = "owner_type"
    ct_fk_field = "owner_id"
    extra = 0
    fields = ("language", "environment", "status", "is_edited", "wall_ms", "created_at")
    show_change_link = True


@admin.register(Response)
class ResponseAdmin(ReadOnlyEvidence, admin.ModelAdmin[Response]):
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
    list_select_related = ("turn", "model")
    inlines = (ExecutionInline,)


class VoteAuditInline(ReadOnlyEvidence, admin.TabularInline[VoteAudit, Vote]):
    model = VoteAudit
    extra = 0
    fields = ("created_at", "action", "by", "reason")


@admin.register(Vote)
class VoteAdmin(ReadOnlyEvidence, admin.ModelAdmin[Vote]):
    """Votes are append-only: admins can mark one invalid, or undo that, never edit it.
    Every invalidation and undo is in the vote's audit trail."""

    list_display = (
        "id",
        "battle_link",
        "model_a",
        "model_b",
        "winner",
        "winner_name",
        "is_valid",
        "invalid_reason",
        "created_at",
    )
    list_filter = (VoteModelFilter, "winner", "is_valid", "battle__category")
    list_select_related = ("battle__model_a", "battle__model_b")
    search_fields = (
        "battle__id",
        "invalid_reason",
        "battle__model_a__name",
        "battle__model_b__name",
    )
    date_hierarchy = "created_at"
    actions = ("invalidate", "restore")
    inlines = (VoteAuditInline,)

    @admin.display(description="Battle", ordering="battle")
    def battle_link(self, vote: Vote) -> SafeString:
        url = reverse("admin:battles_battle_change", args=[vote.battle_id])
        return format_html('<a href="{}">{}</a>', url, str(vote.battle_id)[:8])

    @admin.display(description="Model A", ordering="battle__model_a__name")
    def model_a(self, vote: Vote) -> str:
        return vote.battle.model_a.name

    @admin.display(description="Model B", ordering="battle__model_b__name")
    def model_b(self, vote: Vote) -> str:
        return vote.battle.model_b.name

    @admin.display(description="Winner's name")
    def winner_name(self, vote: Vote) -> str:
        """The winning model by name; "–" for a tie or both bad."""
        side = {"model_a": "a", "model_b": "b"}.get(vote.winner)
        return vote.battle.model_for(side).name if side else "–"

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("battles.change_vote")

    @admin.action(description="Mark selected votes invalid (admin review)", permissions=["review"])
    def invalidate(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        for vote in queryset.filter(is_valid=True):
            vote.invalidate("admin review", by=request.user.get_username())

    @admin.action(description="Undo: count the selected votes again", permissions=["review"])
    def restore(self, request: HttpRequest, queryset: QuerySet[Vote]) -> None:
        refused = [
            vote.pk
            for vote in queryset.filter(is_valid=False)
            if not vote.restore("undone in admin", by=request.user.get_username())
        ]
        if refused:
            self.message_user(
                request,
                f"Not restored (another valid vote holds the battle): {refused}",
                level=messages.WARNING,
            )


@admin.register(VoteAudit)
class VoteAuditAdmin(ReadOnlyEvidence, admin.ModelAdmin[VoteAudit]):
    """The trail of every invalidation and undo."""

    list_display = ("created_at", "vote", "action", "by", "reason")
    list_filter = ("action", "by")
    search_fields = ("vote__battle__id", "reason", "by")
    date_hierarchy = "created_at"


@admin.register(InteractionEvent)
class InteractionEventAdmin(ReadOnlyEvidence, admin.ModelAdmin[InteractionEvent]):
    list_display = ("id", "battle", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("battle__id",)


@admin.register(SuggestedPrompt)
class SuggestedPromptAdmin(admin.ModelAdmin[SuggestedPrompt]):
    list_display = ("text", "category", "language", "is_active")
    list_filter = ("category", "language", "is_active")
    list_editable = ("is_active",)
    search_fields = ("text",)


@admin.register(AgreementSettings)
class AgreementSettingsAdmin(SingletonAdmin):
    """The replay settings, with the agreement they measured below the form."""

    fields = ("replay_share", "replays_per_battle", "updated_at")
    readonly_fields = ("updated_at",)
    change_form_template = "battles/admin/agreement.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {**(extra_context or {}), "report": agreement_report()}
        return super().change_view(request, object_id, form_url, extra_context=context)
