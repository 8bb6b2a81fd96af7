from __future__ import annotations

from django.contrib import admin

from arena.raters.models import Rater


@admin.register(Rater)
class RaterAdmin(admin.ModelAdmin[Rater]):
    list_display = ("uuid", "user", "is_blocked", "consented_at", "created_at")
    list_filter = ("is_blocked",)
    search_fields = ("uuid", "user__username", "user__email")
    readonly_fields = ("uuid", "created_at", "consented_at")
