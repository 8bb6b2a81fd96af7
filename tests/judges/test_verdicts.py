"""Verdict parsing on answers shaped like real judge output."""

from __future__ import annotations

import pytest

from arena.judges.verdicts import Format, Preference, battle_label, parse_verdict
from arena.vocabulary import Winner

P = Preference

PARSED = [
    # Arena-Hard, as judges write it: reasoning first, the label last, bold or not.
    (
        "Both programs compile. A handles the empty list.\n\nMy final verdict is: [[A>B]]",
        P.A_BETTER,
        Format.ARENA_HARD,
    ),
    ("**Final Verdict:** [[B>>A]]", P.B_MUCH_BETTER, Format.ARENA_HARD),
    ("They are equivalent.\n\nMy final verdict is tie: [[A=B]]", P.TIE, Format.ARENA_HARD),
    ("[[ A >> B ]]", P.A_MUCH_BETTER, Format.ARENA_HARD),
    ("verdict: [[B<A]]", P.A_BETTER, Format.ARENA_HARD),
    ("Neither program runs. [[both_bad]]", P.BOTH_BAD, Format.ARENA_HARD),
    ("[[A>B]] ... as said, [[A>B]]", P.A_BETTER, Format.ARENA_HARD),
    ("<think>maybe [[B>A]]? no.</think>Answer A is right. [[A>B]]", P.A_BETTER, Format.ARENA_HARD),
    # JSON, BigCodeReward's format and variants, fenced or bare.
    ('```json\n{"Overall": {"winner": "A", "reasoning": "A runs"}}\n```', P.A_BETTER, Format.JSON),
    ('{"Overall": {"winner": "Tie", "reasoning": "same"}}', P.TIE, Format.JSON),
    ('Here is my judgement: {"winner": "Assistant B", "confidence": 0.8}', P.B_BETTER, Format.JSON),
    ('{"verdict": "model_a"}', P.A_BETTER, Format.JSON),
    ('{"verdict": "both bad"}', P.BOTH_BAD, Format.JSON),
    ('{"reasoning": "code uses {braces}", "winner": "B>>A"}', P.B_MUCH_BETTER, Format.JSON),
    # MT-Bench style letters.
    ("After comparing both, [[B]]", P.B_BETTER, Format.LETTERS),
    ("[[C]]", P.TIE, Format.LETTERS),
    ("Final answer: [[tie]]", P.TIE, Format.LETTERS),
    # Prose.
    ("Assistant A is clearly better: it validates input.", P.A_BETTER, Format.PROSE),
    ("Overall, Response B is superior.", P.B_BETTER, Format.PROSE),
    ("I prefer answer B.", P.B_BETTER, Format.PROSE),
    ("**Winner:** Assistant A", P.A_BETTER, Format.PROSE),
    ("Verdict: B", P.B_BETTER, Format.PROSE),
    ("It's a tie.", P.TIE, Format.PROSE),
    ("Both answers are wrong: neither prints the primes.", P.BOTH_BAD, Format.PROSE),
]

UNPARSEABLE = [
    "",
    "   \n ",
    "I'm sorry, but I can't help with judging these answers.",
    "As an AI language model, I cannot run code.",
    "Answer A is better at error handling, but answer B is better overall.",  # two sides
    "[[A>B]] on correctness but [[B>A]] on style.",  # conflicting labels
    '{"winner": "A"} and later {"winner": "B"}',
    '{"winner": "the first one"}',  # a JSON winner we do not know: never guessed
    "[[A>A]]",
    "Assistant A is not better than B, nor is B better.",  # hedged prose
    "<think>[[A>B]]</think>",  # only a draft inside the reasoning
    "The output was truncated mid-senten",
    '{"Overall": {"winner": ',  # cut off JSON
]


@pytest.mark.parametrize(("text", "preference", "fmt"), PARSED)
def test_it_reads_the_verdict_of_a_realistic_answer(
    text: str, preference: Preference, fmt: Format
) -> None:
    verdict = parse_verdict(text)
    assert verdict.preference is preference
    assert verdict.format is fmt
    assert verdict.is_parsed


@pytest.mark.parametrize("text", UNPARSEABLE)
def test_it_calls_an_answer_without_one_clear_verdict_unparseable(text: str) -> None:
    verdict = parse_verdict(text)
    assert verdict.preference is None
    assert verdict.format is Format.UNPARSEABLE
    assert verdict.note


def test_a_stronger_format_wins_over_prose_that_disagrees() -> None:
    text = "Assistant A is better in places, yet the final verdict is [[B>A]]"
    assert parse_verdict(text).preference is P.B_BETTER


def test_a_conflict_in_the_strongest_format_is_not_resolved_by_a_weaker_one() -> None:
    verdict = parse_verdict("[[A>B]] then [[B>A]]. Assistant A is better.")
    assert verdict.preference is None
    assert "conflicting" in verdict.note


@pytest.mark.parametrize(
    ("preference", "order", "label"),
    [
        (P.A_BETTER, "ab", Winner.MODEL_A),
        (P.A_MUCH_BETTER, "ba", Winner.MODEL_B),
        (P.B_BETTER, "ab", Winner.MODEL_B),
        (P.B_MUCH_BETTER, "ba", Winner.MODEL_A),
        (P.TIE, "ba", Winner.TIE),
        (P.BOTH_BAD, "ba", Winner.BOTH_BAD),
    ],
)
def test_a_preference_maps_back_to_the_battles_own_sides(
    preference: Preference, order: str, label: Winner
) -> None:
    assert battle_label(preference, order) is label


def test_an_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown order"):
        battle_label(P.A_BETTER, "xy")
