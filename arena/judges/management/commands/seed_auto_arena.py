"""The automatic arena's offline demo: the bundled prompt set (arena/judges/demo) and two
judges that need no model. Idempotent; run `seed_demo` first for the replay models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from arena.judges.autoarena import load_prompt_set
from arena.judges.models import Judge

DEMO_PROMPTS = Path(__file__).resolve().parents[2] / "demo" / "prompts.json"
DEMO_JUDGES = (
    (
        "demo-execution-judge",
        Judge.Rule.EXECUTION,
        "Offline demo judge: prefers the answer whose program ran OK (with execution only).",
    ),
    (
        "demo-length-judge",
        Judge.Rule.LONGER,
        "Offline demo judge: prefers the longer answer (a floor; blind to execution).",
    ),
)


class Command(BaseCommand):
    help = "Load the demo prompt set and the demo judges for the automatic arena."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        data = json.loads(DEMO_PROMPTS.read_text())
        prompt_set = load_prompt_set(data["name"], data["description"], data["prompts"])
        for name, rule, description in DEMO_JUDGES:
            Judge.objects.update_or_create(
                name=name,
                defaults={"kind": Judge.Kind.BASELINE, "rule": rule, "description": description},
            )
        self.stdout.write(
            f"Automatic arena demo ready: prompt set {prompt_set.name} "
            f"({prompt_set.prompts.count()} prompts), judges "
            + ", ".join(name for name, _rule, _text in DEMO_JUDGES)
        )
