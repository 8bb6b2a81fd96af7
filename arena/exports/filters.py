"""Which votes an export holds: declared once (ExportFilters), for the command, the page,
admin and the stored JSON of a job."""

from __future__ import annotations

from abc import ABC, abstractmethod
from argparse import ArgumentParser
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import CharField, Q, QuerySet

from arena.battles.models import Battle, Vote
from arena.llms.models import LanguageModel
from arena.ratings.snapshots import counted_votes
from arena.vocabulary import EARLIEST_DAY, LATEST_DAY, day_in_range


class FilterError(ValueError):
    """A filter a person typed is wrong; the message says how, in one line."""


FILTER = "filter"  # the key of a field's Filter in its dataclass metadata


class Filter(ABC):
    """One kind of filter: its Python value, how it is parsed and stored, and how the form
    and the command ask for it. The filters themselves are the fields of ExportFilters."""

    default: Any = None

    def __init__(self, label: str, help_text: str = "", *, option: str = "") -> None:
        self.label, self.help_text, self.option = label, help_text, option

    def field(self) -> Any:
        """The dataclass field of this filter (typed as Any so that mypy takes it as a default)."""
        return field(default=self.default, metadata={FILTER: self})

    @abstractmethod
    def parse(self, value: object, label: str) -> Any:
        """From stored JSON, a form's cleaned data or the command's options (None: unset)."""

    def to_json(self, value: Any) -> Any:
        return value

    @abstractmethod
    def form_field(self) -> forms.Field: ...

    def add_option(self, parser: ArgumentParser, name: str) -> None:
        parser.add_argument(self.flag(name), dest=name, help=self.help_text or self.label)

    def flag(self, name: str) -> str:
        return self.option or "--" + name.replace("_", "-")


class Day(Filter):
    """A UTC day, or None."""

    def parse(self, value: object, label: str) -> date | None:
        return parse_day(value, label)

    def to_json(self, value: date | None) -> str | None:
        return value.isoformat() if value else None

    def form_field(self) -> forms.Field:
        return forms.DateField(
            required=False,
            label=self.label,
            help_text=self.help_text,
            widget=forms.DateInput(attrs={"type": "date"}),
        )

    def add_option(self, parser: ArgumentParser, name: str) -> None:
        parser.add_argument(self.flag(name), dest=name, metavar="YYYY-MM-DD", help=self.help_text)


class ModelNames(Filter):
    """Public model names, sorted; () selects all."""

    default = ()

    def parse(self, value: object, label: str) -> tuple[str, ...]:
        if not value:
            return ()
        if isinstance(value, str):
            return split_names([value])
        if isinstance(value, Iterable):
            return split_names(str(name) for name in value)
        raise FilterError(f"{label}: expected model names, got {value!r}")

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return sorted(value)

    def form_field(self) -> forms.Field:
        return forms.MultipleChoiceField(
            required=False,
            label=self.label,
            help_text=self.help_text,
            choices=_model_choices,  # a callable: read when a form is made, not at import
            widget=forms.SelectMultiple(attrs={"size": 6}),
        )

    def add_option(self, parser: ArgumentParser, name: str) -> None:
        parser.add_argument(
            self.flag(name),
            dest=name,
            action="append",
            default=[],
            metavar="A,B",
            help=self.help_text,
        )


class BattleText(Filter):
    """Votes whose battle has this value in `column`; "" selects all."""

    default = ""

    def __init__(self, label: str, help_text: str = "", *, column: str) -> None:
        super().__init__(label, help_text)
        self.column = column
        battle_field = Battle._meta.get_field(column)
        self.max_length = battle_field.max_length if isinstance(battle_field, CharField) else None

    def parse(self, value: object, label: str) -> str:
        """A value no battle has is refused: a typo must not export 0 votes silently."""
        text = str(value or "").strip()
        if text and not Battle.objects.filter(**{self.column: text}).exists():
            known = Battle.objects.order_by(self.column).values_list(self.column, flat=True)
            names = ", ".join(f"“{v}”" for v in known.distinct()[:20] if v) or "none yet"
            raise FilterError(
                f"{label}: no battle has {self.column} “{text[:100]}”; known: {names}"
            )
        return text

    def form_field(self) -> forms.Field:
        return forms.CharField(
            required=False, label=self.label, help_text=self.help_text, max_length=self.max_length
        )


class Flag(Filter):
    """Off selects all."""

    default = False

    def parse(self, value: object, label: str) -> bool:
        return bool(value)

    def form_field(self) -> forms.Field:
        return forms.BooleanField(required=False, label=self.label, help_text=self.help_text)

    def add_option(self, parser: ArgumentParser, name: str) -> None:
        parser.add_argument(
            self.flag(name), dest=name, action="store_true", help=self.help_text or self.label
        )


@dataclass(frozen=True)
class ExportFilters:
    """Which votes an export holds: the one declaration of the filters. The form fields,
    the command's options and the stored JSON are derived from these fields.

    `counted_only` selects exactly the votes the leaderboards count (valid, anonymous,
    finished battle): the round trip to a site snapshot uses it.
    """

    since: date | None = Day("Since", "UTC day of the vote, included.").field()
    until: date | None = Day("Until", "UTC day of the vote, included.").field()
    models: tuple[str, ...] = ModelNames(
        "Models", "Battles where either side is one of these. None: all."
    ).field()
    category: str = BattleText("Category", column="category").field()
    language: str = BattleText("Language", column="language").field()
    environment: str = BattleText("Environment", column="environment").field()
    valid_only: bool = Flag("Valid votes only").field()
    anonymous_only: bool = Flag("Anonymous battles only").field()
    counted_only: bool = Flag(
        "Exactly the votes the leaderboards count",
        "Valid votes on anonymous, finished battles: reproduces the site's snapshot.",
        option="--counted",
    ).field()

    def __post_init__(self) -> None:
        for day in (self.since, self.until):
            if day and not day_in_range(day):
                raise FilterError(f"dates must lie between {EARLIEST_DAY} and {LATEST_DAY}")
        if self.since and self.until and self.since > self.until:
            raise FilterError(f"the start date {self.since} is after the end date {self.until}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready and canonical: stored on Export rows, printed in manifests and cards."""
        return {name: spec.to_json(getattr(self, name)) for name, spec in FILTERS.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], label: Callable[[str], str] = str) -> ExportFilters:
        """From stored JSON, a form's cleaned data or the command's options (keys: field
        names; a missing key is the filter's default). `label` names a field in errors."""
        return cls(
            **{name: spec.parse(data.get(name), label(name)) for name, spec in FILTERS.items()}
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
        for name, spec in FILTERS.items():
            if isinstance(spec, BattleText) and getattr(self, name):
                votes = votes.filter(**{f"battle__{spec.column}": getattr(self, name)})
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


def _model_choices() -> list[tuple[str, str]]:
    names = LanguageModel.objects.order_by("name").values_list("name", flat=True)
    return [(name, name) for name in names]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


FILTERS: dict[str, Filter] = {spec.name: spec.metadata[FILTER] for spec in fields(ExportFilters)}
