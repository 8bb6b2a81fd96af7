from __future__ import annotations

from django.apps import AppConfig


class RatersConfig(AppConfig):
    name = "arena.raters"
    label = "raters"
