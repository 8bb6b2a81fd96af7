"""The Anthropic provider against a local server speaking the real Messages streaming protocol."""

from __future__ import annotations

import time
from typing import Any

import pytest

from arena.llms.providers.anthropic import AnthropicProvider
from arena.llms.providers.sdk import RetryPolicy
from arena.llms.types import Delta, Message, ModelSpec, ProviderError, Usage
from tests.fakes import (
    Answer,
    Collected,
    FakeServer,
    HttpError,
    anthropic_server,
    collect,
    markdown,
    text_answer,
)
from tests.fakes.anthropic_api import sent_key

KEY_ENV = "ARENA_TEST_ANTHROPIC_API_KEY"
KEY = "sk-ant-test-0123456789-secret"
PROMPT = [Message("system", "You write Python."), Message("user", "Print hello.")]
FAST = RetryPolicy(base_delay_s=0.01, max_delay_s=0.02)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def spec(server: FakeServer, **overrides: Any) -> ModelSpec:
    fields: dict[str, Any] = {
        "name": "fake",
        "provider": "anthropic",
        "model_id": "fake-claude",
        "base_url": server.base_url,
        "api_key_env": KEY_ENV,
        "timeout_s": 5.0,
        "max_retries": 2,
    }
    return ModelSpec(**(fields | overrides))


def run(server: FakeServer, sleeps: list[float] | None = None, **overrides: Any) -> Collected:
    provider = AnthropicProvider(retry_policy=FAST, sleep=_sleeper(sleeps))
    return collect(provider.stream(spec(server, **overrides), PROMPT))


def failure(
    server: FakeServer, sleeps: list[float] | None = None, **overrides: Any
) -> tuple[ProviderError, Collected]:
    """Run until the provider fails; return the error and what streamed before it."""
    provider = AnthropicProvider(retry_policy=FAST, sleep=_sleeper(sleeps))
    got = Collected()
    with pytest.raises(ProviderError) as caught:
        for event in provider.stream(spec(server, **overrides), PROMPT):
            got.deltas.append(event)
            if isinstance(event, Delta) and event.kind == "text":
                got.text += event.text
    return caught.value, got


def _sleeper(sleeps: list[float] | None) -> Any:
    # Record the backoff instead of waiting it out: the delays are what we assert.
    return sleeps.append if sleeps is not None else (lambda _s: None)


# Streaming


def test_streamed_text_is_reassembled_exactly() -> None:
    chunks = ["  def f(x):\n", "    return x * 2", "\n\n", "Ünïcødé ✓ ", "`done`\n"]
    with anthropic_server(Answer(text=chunks)) as server:
        got = run(server)
    assert got.text == "".join(chunks)
    assert [d.text for d in got.deltas] == chunks


def test_the_default_fake_answer_is_markdown_with_a_code_block() -> None:
    with anthropic_server() as server:
        got = run(server)
    assert got.text == markdown()


def test_deltas_arrive_while_the_server_is_still_streaming() -> None:
    with anthropic_server(Answer(text=["a", "b", "c"], delays=[0.0, 3.0, 0.0])) as server:
        started = time.monotonic()
        stream = AnthropicProvider().stream(spec(server), PROMPT)
        first = next(stream)
        first_at = time.monotonic() - started
        rest = collect(stream)
    assert first == Delta("text", "a")
    assert first_at < 3.0  # "b" leaves the server 3 s after "a": "a" was not held back
    assert rest.text == "bc"


# Reasoning


def test_thinking_blocks_become_reasoning() -> None:
    answer = Answer(reasoning=["Let me ", "think."], text=["Answer."])
    with anthropic_server(answer) as server:
        got = run(server, params={"thinking": {"type": "enabled", "budget_tokens": 2048}})
        sent = server.requests[0].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert got.reasoning == "Let me think."
    assert got.text == "Answer."
    assert [d.kind for d in got.deltas] == ["reasoning", "reasoning", "text"]


def test_inline_think_block_split_across_chunks_becomes_reasoning() -> None:
    chunks = ["<thi", "nk>plan</th", "ink>\n", "\nDone."]
    with anthropic_server(Answer(text=chunks)) as server:
        got = run(server)
    assert (got.reasoning, got.text) == ("plan", "Done.")


# Usage


def test_usage_comes_from_message_start_and_message_delta() -> None:
    with anthropic_server(Answer(text=["Hi."], usage=(21, 5))) as server:
        events = list(AnthropicProvider().stream(spec(server), PROMPT))
    assert events == [Delta("text", "Hi."), Usage(input_tokens=21, output_tokens=5)]


# What is sent


def test_system_prompt_goes_in_system_and_params_are_sent() -> None:
    params = {"temperature": 0.3, "top_k": 20, "max_tokens": 999, "stop": "END", "n": 2}
    with anthropic_server() as server:
        run(server, params=params)
        sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.body["model"] == "fake-claude"
    assert sent.body["stream"] is True
    assert sent.body["system"] == "You write Python."
    assert sent.body["messages"] == [{"role": "user", "content": "Print hello."}]
    assert (sent.body["temperature"], sent.body["top_k"]) == (0.3, 20)
    assert sent.body["max_tokens"] == 999
    assert sent.body["stop_sequences"] == ["END"]
    assert "n" not in sent.body
    assert "anthropic-version" in sent.headers


def test_max_tokens_has_a_default_because_the_api_requires_it() -> None:
    with anthropic_server() as server:
        run(server)
        sent = server.requests[0].body
    assert sent["max_tokens"] == 4096
    assert "temperature" not in sent


def test_a_conversation_without_system_prompt_sends_no_system() -> None:
    turns = [Message("user", "a"), Message("assistant", "b"), Message("user", "c")]
    with anthropic_server() as server:
        collect(AnthropicProvider().stream(spec(server), turns))
        sent = server.requests[0].body
    assert "system" not in sent
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]


def test_the_key_is_read_from_the_named_env_var_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = AnthropicProvider()
    monkeypatch.setenv(KEY_ENV, "sk-ant-rotated")
    with anthropic_server(api_key="sk-ant-rotated") as server:
        got = collect(provider.stream(spec(server), PROMPT))
        request = server.requests[0]
    assert got.text
    assert sent_key(request) == "sk-ant-rotated"


def test_a_missing_key_names_the_env_var_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    with anthropic_server() as server:
        error, _ = failure(server)
        assert server.requests == []
    assert str(error) == f"environment variable {KEY_ENV} is not set"


def test_no_key_env_sends_a_placeholder_and_never_the_sdks_own_env_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-wrong-place")
    with anthropic_server() as server:
        run(server, api_key_env="")
        request = server.requests[0]
    assert sent_key(request) == "not-needed"


# Retries


def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    sleeps: list[float] = []
    with anthropic_server(HttpError(429, retry_after="2"), Answer(text=["ok"])) as server:
        got = run(server, sleeps)
        assert server.attempts == 2
    assert got.text == "ok"
    assert sleeps == [2.0]


def test_overloaded_is_retried_until_success() -> None:
    with anthropic_server(HttpError(529), HttpError(500), Answer(text=["ok"])) as server:
        got = run(server)
        assert server.attempts == 3
    assert got.text == "ok"


def test_an_overloaded_event_before_the_first_token_is_retried() -> None:
    with anthropic_server(Answer(text=["x"], error_after=0), Answer(text=["ok"])) as server:
        got = run(server)
        assert server.attempts == 2
    assert got.text == "ok"


def test_an_overloaded_event_after_the_first_token_ends_the_stream() -> None:
    with anthropic_server(Answer(text=["x", "y"], error_after=1), Answer(["ok"])) as server:
        error, got = failure(server)
        assert server.attempts == 1
    assert got.text == "x"
    assert str(error) == "server error 529: Overloaded"


def test_retries_stop_after_max_retries() -> None:
    sleeps: list[float] = []
    with anthropic_server(*[HttpError(529)] * 5) as server:
        error, _ = failure(server, sleeps, max_retries=1)
        assert server.attempts == 2
    assert str(error) == "server error 529: Overloaded"
    assert error.retryable
    assert len(sleeps) == 1


def test_a_long_retry_after_fails_at_once_instead_of_making_the_rater_wait() -> None:
    sleeps: list[float] = []
    with anthropic_server(HttpError(429, retry_after="60")) as server:
        error, _ = failure(server, sleeps)
        assert server.attempts == 1
    assert str(error).startswith("rate limited")
    assert sleeps == []


def test_a_connection_drop_before_the_first_token_is_retried() -> None:
    with anthropic_server(Answer(text=["lost"], drop_after=0), Answer(text=["ok"])) as server:
        got = run(server)
        assert server.attempts == 2
    assert got.text == "ok"


def test_nothing_is_retried_after_the_first_token() -> None:
    dropped = Answer(text=["Hel", "lo", " world"], drop_after=2)
    with anthropic_server(dropped, Answer(text=["again"])) as server:
        error, got = failure(server)
        assert server.attempts == 1
    assert got.text == "Hello"
    assert str(error) == "the connection to the model server was lost"


# Timeouts, broken streams


def test_a_silent_server_times_out_without_a_retry() -> None:
    with anthropic_server(Answer(text=["late"], first_delay_s=5)) as server:
        started = time.monotonic()
        error, _ = failure(server, timeout_s=0.3)
        elapsed = time.monotonic() - started
        assert server.attempts == 1
    assert str(error) == "the model server did not respond within 0.3s"
    assert elapsed < 5  # gave up before the server would have answered


def test_a_stall_mid_stream_times_out_and_keeps_the_partial_answer() -> None:
    with anthropic_server(Answer(text=["part", "never"], delays=[0, 5])) as server:
        error, got = failure(server, timeout_s=0.5)
    assert got.text == "part"
    assert str(error) == "the model server did not respond within 0.5s"


def test_a_garbled_chunk_is_an_error_after_the_text_so_far() -> None:
    with anthropic_server(Answer(text=["ok ", "then"], garble_after=1)) as server:
        error, got = failure(server)
    assert got.text == "ok "
    assert str(error) == "the server sent a malformed chunk"


def test_a_stream_that_ends_without_message_stop_is_an_error() -> None:
    with anthropic_server(Answer(text=["half an ans"], finish=False)) as server:
        error, got = failure(server)
    assert got.text == "half an ans"
    assert str(error) == "the stream ended before the model finished"


def test_an_empty_answer_is_an_error() -> None:
    with anthropic_server(Answer(text=[])) as server:
        error, _ = failure(server)
    assert str(error) == "the model returned an empty answer"


# Cancellation


def test_closing_the_stream_early_hangs_up_on_the_server() -> None:
    long_answer = text_answer("y" * 2000, size=10, delay_s=0.02)
    with anthropic_server(long_answer) as server:
        stream = AnthropicProvider().stream(spec(server), PROMPT)
        assert next(stream) == Delta("text", "y" * 10)
        assert not server.wait_for_disconnect(timeout=0.2)  # still reading: no hang-up yet
        stream.close()  # the rater left
        assert server.wait_for_disconnect(timeout=3)
        assert server.disconnects == 1


# Error mapping


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "bad request (400): messages: roles must alternate"),
        (401, f"authentication failed (check {KEY_ENV})"),
        (403, f"authentication failed (check {KEY_ENV})"),
        (404, "model 'fake-claude' not found: model: fake-claude"),
        (413, "bad request (413): Request exceeds the maximum allowed number of bytes."),
        (429, "rate limited: Number of requests has exceeded your rate limit."),
        (500, "server error 500: Internal server error."),
        (529, "server error 529: Overloaded"),
    ],
)
def test_http_errors_are_mapped_to_safe_messages(status: int, expected: str) -> None:
    messages = {400: "messages: roles must alternate", 404: "model: fake-claude"}
    with anthropic_server(HttpError(status, messages.get(status, ""))) as server:
        error, _ = failure(server, max_retries=0)
    assert str(error) == expected
    assert error.retryable == (status in (429, 500, 529))


def test_a_wrong_key_fails_once_and_never_shows_the_key() -> None:
    with anthropic_server(api_key="sk-ant-the-right-one") as server:
        error, _ = failure(server)
        assert server.attempts == 1
    assert str(error) == f"authentication failed (check {KEY_ENV})"
    assert KEY not in repr(error) and KEY not in str(error.__cause__)


def test_an_unknown_model_is_not_found() -> None:
    with anthropic_server(models={"claude-real"}) as server:
        error, _ = failure(server)
    assert str(error) == "model 'fake-claude' not found: model: fake-claude"


def test_a_server_message_is_shortened_and_scrubbed_of_the_key() -> None:
    reply = HttpError(400, f"Invalid key {KEY} in request.\n" + "blah " * 200)
    with anthropic_server(reply) as server:
        error, _ = failure(server)
    assert KEY not in str(error)
    assert "Invalid key *** in request." in str(error)
    assert len(str(error)) < 250
    assert "\n" not in str(error)
