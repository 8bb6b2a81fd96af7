from __future__ import annotations

from typing import Any

from django import forms

from arena.exports.filters import FILTERS, ExportFilters, FilterError
from arena.exports.models import Export


class FilterFields(forms.Form):
    """The export filters as form fields (derived from ExportFilters); shared by the
    research page and admin."""

    def export_filters(self) -> ExportFilters | None:
        """The filters, or None with the problem added as a form error."""
        try:
            return ExportFilters.from_dict(self.cleaned_data)
        except FilterError as error:
            self.add_error("until", str(error))
            return None


# Django collects a form's fields when its class is made, and subclasses copy them from
# their bases then: the filters' fields are set here, before the forms below subclass it.
FilterFields.base_fields = FilterFields.declared_fields = {
    name: spec.form_field() for name, spec in FILTERS.items()
}


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
