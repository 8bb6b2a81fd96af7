"""The OpenAI chat completions wire protocol: `POST /v1/chat/completions`, `stream: true`."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.script import Answer, HttpError, RecordedRequest, word_count
from tests.fakes.server import Failure, FakeServer, sse

ERROR_DEFAULTS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("invalid_request_error", "Incorrect API key provided."),
    403: ("invalid_request_error", "You are not allowed to use this model."),
    404: ("invalid_request_error", "The model does not exist or you do not have access to it."),
    429: ("requests", "Rate limit reached for requests."),
    500: ("server_error", "The server had an error while processing your request."),
    503: ("server_error", "The engine is currently overloaded, please try again later."),
}


class OpenAIProtocol:
    stream_path = "/v1/chat/completions"
    base_path = "/v1"

    def check(self, request: RecordedRequest, server: FakeServer) -> Failure | None:
        auth = request.headers.get("authorization", "")
        if server.api_key is not None and auth != f"Bearer {server.api_key}":
            return self.failure(HttpError(401), request)
        model = _model(request)
        if server.models is not None and model not in server.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return _failure(404, "invalid_request_error", message, code="model_not_found")
        if not isinstance(request.body, dict) or request.body.get("stream") is not True:
            return _failure(400, "invalid_request_error", "This fake server only streams.")
        return None

    def failure(self, error: HttpError, request: RecordedRequest) -> Failure:
        kind, default = ERROR_DEFAULTS.get(error.status, ("server_error", "Error."))
        failure = _failure(error.status, kind, error.message or default)
        if error.retry_after is not None:
            failure.headers["retry-after"] = error.retry_after
        failure.headers.update(error.headers)
        return failure

    def renderer(self, answer: Answer, request: RecordedRequest) -> ChunkRenderer:
        return ChunkRenderer(answer, request)

    def get(self, path: str, server: FakeServer) -> Failure | dict[str, Any]:
        if path == "/v1/models":
            names = sorted(server.models or {"fake-model"})
            return {"object": "list", "data": [_model_entry(name) for name in names]}
        return _failure(404, "invalid_request_error", f"Unknown path {path}.")


class ChunkRenderer:
    """`data: {chat.completion.chunk}` lines, an optional usage chunk, then `data: [DONE]`."""

    def __init__(self, answer: Answer, request: RecordedRequest) -> None:
        self.answer = answer
        self.request = request
        options = request.body.get("stream_options") or {}
        self.include_usage = bool(options.get("include_usage")) and answer.send_usage
        self.base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": _model(request),
            "system_fingerprint": "fp_fake",
        }

    def opening(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def piece(self, kind: str, text: str) -> list[bytes]:
        field = self.answer.reasoning_field if kind == "reasoning" else "content"
        return [self._chunk({field: text})]

    def closing(self) -> list[bytes]:
        if not self.answer.finish:
            return []
        frames = [self._chunk({}, finish_reason=self.answer.stop_reason)]
        if self.include_usage:
            prompt, completion = self.answer.usage or (
                word_count(self.request.body),
                len(self.answer.pieces),
            )
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            frames.append(sse({**self.base, "choices": [], "usage": usage}))
        frames.append(b"data: [DONE]\n\n")
        return frames

    def garbled(self) -> bytes:
        return b'data: {"id":"chatcmpl-fake","choices":[{"index":0,"delta":{"content":"oo\n\n'

    def error_event(self) -> bytes:
        error = {"message": self.answer.error_message, "type": "server_error", "code": None}
        return sse({"error": error})

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk: dict[str, Any] = {**self.base, "choices": [choice]}
        if self.include_usage:
            chunk["usage"] = None  # as OpenAI does on every chunk but the last
        return sse(chunk)


def _model(request: RecordedRequest) -> str:
    body = request.body if isinstance(request.body, dict) else {}
    return str(body.get("model", ""))


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "fake"}


def _failure(status: int, kind: str, message: str, code: str | None = None) -> Failure:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Failure(status, body, {})
