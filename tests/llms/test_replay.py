"""The replay provider streams recorded demo answers; no Django, no network."""

from __future__ import annotations

import pytest

from arena.llms.demo import load_demo_catalog
from arena.llms.providers.replay import (
    REVISION_PREFACE,
    ReplayProvider,
    match_request,
    split_reasoning,
)
from arena.llms.types import Delta, Message, ModelSpec, ProviderError, Usage


def spec(model_id: str, **params: object) -> ModelSpec:
    return ModelSpec(
        name=model_id, provider="replay", model_id=model_id, params={"chunk_delay_s": 0, **params}
    )


def user(text: str) -> Message:
    return Message("user", text)


def collect(events: list[object]) -> tuple[str, str, list[Usage]]:
    text = "".join(e.text for e in events if isinstance(e, Delta) and e.kind == "text")
    reasoning = "".join(e.text for e in events if isinstance(e, Delta) and e.kind == "reasoning")
    return text, reasoning, [e for e in events if isinstance(e, Usage)]


def test_every_exact_request_replays_its_own_recording() -> None:
    catalog = load_demo_catalog()
    for request in catalog.requests:
        events = list(ReplayProvider().stream(spec("demo-atlas"), [user(request.prompt)]))
        text, reasoning, _ = collect(events)
        assert text == catalog.answer("demo-atlas", request.slug), request.slug
        assert reasoning == ""


def test_the_stream_comes_in_many_small_chunks() -> None:
    prompt = load_demo_catalog().request("py-dijkstra").prompt  # type: ignore[union-attr]
    events = list(ReplayProvider().stream(spec("demo-cirrus"), [user(prompt)]))
    deltas = [e for e in events if isinstance(e, Delta)]
    assert len(deltas) > 20
    assert all(len(d.text.split()) <= 3 for d in deltas)


def test_a_paraphrased_request_finds_the_right_recording() -> None:
    paraphrases = {
        "can you check in python whether a sentence is a palindrome, ignoring punctuation?": (
            "py-palindrome"
        ),
        "merge overlapping intervals in c++": "cpp-merge-intervals",
        "golang: print fibonacci numbers with big integers": "go-big-fibonacci",
        "histogram of normally distributed random numbers with numpy": "py-histogram-normal",
        "LRU cache in python": "py-lru-cache",
        "group people by city in typescript with generics": "ts-group-by",
    }
    for prompt, slug in paraphrases.items():
        assert match_request(prompt)[0] == slug, prompt


def test_a_paraphrase_streams_the_models_answer_for_the_nearest_request() -> None:
    messages = [user("Python LRU cache with O(1) get and put please")]
    text, _, _ = collect(list(ReplayProvider().stream(spec("demo-drizzle"), messages)))
    assert text == load_demo_catalog().answer("demo-drizzle", "py-lru-cache")


def test_a_generic_follow_up_revises_the_first_request_with_a_preface() -> None:
    catalog = load_demo_catalog()
    first = catalog.request("py-sieve-primes").prompt  # type: ignore[union-attr]
    messages = [
        user(first),
        Message("assistant", catalog.answer("demo-atlas", "py-sieve-primes")),
        user("add comments"),
    ]
    text, _, _ = collect(list(ReplayProvider().stream(spec("demo-atlas"), messages)))
    assert text == REVISION_PREFACE + catalog.answer("demo-atlas", "py-sieve-primes")


def test_a_specific_follow_up_answers_the_latest_request() -> None:
    catalog = load_demo_catalog()
    messages = [
        user(catalog.request("py-sieve-primes").prompt),  # type: ignore[union-attr]
        Message("assistant", "..."),
        user("Now write binary search in Python and test the edge cases"),
    ]
    text, _, _ = collect(list(ReplayProvider().stream(spec("demo-atlas"), messages)))
    assert text == catalog.answer("demo-atlas", "py-binary-search")


def test_an_unknown_model_raises_a_provider_error_at_the_call() -> None:
    with pytest.raises(ProviderError, match="unknown demo model 'gpt-zero'"):
        ReplayProvider().stream(spec("gpt-zero"), [user("hello")])


def test_a_conversation_without_a_user_message_is_refused() -> None:
    with pytest.raises(ProviderError):
        ReplayProvider().stream(spec("demo-atlas"), [Message("system", "be brief")])


def test_closing_the_stream_early_is_safe() -> None:
    stream = ReplayProvider().stream(spec("demo-atlas", chunk_delay_s=0.001), [user("sieve")])
    first = next(stream)
    assert isinstance(first, Delta)
    stream.close()  # type: ignore[attr-defined]
    assert next(stream, None) is None


def test_the_stream_ends_with_a_usage_event_counting_words() -> None:
    messages = [user("Write a Python sieve of Eratosthenes for primes below 100")]
    events = list(ReplayProvider().stream(spec("demo-atlas"), messages))
    text, _, usages = collect(events)
    assert isinstance(events[-1], Usage)
    assert usages == [Usage(input_tokens=10, output_tokens=len(text.split()))]


def test_breeze_streams_its_thinking_as_reasoning_before_the_answer() -> None:
    catalog = load_demo_catalog()
    prompt = catalog.request("py-dijkstra").prompt  # type: ignore[union-attr]
    events = list(ReplayProvider().stream(spec("demo-breeze"), [user(prompt)]))
    text, reasoning, _ = collect(events)
    recorded_reasoning, recorded_answer = split_reasoning(
        catalog.answer("demo-breeze", "py-dijkstra")
    )
    assert reasoning == recorded_reasoning and reasoning
    assert text == recorded_answer
    assert "<think>" not in text
    kinds = [e.kind for e in events if isinstance(e, Delta)]
    assert kinds == sorted(kinds)  # every "reasoning" chunk comes before any "text" chunk


def test_breeze_can_leave_its_thinking_inline_like_some_servers_do() -> None:
    catalog = load_demo_catalog()
    prompt = catalog.request("py-dijkstra").prompt  # type: ignore[union-attr]
    events = list(ReplayProvider().stream(spec("demo-breeze", reasoning="inline"), [user(prompt)]))
    text, reasoning, _ = collect(events)
    assert reasoning == ""
    assert text == catalog.answer("demo-breeze", "py-dijkstra")
    assert text.startswith("<think>")


def test_the_provider_is_registered_under_replay() -> None:
    from arena.llms.providers import get_provider

    assert isinstance(get_provider("replay"), ReplayProvider)
