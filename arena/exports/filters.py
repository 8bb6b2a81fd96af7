"""Which votes an export holds. One definition for the command, the page and admin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from arena.battles.models import Vote
from arena.llms.models import LanguageModel
from arena.ratings.snapshots import counted_votes
from arena.vocabulary import EARLIEST_DAY, LATEST_DAY, day_in_range


class FilterError(ValueError):
    """A filter a person typed is wrong; the message says how, in one line."""


@dataclass(frozen=True)
class ExportFilters:
    """Dates are UTC days, both ends included. `models`: battles where either side is one.

    `counted_only` selects exactly the votes the leaderboards count (valid, anonymous,
    finished battle): the round trip to a site snapshot uses it.
    """

    since: date | None = None
    until: date | None = None
    models: tuple[str, ...] = field(default=())
    category: str = ""
    language: str = ""
    environment: str = ""
    valid_only: bool = False
    anonymous_only: bool = False
    counted_only: bool = False

    def __post_init__(self) -> None:
        for day in (self.since, self.until):
            if day and not day_in_range(day):
                raise FilterError(f"dates must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        if self.since and self.until and self.since > self.until:
            raise FilterError(f"the start date {self.since} is after the end date {self.until}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and canonical: stored on Export rows, printed in manifests and cards."""
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "models": sorted(self.models),
            "category": self.category,
            "language": self.language,
            "environment": self.environment,
            "valid_only": self.valid_only,
            "anonymous_only": self.anonymous_only,
            "counted_only": self.counted_only,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportFilters:
        return cls(
            since=parse_day(data.get("since"), "since"),
            until=parse_day(data.get("until"), "until"),
            models=tuple(sorted(data.get("models") or ())),
            category=str(data.get("category") or ""),
            language=str(data.get("language") or ""),
            environment=str(data.get("environment") or ""),
            valid_only=bool(data.get("valid_only")),
            anonymous_only=bool(data.get("anonymous_only")),
            counted_only=bool(data.get("counted_only")),
        )

    def votes(self) -> QuerySet[Vote]:
        votes = counted_votes() if self.counted_only else Vote.objects.all()
        if self.since:
            votes = votes.filter(created_at__gte=_midnight(self.since))
        if self.until:
            votes = votes.filter(created_at__lt=_midnight(self.until + timedelta(days=1)))
        if self.models:
            names = list(self.models)
            votes = votes.filter(
                Q(battle__model_a__name__in=names) | Q(battle__model_b__name__in=names)
            )
        for name in ("category", "language", "environment"):
            value = getattr(self, name)
            if value:
                votes = votes.filter(**{f"battle__{name}": value})
        if self.valid_only:
            votes = votes.filter(is_valid=True)
        if self.anonymous_only:
            votes = votes.filter(battle__is_anonymous=True)
        return votes

    def check_models_exist(self) -> None:
        known = set(
            LanguageModel.objects.filter(name__in=self.models).values_list("name", flat=True)
        )
        unknown = sorted(set(self.models) - known)
        if unknown:
            raise FilterError(f"unknown model(s): {', '.join(unknown)}")


def parse_day(value: object, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FilterError(f"{label}: expected a date like 2026-01-31, got {value!r}") from None


def split_names(values: Iterable[str]) -> tuple[str, ...]:
    """`--models a,b --models c` and a textarea both become ('a', 'b', 'c')."""
    names = {name.strip() for value in values for name in value.replace("\n", ",").split(",")}
    return tuple(sorted(name for name in names if name))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
