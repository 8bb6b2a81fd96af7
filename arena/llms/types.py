"""The provider interface: how the arena talks to any language model.

Django-free on purpose: providers are tested against local HTTP servers without
a database, and a job hands them a plain `ModelSpec` snapshot of the model row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]

# The only environment variables a model may name as its key. An admin who could name
# any (SECRET_KEY, DATABASE_URL) and point the base URL at their own server would have
# the arena send that secret there; an *_API_KEY variable is a key by its operator's intent.
API_KEY_ENV_PATTERN = re.compile(r"[A-Z][A-Z0-9_]*_API_KEY")
API_KEY_ENV_RULE = "capital letters, digits and _, ending in _API_KEY (e.g. OPENAI_API_KEY)"


def is_allowed_key_env(name: str) -> bool:
    return API_KEY_ENV_PATTERN.fullmatch(name) is not None


@dataclass(frozen=True)
class Message:
    """`images` are PNG bytes shown with the text (judges' screenshots). Providers that
    accept images send them after the text; the replay provider reads the text only."""

    role: Role
    content: str
    images: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """What a provider needs to call one model."""

    name: str  # the arena's public name, e.g. "demo-atlas"
    provider: str  # "openai", "anthropic" or "replay"
    model_id: str  # the provider's own id for the model
    base_url: str = ""
    api_key_env: str = ""  # name of the environment variable holding the key, never the key
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, top_p, ...
    timeout_s: float = 120.0
    max_retries: int = 3  # retries on 429/5xx/connection errors, only before the first token


@dataclass(frozen=True)
class Delta:
    """A piece of the answer. Reasoning is kept in the record but never shown to raters."""

    kind: Literal["text", "reasoning"]
    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None


StreamEvent = Delta | Usage


class ProviderError(Exception):
    """A model call failed. The message is safe to show to a rater (no keys, no tracebacks)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Provider(Protocol):
    def stream(self, model: ModelSpec, messages: list[Message]) -> Iterator[StreamEvent]:
        """Yield the answer as it arrives; the caller may stop early and close the iterator
        (the rater left), so implementations release their HTTP stream in `finally`."""
        ...
