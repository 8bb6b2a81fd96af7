"""OpenAI-compatible chat completions, streamed: OpenAI, vLLM, Ollama, llama.cpp, OpenRouter."""

from __future__ import annotations

import json
import logging
from base64 import b64encode
from collections.abc import Iterator
from typing import Any, cast

import openai
from openai import Stream
from openai.types.chat import ChatCompletionChunk

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

# Sampling knobs of the chat completions API; anything else in ModelSpec.params is dropped
# so an admin typo (or `n`, `stream`, `tools`) cannot change what the arena receives.
PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "reasoning_effort",
    }
)
# Extensions understood by vLLM, OpenRouter and llama.cpp; the SDK sends them as extra body.
EXTRA_BODY_PARAMS = frozenset({"top_k", "min_p", "repetition_penalty"})
# Where servers put reasoning: vLLM and DeepSeek use the first, OpenRouter and Ollama the second.
REASONING_FIELDS = ("reasoning_content", "reasoning")


class OpenAICompatProvider(SdkProvider):
    def _client(self, model: ModelSpec, key: str) -> openai.OpenAI:
        timeout = openai.Timeout(model.timeout_s, connect=connect_timeout(model))
        return openai.OpenAI(
            api_key=key,
            base_url=model.base_url or None,
            timeout=timeout,
            max_retries=0,  # retries are ours: only before the first token
            http_client=openai.DefaultHttpxClient(verify=tls_context(), timeout=timeout),
        )

    def _open(
        self, client: openai.OpenAI, model: ModelSpec, messages: list[Message]
    ) -> Stream[ChatCompletionChunk]:
        return _open(client, request_body(model, messages))

    def _events(self, stream: Stream[ChatCompletionChunk]) -> Iterator[StreamEvent]:
        return _events(stream)

    def _mapped(self, err: Exception, model: ModelSpec, key: str) -> ProviderError:
        return _mapped(err, model, key)


def request_body(model: ModelSpec, messages: list[Message]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model.model_id,
        "messages": [{"role": m.role, "content": _content(m)} for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    extra: dict[str, Any] = {}
    for name, value in model.params.items():
        if name in PARAMS:
            body[name] = value
        elif name in EXTRA_BODY_PARAMS:
            extra[name] = value
        else:
            log.warning("model %s: ignoring unsupported parameter %r", model.name, name)
    if extra:
        body["extra_body"] = extra
    return body


def _content(message: Message) -> str | list[dict[str, Any]]:
    """Plain text, or a text part then one `image_url` data-URL part per PNG (the vision
    format of OpenAI, vLLM and OpenRouter)."""
    if not message.images:
        return message.content
    parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for png in message.images:
        url = "data:image/png;base64," + b64encode(png).decode()
        parts.append({"type": "image_url", "image_url": {"url": url}})
    return parts


def _open(client: openai.OpenAI, body: dict[str, Any]) -> Stream[ChatCompletionChunk]:
    try:
        return cast(Stream[ChatCompletionChunk], client.chat.completions.create(**body))
    except openai.BadRequestError as err:
        # Some older servers reject stream_options; usage is nice to have, the answer is not.
        if "stream_options" not in str(err.message):
            raise
        body = {k: v for k, v in body.items() if k != "stream_options"}
        return cast(Stream[ChatCompletionChunk], client.chat.completions.create(**body))


def _events(chunks: Stream[ChatCompletionChunk]) -> Iterator[StreamEvent]:
    splitter = ThinkSplitter()
    finished = answered = False
    usage: Any = None
    for chunk in chunks:
        usage = getattr(chunk, "usage", None) or usage
        for choice in getattr(chunk, "choices", None) or []:
            if choice.index != 0:
                continue
            finished = finished or bool(choice.finish_reason)
            for delta in _deltas(choice.delta, splitter):
                answered = answered or (delta.kind == "text" and bool(delta.text.strip()))
                yield delta
    for delta in splitter.finish():
        answered = answered or (delta.kind == "text" and bool(delta.text.strip()))
        yield delta
    if not finished:
        raise RetryableError("the stream ended before the model finished")
    if not answered:
        raise ProviderError("the model returned an empty answer")
    yield Usage(
        input_tokens=getattr(usage, "prompt_tokens", None),
        output_tokens=getattr(usage, "completion_tokens", None),
    )


def _deltas(delta: Any, splitter: ThinkSplitter) -> Iterator[Delta]:
    if delta is None:
        return
    for field in REASONING_FIELDS:
        reasoning = getattr(delta, field, None)
        if isinstance(reasoning, str) and reasoning:
            yield Delta("reasoning", reasoning)
            break
    if delta.content:
        yield from splitter.feed(delta.content)


def _mapped(err: Exception, model: ModelSpec, key: str) -> ProviderError:
    """Turn whatever the SDK raised into an error a rater may read."""
    if isinstance(err, ProviderError):
        return err
    network = transport_failure(err, model)
    if network is not None:
        return network
    if isinstance(err, openai.APIStatusError):
        message = safe_text(server_message(err.body) or str(err.message), key)
        return status_error(err.status_code, message, model=model, headers=err.response.headers)
    if isinstance(err, openai.APIError):
        # An `{"error": ...}` object sent inside the stream (vLLM, OpenRouter do this).
        return ProviderError(f"the server reported an error: {safe_text(str(err.message), key)}")
    if isinstance(err, json.JSONDecodeError):
        return ProviderError("the server sent a malformed chunk")
    log.exception("model %s: unexpected error from the OpenAI SDK", model.name)
    return ProviderError("unexpected error while talking to the model server")
