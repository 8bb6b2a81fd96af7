from __future__ import annotations

from django.http import HttpRequest


def csp_nonce(request: HttpRequest) -> dict[str, object]:
    """django-htmx's {% htmx_script %} reads `csp_nonce`; django-csp 4 puts it on the request."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
