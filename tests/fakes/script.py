"""What a fake server answers: scripted replies, one per request."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A streamed 200 reply. Reasoning chunks go first, then text chunks.

    Faults are placed by chunk count, reasoning and text counted together:
    `drop_after=2` sends two chunks, then cuts the connection mid-body.
    """

    text: Sequence[str] = ()
    reasoning: Sequence[str] = ()
    delay_s: float = 0.0  # pause before every chunk
    first_delay_s: float = 0.0  # extra pause before the first chunk (a slow start)
    delays: Sequence[float] = ()  # extra pause before chunk i (a stall mid-stream)
    finish: bool = True  # False: end the body cleanly but without finish_reason / message_stop
    stop_reason: str = "stop"  # OpenAI finish_reason; Anthropic gets end_turn / max_tokens
    usage: tuple[int, int] | None = None  # (input, output); None: counted from the request
    send_usage: bool = True  # False: behave like a server that ignores include_usage
    garble_after: int | None = None  # then send a data line that is not valid JSON
    drop_after: int | None = None  # then close the socket without ending the body
    error_after: int | None = None  # then send an in-stream error event
    error_message: str = "Overloaded"
    reasoning_field: str = "reasoning_content"  # OpenAI only; OpenRouter/Ollama use "reasoning"

    @property
    def pieces(self) -> list[tuple[str, str]]:
        return [("reasoning", r) for r in self.reasoning] + [("text", t) for t in self.text]


@dataclass(frozen=True)
class HttpError:
    """A non-200 reply with the API's real error body."""

    status: int
    message: str = ""  # empty: a realistic default for the status
    retry_after: str | None = None  # sent as the Retry-After header
    headers: dict[str, str] = field(default_factory=dict)


Reply = Answer | HttpError


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return list(self.body.get("messages") or [])
        return []

    @property
    def prompt(self) -> str:
        """The last user message's text (string or content-block form)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text(message.get("content"))
        return ""


Responder = Callable[[RecordedRequest], Reply]


def split_text(text: str, size: int = 16) -> list[str]:
    """Cut `text` into chunks of `size` characters, as a model streams tokens."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def text_answer(text: str, *, size: int = 16, **options: Any) -> Answer:
    """An Answer streaming `text` in chunks of `size` characters."""
    return Answer(text=split_text(text, size), **options)


DEFAULT_CODE = 'print("Hello from the fake model!")'


def markdown(
    code: str = DEFAULT_CODE,
    *,
    language: str = "python",
    intro: str = "Here is a small program that does it:",
    outro: str = "Run it and you will see the greeting.",
) -> str:
    return f"{intro}\n\n```{language}\n{code}\n```\n\n{outro}\n"


def markdown_answer(
    code: str = DEFAULT_CODE, *, language: str = "python", size: int = 16, **options: Any
) -> Answer:
    """A markdown answer with one fenced code block, the default reply of the fakes."""
    return text_answer(markdown(code, language=language), size=size, **options)


def word_count(body: Any) -> int:
    """A stand-in for a tokenizer: words in the messages and system prompt."""
    if not isinstance(body, dict):
        return 0
    texts = [_text(m.get("content")) for m in body.get("messages") or []]
    texts.append(_text(body.get("system")))
    return sum(len(t.split()) for t in texts)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


@dataclass
class Collected:
    """What a provider streamed, gathered for assertions."""

    text: str = ""
    reasoning: str = ""
    deltas: list[Any] = field(default_factory=list)
    usages: list[Any] = field(default_factory=list)


def collect(events: Iterable[Any]) -> Collected:
    """Drain a provider stream (Delta and Usage events) into one Collected."""
    out = Collected()
    for event in events:
        kind = getattr(event, "kind", None)
        if kind is None:
            out.usages.append(event)
            continue
        out.deltas.append(event)
        if kind == "text":
            out.text += event.text
        else:
            out.reasoning += event.text
    return out
