"""Split an inline `<think>…</think>` block at the start of an answer into reasoning.

Open models served without a reasoning parser (Ollama, llama.cpp, plain vLLM)
write their reasoning into the text. Tags may arrive split across chunks, so the
splitter holds back just enough text to decide, and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from arena.llms.types import Delta

OPEN = "<think>"
CLOSE = "</think>"


class ThinkSplitter:
    def __init__(self) -> None:
        self._state = "start"  # start -> think -> gap -> text, or start -> text
        self._held = ""

    def feed(self, text: str) -> Iterator[Delta]:
        self._held += text
        if self._state == "start":
            self._start()
        if self._state == "think":
            yield from self._think()
        if self._state == "gap":
            self._gap()
        if self._state == "text" and self._held:
            held, self._held = self._held, ""
            yield Delta("text", held)

    def finish(self) -> Iterator[Delta]:
        """Flush what was held: an unclosed think block is all reasoning."""
        held, self._held = self._held, ""
        if not held:
            return
        if self._state == "gap":
            return
        kind: Literal["text", "reasoning"] = "reasoning" if self._state == "think" else "text"
        yield Delta(kind, held)

    def _start(self) -> None:
        stripped = self._held.lstrip()
        if stripped.startswith(OPEN):
            self._state = "think"
            self._held = stripped[len(OPEN) :]
        elif not OPEN.startswith(stripped):
            # Not a think block: the answer goes out exactly as sent, whitespace included.
            self._state = "text"

    def _think(self) -> Iterator[Delta]:
        end = self._held.find(CLOSE)
        if end >= 0:
            reasoning = self._held[:end]
            self._state = "gap"
            self._held = self._held[end + len(CLOSE) :]
            if reasoning:
                yield Delta("reasoning", reasoning)
            return
        keep = _partial_suffix(self._held, CLOSE)
        ready = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep :]
        if ready:
            yield Delta("reasoning", ready)

    def _gap(self) -> None:
        # Models put a blank line after the block; it is not part of the answer.
        self._held = self._held.lstrip()
        if self._held:
            self._state = "text"


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag`."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
