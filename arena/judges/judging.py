"""Asking one judge about one battle in one order: LLM judges through the provider layer,
scalar reward models over HTTP, and baselines that need no model.

Django-free: the job passes plain values in (`JudgeInput`, a `ModelSpec`, a
`RewardEndpoint`) and stores the `Outcome`. A call that fails (timeout, refusal by the
server, garbage where a score belongs) raises `JudgeCallError` with a message safe to
show; an answer that holds no verdict is an `Outcome` without a preference, never a
guess.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from arena.judges.prompts import ExecutionEvidence, JudgeInput, judge_messages
from arena.judges.verdicts import Format, Preference, parse_verdict
from arena.llms.providers import get_provider
from arena.llms.types import Delta, ModelSpec, ProviderError, Usage

RAW_TEXT_MAX_CHARS = 20_000  # what is kept of a judge's answer


class JudgeCallError(Exception):
    """The judge could not be asked (its message is safe to show); trying later may help."""


@dataclass(frozen=True)
class Outcome:
    preference: Preference | None  # None: the answer held no verdict (see `note`)
    format: str  # a verdicts.Format, or "score" / "rule"
    raw_text: str = ""
    note: str = ""
    score_a: float | None = None  # reward models: the shown order's A and B
    score_b: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int = 0


# --- LLM judges --------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmPrompts:
    system: str
    with_execution: str
    without_execution: str


def ask_llm(
    spec: ModelSpec, prompts: LlmPrompts, battle: JudgeInput, order: str, with_execution: bool
) -> Outcome:
    template = prompts.with_execution if with_execution else prompts.without_execution
    messages = judge_messages(
        system=prompts.system,
        template=template,
        battle=battle,
        order=order,
        with_execution=with_execution,
    )
    started = time.monotonic()
    text: list[str] = []
    usage = Usage(None, None)
    try:
        for event in get_provider(spec.provider).stream(spec, messages):
            if isinstance(event, Delta) and event.kind == "text":
                text.append(event.text)
            elif isinstance(event, Usage):
                usage = event
    except ProviderError as error:
        raise JudgeCallError(str(error)) from error
    answer = "".join(text)
    verdict = parse_verdict(answer)
    return Outcome(
        preference=verdict.preference,
        format=verdict.format.value,
        raw_text=answer[:RAW_TEXT_MAX_CHARS],
        note=verdict.note,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        latency_ms=_ms_since(started),
    )


# --- Reward models -----------------------------------------------------------------------


@dataclass(frozen=True)
class RewardEndpoint:
    """A scoring endpoint: one POST per answer, the score read from the JSON reply.

    `request_template` is any JSON value whose strings may hold `{instruction}`,
    `{answer}` and `{execution}` (filled in after parsing, so quoting is always right).
    `score_path` is dotted with list indices: `score`, `data.0.score`, `rewards[0]`.
    Two scores within `tie_margin` of each other are a tie."""

    url: str
    request_template: Any
    score_path: str
    tie_margin: float = 0.0
    api_key_env: str = ""
    timeout_s: float = 60.0


def ask_reward_model(
    endpoint: RewardEndpoint, battle: JudgeInput, order: str, with_execution: bool
) -> Outcome:
    shown = battle.in_order(order)
    started = time.monotonic()
    with httpx.Client(timeout=endpoint.timeout_s, headers=_auth(endpoint)) as client:
        score_a = _score(
            client, endpoint, shown.instruction, shown.answer_a, shown.execution_a, with_execution
        )
        score_b = _score(
            client, endpoint, shown.instruction, shown.answer_b, shown.execution_b, with_execution
        )
    return Outcome(
        preference=compare_scores(score_a, score_b, endpoint.tie_margin),
        format="score",
        raw_text=json.dumps({"A": score_a, "B": score_b}),
        score_a=score_a,
        score_b=score_b,
        latency_ms=_ms_since(started),
    )


def compare_scores(score_a: float, score_b: float, tie_margin: float) -> Preference:
    if abs(score_a - score_b) <= tie_margin:
        return Preference.TIE
    return Preference.A_BETTER if score_a > score_b else Preference.B_BETTER


def _auth(endpoint: RewardEndpoint) -> dict[str, str]:
    if not endpoint.api_key_env:
        return {}
    key = os.environ.get(endpoint.api_key_env, "")
    if not key:
        raise JudgeCallError(f"environment variable {endpoint.api_key_env} is not set")
    return {"Authorization": f"Bearer {key}"}


def _score(
    client: httpx.Client,
    endpoint: RewardEndpoint,
    instruction: str,
    answer: str,
    execution: ExecutionEvidence,
    with_execution: bool,
) -> float:
    values = {
        "{instruction}": instruction,
        "{answer}": answer,
        "{execution}": execution.describe() if with_execution else "",
    }
    body = fill_template(endpoint.request_template, values)
    try:
        reply = client.post(endpoint.url, json=body)
    except httpx.TimeoutException:
        raise JudgeCallError(
            f"the scoring endpoint did not answer within {endpoint.timeout_s:g}s"
        ) from None
    except httpx.HTTPError:
        raise JudgeCallError("could not connect to the scoring endpoint") from None
    if reply.status_code != 200:
        raise JudgeCallError(
            f"the scoring endpoint answered {reply.status_code}: {_one_line(reply.text)}"
        )
    try:
        data = reply.json()
    except ValueError:
        raise JudgeCallError(
            f"the scoring endpoint sent no JSON: {_one_line(reply.text)}"
        ) from None
    return score_at(data, endpoint.score_path)


def fill_template(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        pattern = "|".join(map(re.escape, values))
        return re.sub(pattern, lambda match: values[match.group(0)], template)
    if isinstance(template, list):
        return [fill_template(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill_template(item, values) for key, item in template.items()}
    return template


def score_at(data: Any, path: str) -> float:
    """The number at `path`; anything else (missing key, a string, NaN) is an error."""
    value = data
    for step in parse_score_path(path):
        try:
            value = value[step]  # a list index or a dict key
        except (KeyError, IndexError, TypeError):
            raise JudgeCallError(f"the scoring reply has no {path!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise JudgeCallError(f"the scoring reply's {path!r} is not a number: {str(value)[:40]}")
    return float(value)


def parse_score_path(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in re.split(r"\.|\[|\]", path.strip().removeprefix("$").strip(".")):
        if part == "":
            continue
        steps.append(int(part) if part.lstrip("-").isdigit() else part)
    if not steps:
        raise ValueError("the score path is empty")
    return steps


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


# --- Baselines ---------------------------------------------------------------------------

EXECUTION_SUCCEEDED = "execution_succeeded"
LONGER_ANSWER = "longer_answer"
SEEDED_RANDOM = "seeded_random"


def baseline_execution(battle: JudgeInput, order: str, seed: int, key: str) -> Preference:
    """The side whose program ran OK; both OK is a tie, neither is both bad."""
    shown = battle.in_order(order)
    ok_a, ok_b = shown.execution_a.status == "ok", shown.execution_b.status == "ok"
    if ok_a and ok_b:
        return Preference.TIE
    if ok_a or ok_b:
        return Preference.A_BETTER if ok_a else Preference.B_BETTER
    return Preference.BOTH_BAD


def baseline_longer(battle: JudgeInput, order: str, seed: int, key: str) -> Preference:
    shown = battle.in_order(order)
    if len(shown.answer_a) == len(shown.answer_b):
        return Preference.TIE
    return Preference.A_BETTER if len(shown.answer_a) > len(shown.answer_b) else Preference.B_BETTER


_RANDOM_CHOICES = (Preference.A_BETTER, Preference.B_BETTER, Preference.TIE, Preference.BOTH_BAD)


def baseline_random(battle: JudgeInput, order: str, seed: int, key: str) -> Preference:
    """Uniform over the four outcomes, a pure function of (seed, battle, order): a rerun
    or a resumed job draws the same."""
    digest = hashlib.sha256(f"{seed}:{key}:{order}".encode()).digest()
    return _RANDOM_CHOICES[digest[0] % len(_RANDOM_CHOICES)]


BASELINES: dict[str, Callable[[JudgeInput, str, int, str], Preference]] = {
    EXECUTION_SUCCEEDED: baseline_execution,
    LONGER_ANSWER: baseline_longer,
    SEEDED_RANDOM: baseline_random,
}


def ask_baseline(rule: str, battle: JudgeInput, order: str, *, seed: int, key: str) -> Outcome:
    preference = BASELINES[rule](battle, order, seed, key)
    return Outcome(preference=preference, format="rule")


# --- Rate limits -------------------------------------------------------------------------


class RateLimiter:
    """At most `per_minute` calls a minute, spread evenly (a call waits for its slot)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> float:
        """Block until this call's slot; the slot (on the clock) is returned. Slots are
        reserved under the lock, so concurrent callers never share one."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return slot


_limiters: dict[tuple[str, int], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(endpoint: str, per_minute: int) -> RateLimiter:
    """One limiter per endpoint (and limit) in this process: judges and runs calling the
    same provider share it."""
    with _limiters_lock:
        return _limiters.setdefault((endpoint, per_minute), RateLimiter(per_minute))


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


UNPARSEABLE = Format.UNPARSEABLE.value
