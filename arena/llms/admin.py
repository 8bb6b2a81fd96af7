from __future__ import annotations

from django.contrib import admin

from arena.llms.models import LanguageModel


@admin.register(LanguageModel)
class LanguageModelAdmin(admin.ModelAdmin[LanguageModel]):
    list_display = (
        "name",
        "provider",
        "model_id",
        "organization",
        "sampling_weight",
        "is_active",
        "is_public",
        "consecutive_failures",
    )
    list_filter = ("provider", "is_active", "is_public", "organization")
    list_editable = ("sampling_weight", "is_active")
    search_fields = ("name", "model_id", "organization")
    readonly_fields = ("consecutive_failures", "created_at")
    filter_horizontal = ("battle_targets",)
    fieldsets = (
        (None, {"fields": ("name", "organization", "license", "description")}),
        (
            "Calling the model",
            {
                "fields": (
                    "provider",
                    "model_id",
                    "base_url",
                    "api_key_env",
                    "params",
                    "system_prompt",
                )
            },
        ),
        (
            "Sampling",
            {
                "fields": (
                    "sampling_weight",
                    "is_active",
                    "is_public",
                    "consecutive_failures",
                    "created_at",
                )
            },
        ),
    )
    actions = ("reactivate",)

    @admin.action(description="Reactivate and reset the failure count")
    def reactivate(self, request: object, queryset: object) -> None:
        queryset.update(is_active=True, consecutive_failures=0)  # type: ignore[attr-defined]
