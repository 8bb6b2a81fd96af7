"""Anthropic Messages API, streamed."""

from __future__ import annotations

import json
import logging
from base64 import b64encode
from collections.abc import Iterator
from typing import Any

import anthropic
from anthropic import Stream
from anthropic.types import RawMessageStreamEvent

from arena.llms.providers.sdk import (
    RetryableError,
    SdkProvider,
    connect_timeout,
    safe_text,
    server_message,
    status_error,
    tls_context,
    transport_failure,
)
from arena.llms.providers.thinking import ThinkSplitter
from arena.llms.types import Delta, Message, ModelSpec, ProviderError, StreamEvent, Usage

log = logging.getLogger(__name__)

# The API requires max_tokens; 4096 is the smallest output limit of current models.
DEFAULT_MAX_TOKENS = 4096
# Knobs of the Messages API; anything else in ModelSpec.params is dropped.
# `thinking` ({"type": "enabled", "budget_tokens": N}) turns on extended thinking.
PARAMS = frozenset({"max_tokens", "stop_sequences", "thinking"})
# Sampling knobs go in the extra body: recent SDKs no longer take them as arguments,
# while the API (and older models) still accept them.
EXTRA_BODY_PARAMS = frozenset({"temperature", "top_p", "top_k"})
# Errors sent inside a stream carry a type, not a status; these are their HTTP twins.
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class AnthropicProvider(SdkProvider):
    def _client(self, model: ModelSpec, key: str) -> anthropic.Anthropic:
        timeout = anthropic.Timeout(model.timeout_s, connect=connect_timeout(model))
        return anthropic.Anthropic(
            api_key=key,  # given explicitly, so the SDK consults no env var or profile
            base_url=model.base_url or None,
            timeout=timeout,
            max_retries=0,  # retries are ours: only before the first token
            http_client=anthropic.DefaultHttpxClient(verify=tls_context(), timeout=timeout),
        )

    def _open(
        self, client: anthropic.Anthropic, model: ModelSpec, messages: list[Message]
    ) -> Stream[RawMessageStreamEvent]:
        stream: Stream[RawMessageStreamEvent] = client.messages.create(
            **request_body(model, messages)
        )
        return stream

    def _events(self, stream: Stream[RawMessageStreamEvent]) -> Iterator[StreamEvent]:
        return _events(stream)

    def _mapped(self, err: Exception, model: ModelSpec, key: str) -> ProviderError:
        return _mapped(err, model, key)


def request_body(model: ModelSpec, messages: list[Message]) -> dict[str, Any]:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    body: dict[str, Any] = {
        "model": model.model_id,
        "messages": [
            {"role": m.role, "content": _content(m)} for m in messages if m.role != "system"
        ],
        "max_tokens": DEFAULT_MAX_TOKENS,
        "stream": True,
    }
    if system:
        body["system"] = system
    extra: dict[str, Any] = {}
    for name, value in model.params.items():
        if name in PARAMS:
            body[name] = value
        elif name in EXTRA_BODY_PARAMS:
            extra[name] = value
        elif name == "stop":  # the OpenAI spelling, so one params dict fits both providers
            body["stop_sequences"] = [value] if isinstance(value, str) else list(value)
        else:
            log.warning("model %s: ignoring unsupported parameter %r", model.name, name)
    if extra:
        body["extra_body"] = extra
    return body


def _content(message: Message) -> str | list[dict[str, Any]]:
    """Plain text, or a text block then one base64 image block per PNG."""
    if not message.images:
        return message.content
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for png in message.images:
        source = {"type": "base64", "media_type": "image/png", "data": b64encode(png).decode()}
        blocks.append({"type": "image", "source": source})
    return blocks


class _Answer:
    """What one stream has said so far, to judge how it ended."""

    def __init__(self) -> None:
        self.splitter = ThinkSplitter()
        self.answered = False
        self.finished = False
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def text(self, text: str) -> Iterator[Delta]:
        for delta in self.splitter.feed(text):
            self.answered = self.answered or (delta.kind == "text" and bool(delta.text.strip()))
            yield delta

    def flush(self) -> Iterator[Delta]:
        for delta in self.splitter.finish():
            self.answered = self.answered or (delta.kind == "text" and bool(delta.text.strip()))
            yield delta

    def count(self, usage: Any) -> None:
        # message_start carries the input count; message_delta the running output count.
        if usage is None:
            return
        input_tokens = getattr(usage, "input_tokens", None)
        output_tokens = getattr(usage, "output_tokens", None)
        if input_tokens is not None:
            self.input_tokens = input_tokens
        if output_tokens is not None:
            self.output_tokens = output_tokens


def _events(events: Stream[RawMessageStreamEvent]) -> Iterator[StreamEvent]:
    answer = _Answer()
    for event in events:
        yield from _event(event, answer)
    yield from answer.flush()
    if not answer.finished:
        raise RetryableError("the stream ended before the model finished")
    if not answer.answered:
        raise ProviderError("the model returned an empty answer")
    yield Usage(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)


def _event(event: Any, answer: _Answer) -> Iterator[StreamEvent]:
    kind = getattr(event, "type", None)
    if kind == "message_start":
        answer.count(getattr(event.message, "usage", None))
    elif kind == "content_block_start":
        block = event.content_block
        if block.type == "text" and block.text:
            yield from answer.text(block.text)
        elif block.type == "thinking" and block.thinking:
            yield Delta("reasoning", block.thinking)
    elif kind == "content_block_delta":
        delta = event.delta
        if delta.type == "text_delta" and delta.text:
            yield from answer.text(delta.text)
        elif delta.type == "thinking_delta" and delta.thinking:
            yield Delta("reasoning", delta.thinking)
    elif kind == "message_delta":
        answer.count(getattr(event, "usage", None))
    elif kind == "message_stop":
        answer.finished = True


def _mapped(err: Exception, model: ModelSpec, key: str) -> ProviderError:
    """Turn whatever the SDK raised into an error a rater may read."""
    if isinstance(err, ProviderError):
        return err
    network = transport_failure(err, model)
    if network is not None:
        return network
    if isinstance(err, anthropic.APIStatusError):
        message = safe_text(server_message(err.body) or str(err.message), key)
        status = err.status_code
        if status < 400:  # an `event: error` inside a 200 stream
            error = err.body.get("error") if isinstance(err.body, dict) else None
            error_type = error.get("type") if isinstance(error, dict) else None
            status = ERROR_TYPE_STATUS.get(str(error_type), 500)
        return status_error(status, message, model=model, headers=err.response.headers)
    if isinstance(err, json.JSONDecodeError):
        return ProviderError("the server sent a malformed chunk")
    log.exception("model %s: unexpected error from the Anthropic SDK", model.name)
    return ProviderError("unexpected error while talking to the model server")
