"""Create the demo models and the suggested-request pool from the shipped catalogue.
Idempotent: run it again after the catalogue changes; admin edits to weights and
flags are kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from arena.battles.models import SuggestedPrompt
from arena.llms.demo import load_demo_catalog
from arena.llms.models import LanguageModel


class Command(BaseCommand):
    help = "Create the replay demo models and suggested requests (offline, no API keys)."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        catalog = load_demo_catalog()
        for model in catalog.models:
            LanguageModel.objects.update_or_create(
                name=model.name,
                defaults={
                    "provider": LanguageModel.Provider.REPLAY,
                    "model_id": model.name,
                    "organization": model.organization,
                    "license": model.license,
                    "description": model.description,
                },
            )
        for request in catalog.requests:
            SuggestedPrompt.objects.update_or_create(
                text=request.prompt,
                defaults={"category": request.category, "language": request.language},
            )
        self.stdout.write(
            f"Demo ready: {len(catalog.models)} models, {len(catalog.requests)} suggested requests."
        )
