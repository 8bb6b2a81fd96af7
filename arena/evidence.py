"""Recorded evidence in admin: what raters, models and programs did is shown, never
edited, added or deleted by hand. Votes keep one way to act on them, their own
invalidate action (with an audit trail); everything else only reads."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyEvidence:
    """Mixed into a ModelAdmin or an inline ahead of it: the change page becomes a view page."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
