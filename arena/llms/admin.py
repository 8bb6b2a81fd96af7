from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from arena.llms.models import LanguageModel

# A URL typed without a scheme means https (Django 6's default; saying it now also
# silences 5.2's deprecation warning). For every admin that edits ProviderFields.
URL_FIELD_OVERRIDES: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


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
        "battles",
    )
    list_filter = ("provider", "is_active", "is_public", "organization")
    list_editable = ("sampling_weight", "is_active")
    search_fields = ("name", "model_id", "organization")
    readonly_fields = ("consecutive_failures", "created_at")
    filter_horizontal = ("battle_targets",)
    formfield_overrides = URL_FIELD_OVERRIDES

    @admin.display(description="Battles")
    def battles(self, model: LanguageModel) -> SafeString:
        """To the battles this model fought, on either side (the battles admin's filter;
        a URL, not an import: the battles app sits above this one)."""
        url = reverse("admin:battles_battle_changelist") + f"?model={model.pk}"
        return format_html('<a href="{}">Battles of {}</a>', url, model.name)

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
