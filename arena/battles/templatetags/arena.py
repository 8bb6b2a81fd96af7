from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from arena.battles.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return mark_safe(render_markdown(text or ""))  # sanitized by nh3 inside render_markdown


@register.filter
def ms(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"
