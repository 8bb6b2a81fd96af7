"""The OpenAI-compatible provider against a local server speaking the real streaming protocol."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from arena.llms.providers.openai_compat import OpenAICompatProvider
from arena.llms.providers.sdk import RetryPolicy
from arena.llms.providers.thinking import ThinkSplitter
from arena.llms.types import Delta, Message, ModelSpec, ProviderError, Usage
from tests.fakes import (
    Answer,
    Collected,
    FakeServer,
    HttpError,
    collect,
    markdown,
    openai_server,
    text_answer,
)

KEY_ENV = "ARENA_TEST_OPENAI_API_KEY"
KEY = "sk-test-0123456789-secret"
PROMPT = [Message("system", "You write Python."), Message("user", "Print hello.")]
FAST = RetryPolicy(base_delay_s=0.01, max_delay_s=0.02)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def spec(server: FakeServer, **overrides: Any) -> ModelSpec:
    fields: dict[str, Any] = {
        "name": "fake",
        "provider": "openai",
        "model_id": "fake-model",
        "base_url": server.base_url,
        "api_key_env": KEY_ENV,
        "timeout_s": 5.0,
        "max_retries": 2,
    }
    return ModelSpec(**(fields | overrides))


def run(server: FakeServer, sleeps: list[float] | None = None, **overrides: Any) -> Collected:
    provider = OpenAICompatProvider(retry_policy=FAST, sleep=_sleeper(sleeps))
    return collect(provider.stream(spec(server, **overrides), PROMPT))


def failure(
    server: FakeServer, sleeps: list[float] | None = None, **overrides: Any
) -> tuple[ProviderError, Collected]:
    """Run until the provider fails; return the error and what streamed before it."""
    provider = OpenAICompatProvider(retry_policy=FAST, sleep=_sleeper(sleeps))
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
    with openai_server(Answer(text=chunks)) as server:
        got = run(server)
    assert got.text == "".join(chunks)
    assert [d.text for d in got.deltas] == chunks


def test_the_default_fake_answer_is_markdown_with_a_code_block() -> None:
    with openai_server() as server:
        got = run(server)
    assert got.text == markdown()
    assert "```python\n" in got.text


def test_deltas_arrive_while_the_server_is_still_streaming() -> None:
    with openai_server(Answer(text=["a", "b", "c"], delays=[0.0, 3.0, 0.0])) as server:
        started = time.monotonic()
        stream = OpenAICompatProvider().stream(spec(server), PROMPT)
        first = next(stream)
        first_at = time.monotonic() - started
        rest = collect(stream)
    assert first == Delta("text", "a")
    assert first_at < 3.0  # "b" leaves the server 3 s after "a": "a" was not held back
    assert rest.text == "bc"


# Reasoning


def test_reasoning_content_field_becomes_reasoning() -> None:
    answer = Answer(reasoning=["Think ", "hard."], text=["Answer."])
    with openai_server(answer) as server:
        got = run(server)
    assert got.reasoning == "Think hard."
    assert got.text == "Answer."
    assert [d.kind for d in got.deltas] == ["reasoning", "reasoning", "text"]


def test_reasoning_field_as_openrouter_names_it_becomes_reasoning() -> None:
    answer = Answer(reasoning=["Hmm."], text=["Yes."], reasoning_field="reasoning")
    with openai_server(answer) as server:
        got = run(server)
    assert (got.reasoning, got.text) == ("Hmm.", "Yes.")


def test_inline_think_block_split_across_chunks_becomes_reasoning() -> None:
    chunks = ["\n<th", "ink>First, ", "consider x.</thi", "nk>", "\n\nThe ans", "wer."]
    with openai_server(Answer(text=chunks)) as server:
        got = run(server)
    assert got.reasoning == "First, consider x."
    assert got.text == "The answer."


def test_think_tags_are_found_wherever_the_chunks_are_cut() -> None:
    text = "<think>a < b</think>\n\nSo: a</think>"
    for i in range(len(text)):
        for j in range(i, len(text)):
            splitter = ThinkSplitter()
            deltas = [d for part in (text[:i], text[i:j], text[j:]) for d in splitter.feed(part)]
            deltas += splitter.finish()
            reasoning = "".join(d.text for d in deltas if d.kind == "reasoning")
            answer = "".join(d.text for d in deltas if d.kind == "text")
            assert (reasoning, answer) == ("a < b", "So: a</think>"), (i, j)


def test_a_think_tag_later_in_the_answer_stays_text() -> None:
    chunks = ["Use the ", "<think>", " tag."]
    with openai_server(Answer(text=chunks)) as server:
        got = run(server)
    assert (got.reasoning, got.text) == ("", "Use the <think> tag.")


# Usage


def test_usage_is_requested_and_reported_once_at_the_end() -> None:
    with openai_server(Answer(text=["Hi."], usage=(17, 3))) as server:
        events = list(OpenAICompatProvider().stream(spec(server), PROMPT))
        sent = server.requests[0].body
    assert sent["stream_options"] == {"include_usage": True}
    assert events == [Delta("text", "Hi."), Usage(input_tokens=17, output_tokens=3)]


def test_usage_is_unknown_when_the_server_ignores_include_usage() -> None:
    with openai_server(Answer(text=["Hi."], send_usage=False)) as server:
        got = run(server)
    assert got.text == "Hi."
    assert got.usages == [Usage(input_tokens=None, output_tokens=None)]


def test_a_server_that_rejects_stream_options_is_asked_again_without_them() -> None:
    refusal = HttpError(400, "Unrecognized request argument supplied: stream_options")
    with openai_server(refusal, Answer(text=["Hi."])) as server:
        got = run(server)
        bodies = [r.body for r in server.requests]
    assert got.text == "Hi."
    assert "stream_options" in bodies[0]
    assert "stream_options" not in bodies[1]


# What is sent


def test_model_params_and_system_prompt_are_sent() -> None:
    params = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "top_k": 40, "n": 5, "x": 1}
    with openai_server() as server:
        run(server, params=params)
        sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "fake-model"
    assert sent.body["stream"] is True
    assert sent.body["messages"] == [
        {"role": "system", "content": "You write Python."},
        {"role": "user", "content": "Print hello."},
    ]
    assert (sent.body["temperature"], sent.body["top_p"], sent.body["max_tokens"]) == (
        0.2,
        0.9,
        300,
    )
    assert sent.body["top_k"] == 40  # a vLLM extension, sent in the body
    assert "n" not in sent.body and "x" not in sent.body


def test_the_key_is_read_from_the_named_env_var_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = OpenAICompatProvider()
    monkeypatch.setenv(KEY_ENV, "sk-rotated")
    with openai_server(api_key="sk-rotated") as server:
        got = collect(provider.stream(spec(server), PROMPT))
        headers = server.requests[0].headers
    assert got.text
    assert headers["authorization"] == "Bearer sk-rotated"


def test_a_missing_key_names_the_env_var_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    with openai_server() as server:
        error, _ = failure(server)
        assert server.requests == []
    assert str(error) == f"environment variable {KEY_ENV} is not set"


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "openai_api_key", "X_API_KEY "])
def test_a_key_variable_outside_the_allow_list_is_refused_and_nothing_sent(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "the-secret")
    with openai_server() as server:
        error, _ = failure(server, api_key_env=name)
        assert server.requests == []
    assert "_API_KEY" in str(error) and "the-secret" not in str(error)


def test_a_local_server_needs_no_key_env() -> None:
    with openai_server() as server:
        got = run(server, api_key_env="")
        headers = server.requests[0].headers
    assert got.text
    assert headers["authorization"] == "Bearer not-needed"


def test_the_sdk_retries_nothing_by_itself() -> None:
    with openai_server(HttpError(500), HttpError(500)) as server:
        failure(server, max_retries=0)
        assert server.attempts == 1


# Retries


def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    sleeps: list[float] = []
    with openai_server(HttpError(429, retry_after="1"), Answer(text=["ok"])) as server:
        got = run(server, sleeps)
        assert server.attempts == 2
    assert got.text == "ok"
    assert sleeps == [1.0]


def test_retry_after_ms_is_understood() -> None:
    sleeps: list[float] = []
    rate_limited = HttpError(429, headers={"retry-after-ms": "250"})
    with openai_server(rate_limited, Answer(text=["ok"])) as server:
        run(server, sleeps)
    assert sleeps == [0.25]


def test_server_errors_are_retried_with_growing_backoff_until_success() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=10)
    provider = OpenAICompatProvider(retry_policy=policy, sleep=sleeps.append)
    with openai_server(HttpError(500), HttpError(503), HttpError(502), Answer(["ok"])) as server:
        got = collect(provider.stream(spec(server, max_retries=3), PROMPT))
        assert server.attempts == 4
    assert got.text == "ok"
    assert [round(s, 3) for s in sleeps] == sorted(round(s, 3) for s in sleeps)
    assert 0.05 <= sleeps[0] <= 0.1 and 0.2 <= sleeps[2] <= 0.4  # jittered, doubling


def test_retries_stop_after_max_retries() -> None:
    sleeps: list[float] = []
    with openai_server(*[HttpError(500)] * 5) as server:
        error, _ = failure(server, sleeps, max_retries=2)
        assert server.attempts == 3
    assert str(error).startswith("server error 500")
    assert error.retryable
    assert len(sleeps) == 2


def test_a_long_retry_after_fails_at_once_instead_of_making_the_rater_wait() -> None:
    sleeps: list[float] = []
    with openai_server(HttpError(429, retry_after="120")) as server:
        error, _ = failure(server, sleeps)
        assert server.attempts == 1
    assert str(error).startswith("rate limited")
    assert sleeps == []


def test_a_connection_drop_before_the_first_token_is_retried() -> None:
    with openai_server(Answer(text=["lost"], drop_after=0), Answer(text=["ok"])) as server:
        got = run(server)
        assert server.attempts == 2
    assert got.text == "ok"


def test_nothing_is_retried_after_the_first_token() -> None:
    dropped = Answer(text=["Hel", "lo", " world"], drop_after=2)
    with openai_server(dropped, Answer(text=["again"])) as server:
        error, got = failure(server)
        assert server.attempts == 1
    assert got.text == "Hello"  # the caller keeps the partial answer
    assert str(error) == "the connection to the model server was lost"


def test_an_unreachable_server_is_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    provider = OpenAICompatProvider(retry_policy=FAST, sleep=sleeps.append)
    model = ModelSpec("x", "openai", "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(ProviderError, match="could not connect to the model server"):
        collect(provider.stream(model, PROMPT))
    assert len(sleeps) == 2


# Timeouts, broken streams


def test_a_silent_server_times_out_without_a_retry() -> None:
    with openai_server(Answer(text=["late"], first_delay_s=5)) as server:
        started = time.monotonic()
        error, _ = failure(server, timeout_s=0.3)
        elapsed = time.monotonic() - started
        assert server.attempts == 1
    assert str(error) == "the model server did not respond within 0.3s"
    assert elapsed < 5  # gave up before the server would have answered


def test_a_stall_mid_stream_times_out_and_keeps_the_partial_answer() -> None:
    with openai_server(Answer(text=["part", "never"], delays=[0, 5])) as server:
        error, got = failure(server, timeout_s=0.5)
        assert server.attempts == 1
    assert got.text == "part"
    assert str(error) == "the model server did not respond within 0.5s"


def test_a_garbled_chunk_is_an_error_after_the_text_so_far() -> None:
    with openai_server(Answer(text=["ok ", "then"], garble_after=1)) as server:
        error, got = failure(server)
    assert got.text == "ok "
    assert str(error) == "the server sent a malformed chunk"


def test_a_stream_that_ends_without_finishing_is_an_error() -> None:
    with openai_server(Answer(text=["half an ans"], finish=False)) as server:
        error, got = failure(server)
    assert got.text == "half an ans"
    assert str(error) == "the stream ended before the model finished"


@pytest.mark.parametrize("chunks", [[], ["  ", "\n"]])
def test_an_empty_answer_is_an_error(chunks: list[str]) -> None:
    with openai_server(Answer(text=chunks)) as server:
        error, _ = failure(server)
    assert str(error) == "the model returned an empty answer"


def test_a_reasoning_only_answer_is_empty() -> None:
    with openai_server(Answer(reasoning=["thinking..."])) as server:
        error, _ = failure(server)
    assert str(error) == "the model returned an empty answer"


def test_an_error_sent_inside_the_stream_is_reported() -> None:
    answer = Answer(text=["a"], error_after=1, error_message="context length exceeded")
    with openai_server(answer) as server:
        error, got = failure(server)
    assert got.text == "a"
    assert str(error) == "the server reported an error: context length exceeded"


# Cancellation


def test_closing_the_stream_early_hangs_up_on_the_server() -> None:
    long_answer = text_answer("x" * 2000, size=10, delay_s=0.02)
    with openai_server(long_answer) as server:
        stream = OpenAICompatProvider().stream(spec(server), PROMPT)
        assert next(stream) == Delta("text", "x" * 10)
        assert not server.wait_for_disconnect(timeout=0.2)  # still reading: no hang-up yet
        stream.close()  # the rater left
        assert server.wait_for_disconnect(timeout=3)
        assert server.disconnects == 1


# Error mapping


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "bad request (400): messages: too many"),
        (401, f"authentication failed (check {KEY_ENV})"),
        (403, f"authentication failed (check {KEY_ENV})"),
        (404, "model 'fake-model' not found: no such model"),
        (429, "rate limited: slow down"),
        (500, "server error 500: boom"),
        (503, "server error 503: busy"),
    ],
)
def test_http_errors_are_mapped_to_safe_messages(status: int, expected: str) -> None:
    messages = {400: "messages: too many", 404: "no such model", 429: "slow down", 500: "boom"}
    reply = HttpError(status, messages.get(status, "busy" if status == 503 else ""))
    with openai_server(reply) as server:
        error, _ = failure(server, max_retries=0)
    assert str(error) == expected
    assert error.retryable == (status in (429, 500, 503))


def test_a_wrong_key_fails_once_and_never_shows_the_key() -> None:
    with openai_server(api_key="sk-the-right-one") as server:
        error, _ = failure(server)
        assert server.attempts == 1
    assert str(error) == f"authentication failed (check {KEY_ENV})"
    assert KEY not in repr(error) and KEY not in str(error.__cause__)


def test_an_unknown_model_is_not_found() -> None:
    with openai_server(models={"other-model"}) as server:
        error, _ = failure(server)
    assert str(error).startswith("model 'fake-model' not found")


def test_a_server_message_is_shortened_and_scrubbed_of_the_key() -> None:
    reply = HttpError(400, f"Invalid key {KEY} in request. " + "blah " * 200)
    with openai_server(reply) as server:
        error, _ = failure(server)
    assert KEY not in str(error)
    assert "Invalid key *** in request." in str(error)
    assert len(str(error)) < 250
    assert "\n" not in str(error) and "Traceback" not in str(error)
