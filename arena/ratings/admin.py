from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path
from django.views.decorators.http import require_POST

from arena.ratings import hygiene
from arena.ratings.models import LeaderboardSnapshot, RaterFlag, RatingsSettings
from arena.ratings.snapshots import refresh_leaderboards
from arena.records import SingletonAdmin


def _recompute(request: HttpRequest) -> None:
    written = refresh_leaderboards()
    messages.success(request, f"Recomputed the leaderboards: wrote {written} snapshots.")


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(admin.ModelAdmin[LeaderboardSnapshot]):
    list_display = ("scope", "window_days", "computed_at", "n_votes", "error")
    list_filter = ("scope", "window_days")
    readonly_fields = ("scope", "window_days", "computed_at", "n_votes", "params", "data")
    actions = ("recompute_now",)
    # Adds a "Recompute now" button: the action alone needs a selected row, and an empty
    # list (no snapshot yet) has none.
    change_list_template = "ratings/admin/snapshot_change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only the ratings job writes snapshots

    @admin.action(description="Recompute all leaderboards now")
    def recompute_now(self, request: HttpRequest, queryset: QuerySet[LeaderboardSnapshot]) -> None:
        _recompute(request)

    def get_urls(self) -> list[URLPattern]:
        recompute = self.admin_site.admin_view(require_POST(self.recompute_view))
        return [path("recompute/", recompute, name="ratings_recompute"), *super().get_urls()]

    def recompute_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("ratings.change_ratingssettings"):
            raise PermissionDenied
        _recompute(request)
        return redirect("admin:ratings_leaderboardsnapshot_changelist")


@admin.register(RatingsSettings)
class RatingsSettingsAdmin(SingletonAdmin):
    fields = ("min_votes", "recent_days", "on_demand_bootstrap", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(RaterFlag)
class RaterFlagAdmin(admin.ModelAdmin[RaterFlag]):
    """The review queue: the outlier job's flags, most suspicious first. Bulk actions
    invalidate a rater's votes, dismiss the flag, or undo either; every vote touched is
    in the vote audit trail (Battles › Vote audits)."""

    list_display = ("rater", "log_evidence", "votes_checked", "status", "reviewed_by", "created_at")
    list_filter = ("status",)
    search_fields = ("rater__uuid",)
    readonly_fields = list_display
    actions = ("invalidate_votes", "dismiss_flags", "undo_review")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RaterFlag | None = None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("battles.change_vote")

    @admin.action(description="Invalidate all votes of the selected raters", permissions=["review"])
    def invalidate_votes(self, request: HttpRequest, queryset: QuerySet[RaterFlag]) -> None:
        by = request.user.get_username()
        count = sum(hygiene.invalidate_flagged(flag, by=by) for flag in queryset)
        self.message_user(request, f"Invalidated {count} votes.")

    @admin.action(
        description="Dismiss the selected flags (the votes keep counting)", permissions=["review"]
    )
    def dismiss_flags(self, request: HttpRequest, queryset: QuerySet[RaterFlag]) -> None:
        for flag in queryset:
            hygiene.dismiss(flag, by=request.user.get_username())

    @admin.action(
        description="Undo the review: restore the votes it invalidated, reopen",
        permissions=["review"],
    )
    def undo_review(self, request: HttpRequest, queryset: QuerySet[RaterFlag]) -> None:
        results = [hygiene.undo(flag, by=request.user.get_username()) for flag in queryset]
        restored, refused = sum(r for r, _ in results), sum(f for _, f in results)
        self.message_user(
            request,
            f"Restored {restored} votes; {refused} could not be "
            "(their battle has another valid vote).",
        )
