from __future__ import annotations

from typing import Any

from django import forms

from arena.exports.filters import ExportFilters, FilterError
from arena.exports.models import Export
from arena.llms.models import LanguageModel


class FilterFields(forms.Form):
    """The export filters as form fields; shared by the research page and admin."""

    since = forms.DateField(
        required=False,
        help_text="UTC day, included.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        required=False,
        help_text="UTC day, included.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    models = forms.MultipleChoiceField(
        required=False,
        help_text="Battles where either side is one of these. None: all.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    category = forms.CharField(required=False, max_length=50)
    language = forms.CharField(required=False, max_length=30)
    environment = forms.CharField(required=False, max_length=30)
    valid_only = forms.BooleanField(required=False, label="Valid votes only")
    anonymous_only = forms.BooleanField(required=False, label="Anonymous battles only")
    counted_only = forms.BooleanField(
        required=False,
        label="Exactly the votes the leaderboards count",
        help_text="Valid votes on anonymous, finished battles: reproduces the site's snapshot.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = LanguageModel.objects.order_by("name").values_list("name", flat=True)
        self.fields["models"].choices = [(name, name) for name in names]  # type: ignore[attr-defined]

    def export_filters(self) -> ExportFilters | None:
        """The filters, or None with the problem added as a form error."""
        data = self.cleaned_data
        try:
            return ExportFilters(
                since=data.get("since"),
                until=data.get("until"),
                models=tuple(sorted(data.get("models") or ())),
                category=data.get("category", ""),
                language=data.get("language", ""),
                environment=data.get("environment", ""),
                valid_only=bool(data.get("valid_only")),
                anonymous_only=bool(data.get("anonymous_only")),
                counted_only=bool(data.get("counted_only")),
            )
        except FilterError as error:
            self.add_error("until", str(error))
            return None


class ExportForm(FilterFields):
    format = forms.ChoiceField(choices=Export.Format.choices, initial=Export.Format.PARQUET)
    field_order = ["format"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            self.filters = self.export_filters()
        return cleaned


class ExportAdminForm(FilterFields, forms.ModelForm):  # type: ignore[type-arg]
    """Admin's add form: the same filters, stored as JSON on the row."""

    class Meta:
        model = Export
        fields = ["format"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            filters = self.export_filters()
            if filters is not None:
                self.instance.filters = filters.to_dict()
        return cleaned
