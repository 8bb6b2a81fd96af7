"""Fixtures shared by the ratings tests that need the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from arena.battles.models import Battle, Vote
from arena.llms.models import LanguageModel
from arena.raters.models import Rater


@pytest.fixture
def cast(alice: Rater, make_battle: Callable[..., Battle]) -> Callable[..., Vote]:
    """A finished battle between two models and its vote."""

    def make(a: LanguageModel, b: LanguageModel, winner: str, **fields: Any) -> Vote:
        when = fields.pop("when", None) or timezone.now()
        is_valid = fields.pop("is_valid", True)
        fields.setdefault("status", Battle.Status.VOTED)
        battle = make_battle(alice, model_a=a, model_b=b, runs=False, **fields)
        return Vote.objects.create(
            battle=battle, rater=alice, winner=winner, is_valid=is_valid, created_at=when
        )

    return make
