from __future__ import annotations

from django.apps import AppConfig


class LlmsConfig(AppConfig):
    name = "arena.llms"
    label = "llms"
