from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from arena.judges.models import (
    AutoAnswer,
    AutoArenaRun,
    AutoJudgement,
    AutoPrompt,
    Judge,
    Judgement,
    JudgeReport,
    JudgingRun,
    PromptSet,
)
from arena.judges.services import Selection, run_start
from arena.llms.admin import URL_FIELD_OVERRIDES


@admin.register(Judge)
class JudgeAdmin(admin.ModelAdmin[Judge]):
    """Judges are configured here; runs start from the research page or the action."""

    list_display = ("name", "kind", "provider", "model_id", "rule", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "model_id")
    actions = ("judge_every_counted_vote",)
    formfield_overrides = URL_FIELD_OVERRIDES
    fieldsets = (
        (None, {"fields": ("name", "kind", "description", "is_active")}),
        (
            "LLM judge",
            {
                "fields": (
                    "provider",
                    "model_id",
                    "base_url",
                    "api_key_env",
                    "params",
                    "system_prompt",
                    "prompt_with_execution",
                    "prompt_without_execution",
                    "send_screenshots",
                    "input_usd_per_mtok",
                    "output_usd_per_mtok",
                )
            },
        ),
        (
            "Reward model",
            {"fields": ("endpoint_url", "request_template", "score_path", "tie_margin")},
        ),
        ("Baseline", {"fields": ("rule", "seed")}),
        ("Dispatch", {"fields": ("concurrency", "requests_per_minute", "timeout_s")}),
    )

    @admin.action(description="Judge every counted vote (with and without execution)")
    def judge_every_counted_vote(self, request: HttpRequest, queryset: QuerySet[Judge]) -> None:
        for judge in queryset:
            run_start(judge=judge, selection=Selection(), user=request.user)
        self.message_user(request, f"Started {queryset.count()} run(s).", messages.SUCCESS)


@admin.register(JudgingRun)
class JudgingRunAdmin(admin.ModelAdmin[JudgingRun]):
    list_display = ("id", "judge", "modes", "status", "done", "failed", "total", "created_at")
    list_filter = ("status", "judge")
    readonly_fields = [f.name for f in JudgingRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a run's battle set is chosen by run_start, not typed in


@admin.register(Judgement)
class JudgementAdmin(admin.ModelAdmin[Judgement]):
    list_display = ("id", "judge", "battle", "order", "evidence", "status", "label", "is_parsed")
    list_filter = ("judge", "status", "evidence", "is_parsed", "parse_format")
    readonly_fields = [f.name for f in Judgement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(JudgeReport)
class JudgeReportAdmin(admin.ModelAdmin[JudgeReport]):
    list_display = ("id", "judge", "run", "battle_hash", "computed_at")
    readonly_fields = ("judge", "run", "battle_hash", "computed_at")
    exclude = ("battle_ids", "data", "rows")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AutoPromptInline(admin.TabularInline[AutoPrompt, PromptSet]):
    model = AutoPrompt
    extra = 1


@admin.register(PromptSet)
class PromptSetAdmin(admin.ModelAdmin[PromptSet]):
    """Prompt sets of the automatic arena; runs start from its research page."""

    list_display = ("name", "description", "created_at")
    inlines = (AutoPromptInline,)


@admin.register(AutoArenaRun)
class AutoArenaRunAdmin(admin.ModelAdmin[AutoArenaRun]):
    list_display = ("id", "prompt_set", "judge", "baseline", "modes", "status", "done", "total")
    list_filter = ("status", "judge")
    readonly_fields = [f.name for f in AutoArenaRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started from /research/judges/auto/ or `manage.py auto_arena`


@admin.register(AutoAnswer)
class AutoAnswerAdmin(admin.ModelAdmin[AutoAnswer]):
    list_display = ("id", "prompt", "model", "status", "code_language", "environment")
    list_filter = ("status", "model")
    readonly_fields = [f.name for f in AutoAnswer._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AutoJudgement)
class AutoJudgementAdmin(admin.ModelAdmin[AutoJudgement]):
    list_display = ("id", "judge", "answer", "order", "evidence", "status", "label", "is_parsed")
    list_filter = ("judge", "status", "evidence", "is_parsed")
    readonly_fields = [f.name for f in AutoJudgement._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
