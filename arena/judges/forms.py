from __future__ import annotations

from typing import Any

from django import forms

from arena.judges.models import Judge, JudgingRun, PromptSet
from arena.judges.services import Selection
from arena.llms.models import LanguageModel


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


class AutoArenaForm(forms.Form):
    """An automatic arena run: the page's form and the command's arguments agree."""

    prompt_set = forms.ModelChoiceField(queryset=PromptSet.objects.all())
    candidates = forms.ModelMultipleChoiceField(
        queryset=LanguageModel.objects.all(), label="Models", help_text="Each against the baseline."
    )
    baseline = forms.ModelChoiceField(queryset=LanguageModel.objects.all())
    judge = forms.ModelChoiceField(queryset=Judge.objects.filter(is_active=True))
    modes = forms.ChoiceField(
        choices=JudgingRun.Modes.choices,
        initial=JudgingRun.Modes.BOTH,
        label="Evidence",
        help_text="Without execution is the ablation: the judge sees the answers only.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        baseline, candidates = cleaned.get("baseline"), cleaned.get("candidates")
        others = [m for m in candidates or [] if baseline is None or m.pk != baseline.pk]
        if candidates is not None and not others:
            self.add_error("candidates", "Pick at least one model besides the baseline.")
        judge = cleaned.get("judge")
        blind = cleaned.get("modes") == JudgingRun.Modes.WITHOUT
        if judge is not None and blind and "without" not in judge.evidence_modes():
            self.add_error("modes", f"{judge} judges with execution only.")
        return cleaned
