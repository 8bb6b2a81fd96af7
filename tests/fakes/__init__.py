"""Local fake model APIs: real HTTP servers speaking the OpenAI and Anthropic streaming protocols.

Each server runs on 127.0.0.1 on a free port in a background thread, answers
with real wire bytes (chunked `text/event-stream`), and records every request.

    from tests.fakes import Answer, HttpError, openai_server, anthropic_server

    # Default mode: any prompt gets a markdown answer with a fenced code block.
    with openai_server() as srv:
        spec = ModelSpec(name="a", provider="openai", model_id="m", base_url=srv.base_url)

    # Scripted mode: replies are used in order, one per request, then the default.
    with openai_server(HttpError(429, retry_after="0"), Answer(text=["Hel", "lo"])) as srv:
        ...
        assert srv.attempts == 2
        assert srv.requests[-1].headers["authorization"] == "Bearer sk-test"
        assert srv.requests[-1].body["temperature"] == 0.2

`base_url` is what the SDK wants: `http://127.0.0.1:PORT/v1` for OpenAI,
`http://127.0.0.1:PORT` for Anthropic (its SDK adds `/v1/messages`).

Replies (see `script.py`):
- `Answer(text=[...], reasoning=[...], delay_s=, first_delay_s=, delays=[...], finish=,
  stop_reason=,
  usage=(in, out), send_usage=, garble_after=N, drop_after=N, error_after=N,
  reasoning_field="reasoning_content"|"reasoning")`
- `HttpError(status, message="", retry_after=None, headers={})`
- helpers: `text_answer(text, size=16)`, `markdown_answer(code, language="python")`,
  `collect(provider.stream(...))` -> Collected(text, reasoning, deltas, usages).

Server options: `default=` a Reply or a function `RecordedRequest -> Reply`
(e.g. echo the prompt); `api_key=` to answer 401 to any other key; `models=` to
answer 404 to any other model id. At run time: `srv.queue(*replies)`,
`srv.requests`, `srv.attempts`, `srv.wait_for_disconnect(timeout)`, `srv.disconnects`.

From a shell (for a manual battle against two local "models"):
    python -m tests.fakes openai --port 8001
    python -m tests.fakes anthropic --port 8002
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.fakes.anthropic_api import AnthropicProtocol
from tests.fakes.openai_api import OpenAIProtocol
from tests.fakes.script import (
    DEFAULT_CODE,
    Answer,
    Collected,
    HttpError,
    RecordedRequest,
    Reply,
    Responder,
    collect,
    markdown,
    markdown_answer,
    split_text,
    text_answer,
)
from tests.fakes.server import FakeServer

__all__ = [
    "DEFAULT_CODE",
    "Answer",
    "Collected",
    "FakeServer",
    "HttpError",
    "RecordedRequest",
    "Reply",
    "Responder",
    "anthropic_server",
    "collect",
    "markdown",
    "markdown_answer",
    "openai_server",
    "split_text",
    "text_answer",
]


def openai_server(
    *replies: Reply,
    default: Reply | Responder | None = None,
    api_key: str | None = None,
    models: Iterable[str] | None = None,
    port: int = 0,
) -> FakeServer:
    """An OpenAI-compatible server; use it as a context manager (or call start/stop)."""
    return FakeServer(
        OpenAIProtocol(),
        replies,
        default=default or markdown_answer(),
        api_key=api_key,
        models=models,
        port=port,
    )


def anthropic_server(
    *replies: Reply,
    default: Reply | Responder | None = None,
    api_key: str | None = None,
    models: Iterable[str] | None = None,
    port: int = 0,
) -> FakeServer:
    """An Anthropic Messages server; use it as a context manager (or call start/stop)."""
    return FakeServer(
        AnthropicProtocol(),
        replies,
        default=default or markdown_answer(),
        api_key=api_key,
        models=models,
        port=port,
    )
