from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from arena.ratings.hygiene import flag_outliers


class Command(BaseCommand):
    help = "Flag raters whose votes go against everyone else's (for review; changes no vote)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{flag_outliers()} open outlier flags written")
