"""Asking judges: LLMs over the OpenAI and Anthropic protocols, a reward model's scoring
endpoint, and the baselines. Real HTTP on loopback; no database."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import pytest

from arena.judges.judging import (
    JudgeCallError,
    LlmPrompts,
    RewardEndpoint,
    ask_baseline,
    ask_llm,
    ask_reward_model,
    parse_score_path,
    score_at,
)
from arena.judges.prompts import (
    DEFAULT_PROMPT_WITH_EXECUTION,
    DEFAULT_PROMPT_WITHOUT_EXECUTION,
    DEFAULT_SYSTEM_PROMPT,
    ExecutionEvidence,
    JudgeInput,
)
from arena.judges.verdicts import Preference
from arena.llms.types import ModelSpec
from tests.fakes import Answer, HttpError, anthropic_server, openai_server, text_answer
from tests.fakes.scoring import ScoreReply, scoring_server

PROMPTS = LlmPrompts(
    DEFAULT_SYSTEM_PROMPT, DEFAULT_PROMPT_WITH_EXECUTION, DEFAULT_PROMPT_WITHOUT_EXECUTION
)
BATTLE = JudgeInput(
    instruction="Print the first 3 primes.",
    answer_a="```python\nprint(2, 3, 5)\n```",
    answer_b="```python\nprint(1, 2, 3)\n```",
    execution_a=ExecutionEvidence(status="ok", stdout="2 3 5\n", exit_code=0),
    execution_b=ExecutionEvidence(
        status="runtime_error", stdout="", stderr="NameError: prnt", exit_code=1
    ),
)


def spec(provider: str, base_url: str, **fields: object) -> ModelSpec:
    return ModelSpec(
        name="judge",
        provider=provider,
        model_id="judge-1",
        base_url=base_url,
        max_retries=0,
        **fields,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("server", [openai_server, anthropic_server])
def test_an_llm_judge_is_asked_through_each_protocol_and_its_verdict_read(server) -> None:
    reply = Answer(text=["A prints the primes; B does not.\n", "[[A>>B]]"], usage=(321, 12))
    with server(reply) as srv:
        outcome = ask_llm(spec(_kind(server), srv.base_url), PROMPTS, BATTLE, "ab", True)
    assert outcome.preference is Preference.A_MUCH_BETTER
    assert outcome.format == "arena_hard"
    assert (outcome.input_tokens, outcome.output_tokens) == (321, 12)
    assert outcome.raw_text.endswith("[[A>>B]]")
    assert outcome.latency_ms >= 0


def _kind(server) -> str:
    return "openai" if server is openai_server else "anthropic"


def test_with_execution_the_judge_sees_output_and_errors_and_without_it_does_not() -> None:
    with openai_server(text_answer("[[A>B]]"), text_answer("[[A>B]]")) as srv:
        ask_llm(spec("openai", srv.base_url), PROMPTS, BATTLE, "ab", True)
        ask_llm(spec("openai", srv.base_url), PROMPTS, BATTLE, "ab", False)
        seen_with, seen_without = srv.requests[0].prompt, srv.requests[1].prompt
    assert "2 3 5" in seen_with and "NameError: prnt" in seen_with and "runtime_error" in seen_with
    assert "2 3 5" not in seen_without and "NameError" not in seen_without
    assert srv.requests[0].messages[0]["role"] == "system"


def test_in_the_swapped_order_answer_a_is_the_battles_model_b() -> None:
    with openai_server(text_answer("[[A>B]]")) as srv:
        outcome = ask_llm(spec("openai", srv.base_url), PROMPTS, BATTLE, "ba", True)
        prompt = srv.requests[0].prompt
    assert prompt.index("print(1, 2, 3)") < prompt.index("print(2, 3, 5)")
    assert prompt.index("NameError") < prompt.index("2 3 5")
    assert outcome.preference is Preference.A_BETTER  # in the shown positions


def png(width: int) -> bytes:
    """A real (tiny, grey) PNG of `width` x 1 pixels: two pages' screenshots differ."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x80" * width)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PAGES = JudgeInput(
    instruction="Make a landing page.",
    answer_a="```html\n<h1>A</h1>\n```",
    answer_b="```html\n<h1>B</h1>\n```",
    execution_a=ExecutionEvidence(status="ok", preview=True, screenshots=(png(3),)),
    execution_b=ExecutionEvidence(status="ok", preview=True, screenshots=(png(5),)),
)


def sent_images(request) -> list[bytes]:
    """The images of the user message, in order, as either protocol carries them."""
    content = request.messages[-1]["content"]
    if isinstance(content, str):
        return []
    images = []
    for part in content:
        if part["type"] == "image_url":  # OpenAI: a data URL
            prefix, data = part["image_url"]["url"].split(",", 1)
            assert prefix == "data:image/png;base64"
            images.append(base64.b64decode(data))
        elif part["type"] == "image":  # Anthropic: a base64 source block
            assert part["source"]["type"] == "base64"
            assert part["source"]["media_type"] == "image/png"
            images.append(base64.b64decode(part["source"]["data"]))
    return images


@pytest.mark.parametrize("server", [openai_server, anthropic_server])
def test_with_execution_the_judge_is_sent_each_pages_screenshot_in_the_shown_order(
    server,
) -> None:
    with server(text_answer("[[A>B]]"), text_answer("[[A>B]]"), text_answer("[[A>B]]")) as srv:
        ask_llm(spec(_kind(server), srv.base_url), PROMPTS, PAGES, "ab", True)
        ask_llm(spec(_kind(server), srv.base_url), PROMPTS, PAGES, "ba", True)
        ask_llm(spec(_kind(server), srv.base_url), PROMPTS, PAGES, "ab", False)
        shown_ab, shown_ba, blind = srv.requests
    assert sent_images(shown_ab) == [png(3), png(5)]
    assert sent_images(shown_ba) == [png(5), png(3)]  # A is the battle's model_b
    assert "screenshot after loading is attached" in shown_ab.prompt
    assert "in order: 1 of Assistant A's page then 1 of Assistant B's page" in shown_ab.prompt
    assert sent_images(blind) == [] and "screenshot" not in blind.prompt


def test_a_page_without_a_screenshot_is_described_as_such_and_sends_no_image() -> None:
    no_shots = PAGES.without_screenshots()
    with openai_server(text_answer("[[A=B]]")) as srv:
        ask_llm(spec("openai", srv.base_url), PROMPTS, no_shots, "ab", True)
    assert sent_images(srv.requests[0]) == []
    assert isinstance(srv.requests[0].messages[-1]["content"], str)
    assert "no screenshot is available" in srv.requests[0].prompt


def test_a_refusal_is_an_unparseable_outcome_with_its_text_kept() -> None:
    refusal = "I'm sorry, but I can't help with comparing these programs."
    with anthropic_server(text_answer(refusal)) as srv:
        outcome = ask_llm(spec("anthropic", srv.base_url), PROMPTS, BATTLE, "ab", False)
    assert outcome.preference is None
    assert outcome.format == "unparseable"
    assert outcome.raw_text == refusal


def test_a_garbled_stream_is_a_failed_call_not_a_verdict() -> None:
    with (
        openai_server(Answer(text=["[[A", ">B]]"], garble_after=1)) as srv,
        pytest.raises(JudgeCallError, match="malformed"),
    ):
        ask_llm(spec("openai", srv.base_url), PROMPTS, BATTLE, "ab", True)


def test_a_judge_that_does_not_answer_in_time_fails_with_a_timeout() -> None:
    with (
        openai_server(Answer(text=["[[A>B]]"], first_delay_s=3)) as srv,
        pytest.raises(JudgeCallError, match="did not respond within"),
    ):
        ask_llm(spec("openai", srv.base_url, timeout_s=0.5), PROMPTS, BATTLE, "ab", True)


def test_a_server_error_fails_the_call_with_a_safe_message() -> None:
    with (
        anthropic_server(HttpError(500)) as srv,
        pytest.raises(JudgeCallError, match="server error 500"),
    ):
        ask_llm(spec("anthropic", srv.base_url), PROMPTS, BATTLE, "ab", True)


# --- Reward models -----------------------------------------------------------------------

TEMPLATE = {
    "model": "rm",
    "messages": [
        {"role": "user", "content": "{instruction}"},
        {"role": "assistant", "content": "{answer}\n{execution}"},
    ],
}


def endpoint(url: str, **fields: object) -> RewardEndpoint:
    return RewardEndpoint(url=url, request_template=TEMPLATE, score_path="score", **fields)  # type: ignore[arg-type]


def primes_score(body: dict) -> float:
    return 1.0 if "2, 3, 5" in body["messages"][1]["content"] else -1.0


def test_a_reward_model_scores_each_answer_and_the_higher_score_wins() -> None:
    with scoring_server(score=primes_score) as srv:
        outcome = ask_reward_model(endpoint(srv.url), BATTLE, "ab", True)
        swapped = ask_reward_model(endpoint(srv.url), BATTLE, "ba", True)
    assert (outcome.score_a, outcome.score_b) == (1.0, -1.0)
    assert outcome.preference is Preference.A_BETTER
    assert swapped.preference is Preference.B_BETTER  # positions swapped, same opinion
    first = srv.bodies[0]["messages"]
    assert first[0]["content"] == "Print the first 3 primes."
    assert "2 3 5" in first[1]["content"]  # the execution evidence, quoted safely in JSON


def test_without_execution_the_reward_model_gets_no_evidence() -> None:
    with scoring_server() as srv:
        ask_reward_model(endpoint(srv.url), BATTLE, "ab", False)
    assert all("Status:" not in body["messages"][1]["content"] for body in srv.bodies)


def test_scores_within_the_tie_margin_are_a_tie() -> None:
    scores = iter([0.70, 0.68, 0.70, 0.60])
    with scoring_server(score=lambda body: next(scores)) as srv:
        close = ask_reward_model(endpoint(srv.url, tie_margin=0.05), BATTLE, "ab", True)
        apart = ask_reward_model(endpoint(srv.url, tie_margin=0.05), BATTLE, "ab", True)
    assert close.preference is Preference.TIE
    assert apart.preference is Preference.A_BETTER


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (ScoreReply(body="<html>Bad gateway</html>", content_type="text/html"), "sent no JSON"),
        (ScoreReply(body='{"result": 1}'), "has no 'score'"),
        (ScoreReply(body='{"score": "high"}'), "is not a number"),
        (ScoreReply(body='{"score": NaN}'), "is not a number"),
        (ScoreReply(status=503, body='{"error": "overloaded"}'), "answered 503"),
        (ScoreReply(status=400, body='{"error": "I cannot score this content"}'), "cannot score"),
    ],
)
def test_garbage_and_refusals_from_the_scoring_endpoint_fail_the_call(
    reply: ScoreReply, message: str
) -> None:
    with scoring_server(reply) as srv, pytest.raises(JudgeCallError, match=message):
        ask_reward_model(endpoint(srv.url), BATTLE, "ab", True)


def test_a_scoring_endpoint_that_hangs_times_out() -> None:
    with (
        scoring_server(ScoreReply(delay_s=3)) as srv,
        pytest.raises(JudgeCallError, match="did not answer within 0.5s"),
    ):
        ask_reward_model(endpoint(srv.url, timeout_s=0.5), BATTLE, "ab", True)


def test_an_unreachable_scoring_endpoint_fails_the_call() -> None:
    with scoring_server() as srv:
        url = srv.url
    with pytest.raises(JudgeCallError, match="could not connect"):
        ask_reward_model(endpoint(url), BATTLE, "ab", True)


def test_the_key_comes_from_the_named_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RM_KEY", "sk-rm")
    with scoring_server() as srv:
        ask_reward_model(endpoint(srv.url, api_key_env="RM_KEY"), BATTLE, "ab", True)
    assert srv.headers[0]["authorization"] == "Bearer sk-rm"
    monkeypatch.delenv("RM_KEY")
    with pytest.raises(JudgeCallError, match="RM_KEY is not set"):
        ask_reward_model(endpoint(srv.url, api_key_env="RM_KEY"), BATTLE, "ab", True)


def test_score_paths_reach_into_nested_replies() -> None:
    reply = json.loads('{"data": [{"score": 2.5}], "rewards": [[0.1, 0.9]]}')
    assert score_at(reply, "data.0.score") == 2.5
    assert score_at(reply, "$.rewards[0][1]") == 0.9
    assert parse_score_path("a[2].b") == ["a", 2, "b"]
    with pytest.raises(ValueError, match="empty"):
        parse_score_path(" ")


# --- Baselines ---------------------------------------------------------------------------


def test_the_execution_baseline_prefers_the_program_that_ran() -> None:
    assert (
        ask_baseline("execution_succeeded", BATTLE, "ab", seed=1, key="x").preference
        is Preference.A_BETTER
    )
    assert (
        ask_baseline("execution_succeeded", BATTLE, "ba", seed=1, key="x").preference
        is Preference.B_BETTER
    )
    neither = JudgeInput("q", "a", "b", ExecutionEvidence("not_run"), ExecutionEvidence("timeout"))
    assert (
        ask_baseline("execution_succeeded", neither, "ab", seed=1, key="x").preference
        is Preference.BOTH_BAD
    )


def test_the_length_baseline_prefers_the_longer_answer() -> None:
    battle = JudgeInput(
        "q", "short", "much longer", ExecutionEvidence("ok"), ExecutionEvidence("ok")
    )
    assert (
        ask_baseline("longer_answer", battle, "ab", seed=1, key="x").preference
        is Preference.B_BETTER
    )
    same = JudgeInput("q", "same", "size", ExecutionEvidence("ok"), ExecutionEvidence("ok"))
    assert ask_baseline("longer_answer", same, "ab", seed=1, key="x").preference is Preference.TIE


def test_the_random_baseline_is_a_function_of_its_seed_and_covers_every_outcome() -> None:
    draws = [
        ask_baseline("seeded_random", BATTLE, "ab", seed=7, key=str(i)).preference
        for i in range(200)
    ]
    again = [
        ask_baseline("seeded_random", BATTLE, "ab", seed=7, key=str(i)).preference
        for i in range(200)
    ]
    other = [
        ask_baseline("seeded_random", BATTLE, "ab", seed=8, key=str(i)).preference
        for i in range(200)
    ]
    assert draws == again
    assert draws != other
    assert set(draws) == {
        Preference.A_BETTER,
        Preference.B_BETTER,
        Preference.TIE,
        Preference.BOTH_BAD,
    }


def test_a_failed_build_is_described_by_its_errors_and_an_apps_screenshot_is_announced() -> None:
    broken = ExecutionEvidence(status="compile_error", stderr="Unexpected token", preview=True)
    assert "Status: compile_error" in broken.describe()
    assert "Unexpected token" in broken.describe()
    app = ExecutionEvidence(status="ok", stdout="serving", screenshots=(png(3),))
    assert "Status: ok" in app.describe()
    assert "screenshot once it had rendered is attached" in app.describe()
