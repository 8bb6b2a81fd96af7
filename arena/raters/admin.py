from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from arena.raters.models import ConsentTerms, Rater, RaterLimits
from arena.records import SingletonAdmin


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin[Rater]):
    list_display = ("uuid", "user", "is_blocked", "consented_at", "created_at")
    list_filter = ("is_blocked",)
    search_fields = ("uuid", "user__username", "user__email")
    readonly_fields = ("uuid", "user", "created_at", "consented_at", "consent_text")


@admin.register(ConsentTerms)
class ConsentTermsAdmin(admin.ModelAdmin[ConsentTerms]):
    """New terms are a new row: raters who agreed keep the text they saw."""

    list_display = ("__str__", "created_at")
    fields = ("text",)

    def has_change_permission(self, request: HttpRequest, obj: ConsentTerms | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: ConsentTerms | None = None) -> bool:
        return False


@admin.register(RaterLimits)
class RaterLimitsAdmin(SingletonAdmin):
    readonly_fields = ("updated_at",)
