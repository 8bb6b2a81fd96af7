"""How the arena's own records behave, whatever app they belong to.

- Recorded evidence (what raters, models and programs did) is shown in admin, never
  edited, added or deleted by hand: `ReadOnlyEvidence`. Votes keep one way to act on
  them, their invalidate action; everything else only reads.
- Settings edited in admin are one row each: `SingletonSettings` and `SingletonAdmin`.
"""

from __future__ import annotations

from typing import Any, Self

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


class ReadOnlyEvidence:
    """Mixed into a ModelAdmin or an inline ahead of it: the change page becomes a view page."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SingletonSettings(models.Model):
    """A settings row: every save edits the one row, and reading never writes."""

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self._meta.verbose_name).capitalize()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> Self:
        """The stored row, or unsaved defaults (a GET never writes)."""
        return cls._default_manager.filter(pk=1).first() or cls(pk=1)


class SingletonAdmin(admin.ModelAdmin[Any]):
    """One row: the list page goes straight to it; it is never added or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self.model._default_manager.get_or_create(pk=1)
        meta = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[1])
        )
