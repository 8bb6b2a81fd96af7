"""Reading a judge's verdict out of what a model actually wrote.

Pure Python, no Django. Formats are tried from the most explicit to the least:

1. Arena-Hard labels `[[A>>B]]`, `[[A>B]]`, `[[A=B]]`, `[[B>A]]`, `[[B>>A]]` (also the
   mirrored spellings `[[B<A]]`, `[[A<<B]]`) and `[[both_bad]]`;
2. a JSON object with a winner (BigCodeReward's `{"Overall": {"winner": "A"}}`, or a
   top-level `winner` / `verdict` / `preference`), in a code fence or bare;
3. bracketed letters `[[A]]`, `[[B]]`, `[[C]]` (MT-Bench's tie), `[[tie]]`;
4. prose: "Final verdict: Assistant B is better", "Both answers are bad", ...

A format that holds two different verdicts is ambiguous and the answer is unparseable:
the parser never picks one of them, and never falls through to a weaker format that
might pick differently. Reasoning a model wrapped in `<think>` is ignored (drafts of a
verdict are not the verdict).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from arena.vocabulary import Winner


class Preference(StrEnum):
    """What the judge said, in the positions it was shown (A is the first answer)."""

    A_MUCH_BETTER = "A>>B"
    A_BETTER = "A>B"
    TIE = "A=B"
    B_BETTER = "B>A"
    B_MUCH_BETTER = "B>>A"
    BOTH_BAD = "both_bad"


STRONG = (Preference.A_MUCH_BETTER, Preference.B_MUCH_BETTER)


class Format(StrEnum):
    ARENA_HARD = "arena_hard"
    JSON = "json"
    LETTERS = "letters"
    PROSE = "prose"
    UNPARSEABLE = "unparseable"


@dataclass(frozen=True)
class Verdict:
    preference: Preference | None  # None: unparseable
    format: Format
    note: str = ""  # why it is unparseable

    @property
    def is_parsed(self) -> bool:
        return self.preference is not None


def unparseable(note: str) -> Verdict:
    return Verdict(None, Format.UNPARSEABLE, note)


def battle_label(preference: Preference, order: str) -> Winner:
    """The preference in the battle's own sides: with order "ba" the judge saw the
    battle's model_b as answer A."""
    if preference is Preference.TIE:
        return Winner.TIE
    if preference is Preference.BOTH_BAD:
        return Winner.BOTH_BAD
    first_wins = preference in (Preference.A_MUCH_BETTER, Preference.A_BETTER)
    if order == "ab":
        return Winner.MODEL_A if first_wins else Winner.MODEL_B
    if order == "ba":
        return Winner.MODEL_B if first_wins else Winner.MODEL_A
    raise ValueError(f"unknown order {order!r} (expected 'ab' or 'ba')")


def parse_verdict(text: str) -> Verdict:
    body = _THINK.sub(" ", text or "")
    if not body.strip():
        return unparseable("the answer is empty")
    for parser in (_arena_hard, _json_verdict, _letters, _prose):
        found = parser(body)
        if found is not None:
            return found
    return unparseable("no verdict found")


def _decide(found: list[Preference], fmt: Format) -> Verdict | None:
    """None when the format is absent; unparseable when it disagrees with itself."""
    distinct = sorted(set(found))
    if not distinct:
        return None
    if len(distinct) > 1:
        return unparseable(f"conflicting {fmt.value} verdicts: {', '.join(distinct)}")
    return Verdict(distinct[0], fmt)


_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)

# --- 1. Arena-Hard -----------------------------------------------------------------------

_ARENA_HARD = re.compile(r"\[\[\s*([AB])\s*(>>|<<|>|<|=)\s*([AB])\s*\]\]", re.IGNORECASE)
_BOTH_BAD_TOKEN = re.compile(r"\[\[\s*both[\s_-]*(?:are[\s_-]*)?bad\s*\]\]", re.IGNORECASE)
_RELATION = {
    ("A", ">>", "B"): Preference.A_MUCH_BETTER,
    ("A", ">", "B"): Preference.A_BETTER,
    ("B", "<<", "A"): Preference.A_MUCH_BETTER,
    ("B", "<", "A"): Preference.A_BETTER,
    ("B", ">>", "A"): Preference.B_MUCH_BETTER,
    ("B", ">", "A"): Preference.B_BETTER,
    ("A", "<<", "B"): Preference.B_MUCH_BETTER,
    ("A", "<", "B"): Preference.B_BETTER,
    ("A", "=", "B"): Preference.TIE,
    ("B", "=", "A"): Preference.TIE,
}


def _arena_hard(text: str) -> Verdict | None:
    found: list[Preference] = []
    for left, relation, right in _ARENA_HARD.findall(text):
        preference = _RELATION.get((left.upper(), relation, right.upper()))
        if preference is None:  # "[[A>A]]": a label, but of nothing
            return unparseable(f"meaningless verdict [[{left}{relation}{right}]]")
        found.append(preference)
    found += [Preference.BOTH_BAD] * len(_BOTH_BAD_TOKEN.findall(text))
    return _decide(found, Format.ARENA_HARD)


# --- 2. JSON -----------------------------------------------------------------------------

_WINNER_KEYS = ("winner", "verdict", "preference", "better", "choice", "result")
_WORDS = {
    "a": Preference.A_BETTER,
    "b": Preference.B_BETTER,
    "tie": Preference.TIE,
    "draw": Preference.TIE,
    "equal": Preference.TIE,
    "c": Preference.TIE,
    "both_bad": Preference.BOTH_BAD,
    "both bad": Preference.BOTH_BAD,
    "bothbad": Preference.BOTH_BAD,
    "neither": Preference.BOTH_BAD,
    "none": Preference.BOTH_BAD,
}


def _word_preference(value: str) -> Preference | None:
    """'A', 'Assistant B', 'model_a', 'Tie', 'Both bad', '[[A>B]]', 'A>>B' ..."""
    cleaned = value.strip().strip("[]().*\"' ").lower()
    cleaned = re.sub(r"^(assistant|answer|response|model|solution)[\s_-]*", "", cleaned)
    if cleaned in _WORDS:
        return _WORDS[cleaned]
    relation = re.fullmatch(r"([ab])\s*(>>|<<|>|<|=)\s*([ab])", cleaned)
    if relation:
        return _RELATION.get((relation[1].upper(), relation[2], relation[3].upper()))
    return None


def _json_objects(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    index = text.find("{")
    while index != -1:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            objects.append(value)
        index = text.find("{", end)
    return objects


def _winner_in(obj: dict[str, Any]) -> list[str]:
    """Winner values at the top level or one level down ({"Overall": {"winner": ...}})."""
    values: list[str] = []
    for key, value in obj.items():
        if str(key).lower() in _WINNER_KEYS and isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            values += [
                inner
                for inner_key, inner in value.items()
                if str(inner_key).lower() in _WINNER_KEYS and isinstance(inner, str)
            ]
    return values


def _json_verdict(text: str) -> Verdict | None:
    values = [value for obj in _json_objects(text) for value in _winner_in(obj)]
    if not values:
        return None
    found: list[Preference] = []
    for value in values:
        preference = _word_preference(value)
        if preference is None:
            return unparseable(f"unknown JSON winner {value[:40]!r}")
        found.append(preference)
    return _decide(found, Format.JSON)


# --- 3. Bracketed letters ----------------------------------------------------------------

_LETTER = re.compile(r"\[\[\s*(A|B|C|tie|draw)\s*\]\]", re.IGNORECASE)


def _letters(text: str) -> Verdict | None:
    found = [_WORDS[match.lower()] for match in _LETTER.findall(text)]
    return _decide(found, Format.LETTERS)


# --- 4. Prose ----------------------------------------------------------------------------

_SIDE = r"(?:assistant|answer|response|model|solution|option)\s*[\"'(]?([AB])\b[\"')]?"
_DEGREE = r"(?:clearly|significantly|much|slightly|somewhat|marginally|substantially|far)\s+"
_NOUN = r"(?:answers|responses|solutions|programs)"
# A pattern with a group names the side it prefers; one without names its outcome.
_SIDE_PATTERNS = (
    rf"{_SIDE}\s+is\s+(?:the\s+)?(?:{_DEGREE})?(?:better|superior|stronger|the winner)\b",
    rf"\b(?:i\s+)?(?:prefer|choose|pick|select)\s+{_SIDE}",
    rf"\b{_SIDE}\s+wins\b",
    r"\b(?:winner|verdict|decision|choice)\s*(?:is)?\s*[:\-–]?\s*\**\s*"
    r"(?:assistant|answer|response|model)?\s*\**\s*([AB])\b",
)
_OUTCOME_PATTERNS = (
    (r"\bit(?:'s| is)\s+a\s+tie\b", Preference.TIE),
    (r"\b(?:they|both)\s+are\s+(?:equally\s+good|tied|equivalent)\b", Preference.TIE),
    (r"\bverdict\s*:\s*\**\s*tie\b", Preference.TIE),
    (
        rf"\bboth\s+{_NOUN}\s+are\s+(?:equally\s+)?(?:bad|wrong|incorrect|broken)\b",
        Preference.BOTH_BAD,
    ),
    (
        r"\bneither\s+(?:answer|response|solution)\s+(?:is\s+)?(?:correct|acceptable|works)\b",
        Preference.BOTH_BAD,
    ),
)
_PROSE_PATTERNS: tuple[tuple[re.Pattern[str], Preference | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), None) for pattern in _SIDE_PATTERNS
) + tuple((re.compile(pattern, re.IGNORECASE), outcome) for pattern, outcome in _OUTCOME_PATTERNS)


def _prose(text: str) -> Verdict | None:
    found: list[Preference] = []
    for pattern, fixed in _PROSE_PATTERNS:
        for match in pattern.finditer(text):
            if fixed is not None:
                found.append(fixed)
            else:
                side = match.group(1).upper()
                found.append(Preference.A_BETTER if side == "A" else Preference.B_BETTER)
    return _decide(found, Format.PROSE)
