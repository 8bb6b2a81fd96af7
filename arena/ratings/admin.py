from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from arena.ratings.models import LeaderboardSnapshot
from arena.ratings.snapshots import refresh_leaderboards


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(admin.ModelAdmin[LeaderboardSnapshot]):
    list_display = ("scope", "computed_at", "n_votes")
    list_filter = ("scope",)
    readonly_fields = ("scope", "computed_at", "n_votes", "params", "data")
    actions = ("recompute_now",)

    @admin.action(description="Recompute all leaderboards now")
    def recompute_now(self, request: HttpRequest, queryset: object) -> None:
        written = refresh_leaderboards()
        self.message_user(request, f"Wrote {written} snapshots.", messages.SUCCESS)
