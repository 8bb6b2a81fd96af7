from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html

from arena import jobs
from arena.exports.filters import ExportFilters
from arena.exports.forms import ExportAdminForm
from arena.exports.models import ApiToken, Export
from arena.exports.services import EXPORT_JOB, export_start


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin[Export]):
    """Adding an export starts its job; finished ones download from the list."""

    list_display = (
        "id",
        "format",
        "status",
        "rows_done",
        "created_by",
        "created_at",
        "finished_at",
        "download",
    )
    list_filter = ("status", "format")
    readonly_fields = (
        "format",
        "filters",
        "status",
        "rows_total",
        "rows_done",
        "error",
        "archive",
        "archive_bytes",
        "archive_sha256",
        "created_by",
        "claimed_by",
        "created_at",
        "started_at",
        "finished_at",
    )
    actions = ("run_again",)

    def get_form(
        self, request: HttpRequest, obj: Export | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ExportAdminForm
            kwargs["fields"] = list(ExportAdminForm.base_fields)
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Export | None = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Export | None = None) -> Any:
        if obj is None:
            return list(ExportAdminForm.base_fields)
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Export, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        if not change:
            jobs.enqueue(EXPORT_JOB, obj.pk)

    @admin.display(description="file")
    def download(self, obj: Export) -> str:
        if obj.status != Export.Status.DONE:
            return "–"
        return format_html('<a href="{}">{}.zip</a>', obj.get_download_url(), obj.name)

    @admin.action(description="Export again with the same filters (new release)")
    def run_again(self, request: HttpRequest, queryset: QuerySet[Export]) -> None:
        for export in queryset:
            export_start(
                fmt=export.format,
                filters=ExportFilters.from_dict(export.filters),
                user=request.user,
            )
        self.message_user(request, f"Started {queryset.count()} export(s).", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """The token is shown once, on the page after "Save"; only its hash is stored."""

    list_display = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    fields = ("name", *readonly_fields)
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
            # Kept on the request only: rendered once by response_add, never stored.
            request._new_api_token = obj.issue()  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: Any = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "plaintext": request._new_api_token,  # type: ignore[attr-defined]
            "opts": self.model._meta,
            "title": "API token created",
        }
        return render(request, "exports/token_created.html", context)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
