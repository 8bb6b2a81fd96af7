from __future__ import annotations

from typing import Any

from django import forms

from arena.judges.models import Judge, JudgingRun
from arena.judges.services import Selection


class RunForm(forms.Form):
    """Which judge, which evidence, which battles: shared by the research page and admin."""

    judge = forms.ModelChoiceField(queryset=Judge.objects.filter(is_active=True))
    modes = forms.ChoiceField(choices=JudgingRun.Modes.choices, initial=JudgingRun.Modes.BOTH)
    category = forms.CharField(required=False, max_length=50, help_text="Empty: every category.")
    start = forms.DateField(
        required=False, label="Votes from", widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, label="Votes until", widget=forms.DateInput(attrs={"type": "date"})
    )
    sample = forms.IntegerField(
        required=False, min_value=0, max_value=1_000_000, help_text="0 or empty: every battle."
    )
    seed = forms.IntegerField(
        initial=42, min_value=0, max_value=2**31 - 1, help_text="Of the sample."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end date is before the start date.")
        return cleaned

    def selection(self) -> Selection:
        data = self.cleaned_data
        return Selection(
            category=data.get("category") or "",
            start=data.get("start"),
            end=data.get("end"),
            sample=data.get("sample") or 0,
            seed=int(data["seed"]),
        )
