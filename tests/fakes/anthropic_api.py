"""The Anthropic Messages wire protocol: `POST /v1/messages` with `stream: true`."""

from __future__ import annotations

from typing import Any

from tests.fakes.script import Answer, HttpError, RecordedRequest, word_count
from tests.fakes.server import Failure, FakeServer, sse

ERROR_DEFAULTS = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error."),
    529: ("overloaded_error", "Overloaded"),
}
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


class AnthropicProtocol:
    stream_path = "/v1/messages"
    base_path = ""

    def check(self, request: RecordedRequest, server: FakeServer) -> Failure | None:
        if server.api_key is not None and sent_key(request) != server.api_key:
            return self.failure(HttpError(401), request)
        body = request.body if isinstance(request.body, dict) else {}
        model = str(body.get("model", ""))
        if server.models is not None and model not in server.models:
            return _failure(404, "not_found_error", f"model: {model}")
        if "max_tokens" not in body:
            return _failure(400, "invalid_request_error", "max_tokens: Field required")
        if body.get("stream") is not True:
            return _failure(400, "invalid_request_error", "This fake server only streams.")
        return None

    def failure(self, error: HttpError, request: RecordedRequest) -> Failure:
        kind, default = ERROR_DEFAULTS.get(error.status, ("api_error", "Error."))
        failure = _failure(error.status, kind, error.message or default)
        if error.retry_after is not None:
            failure.headers["retry-after"] = error.retry_after
        failure.headers.update(error.headers)
        return failure

    def renderer(self, answer: Answer, request: RecordedRequest) -> EventRenderer:
        return EventRenderer(answer, request)

    def get(self, path: str, server: FakeServer) -> Failure | dict[str, Any]:
        if path == "/v1/models":
            names = sorted(server.models or {"fake-claude"})
            data = [{"type": "model", "id": n, "display_name": n} for n in names]
            return {"data": data, "has_more": False, "first_id": None, "last_id": None}
        return _failure(404, "not_found_error", f"Unknown path {path}.")


class EventRenderer:
    """message_start, one content block per kind (thinking, then text), message_delta/stop."""

    def __init__(self, answer: Answer, request: RecordedRequest) -> None:
        self.answer = answer
        self.request = request
        self.index = -1
        self.block: str | None = None  # "thinking" or "text" while a block is open

    def opening(self) -> list[bytes]:
        input_tokens = self.answer.usage[0] if self.answer.usage else word_count(self.request.body)
        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": str(self.request.body.get("model", "")),
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        return [
            sse({"type": "message_start", "message": message}, "message_start"),
            sse({"type": "ping"}, "ping"),
        ]

    def piece(self, kind: str, text: str) -> list[bytes]:
        block = "thinking" if kind == "reasoning" else "text"
        frames = self._switch_to(block)
        delta_type = "thinking_delta" if block == "thinking" else "text_delta"
        delta = {"type": delta_type, block: text}
        frames.append(self._event("content_block_delta", delta=delta))
        return frames

    def closing(self) -> list[bytes]:
        frames = self._close_block()
        if not self.answer.finish:
            return frames
        output_tokens = self.answer.usage[1] if self.answer.usage else len(self.answer.pieces)
        stop_reason = STOP_REASONS.get(self.answer.stop_reason, self.answer.stop_reason)
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        frames.append(sse(delta, "message_delta"))
        frames.append(sse({"type": "message_stop"}, "message_stop"))
        return frames

    def garbled(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":\n\n'

    def error_event(self) -> bytes:
        error = {"type": "overloaded_error", "message": self.answer.error_message}
        return sse({"type": "error", "error": error}, "error")

    def _switch_to(self, block: str) -> list[bytes]:
        if self.block == block:
            return []
        frames = self._close_block()
        self.index += 1
        self.block = block
        start = {"type": block, block: ""}
        if block == "thinking":
            start["signature"] = ""
        frames.append(self._event("content_block_start", content_block=start))
        return frames

    def _close_block(self) -> list[bytes]:
        if self.block is None:
            return []
        frames = []
        if self.block == "thinking":  # the real API signs a thinking block before closing it
            signature = {"type": "signature_delta", "signature": "ZmFrZS1zaWduYXR1cmU="}
            frames.append(self._event("content_block_delta", delta=signature))
        frames.append(self._event("content_block_stop"))
        self.block = None
        return frames

    def _event(self, name: str, **fields: Any) -> bytes:
        return sse({"type": name, "index": self.index, **fields}, name)


def sent_key(request: RecordedRequest) -> str | None:
    """The API key a request carried: `x-api-key`, or a bearer token as newer SDKs send it."""
    auth = request.headers.get("authorization", "")
    bearer = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
    return request.headers.get("x-api-key") or bearer


def _failure(status: int, kind: str, message: str) -> Failure:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Failure(status, body, {"request-id": "req_fake"})
