"""What a judge is shown: the request, both final answers, and, with execution, what
each program did. Pure Python, no Django: the job builds a `JudgeInput` from the rows.

Templates hold placeholders in braces, replaced literally (never `str.format`: answers
are full of braces). With order "ba" answer A is the battle's model_b answer, so a
judge that favours the first position cannot hide it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from arena.llms.types import Message

ORDERS = ("ab", "ba")
WITH_EXECUTION = "with"
WITHOUT_EXECUTION = "without"
EVIDENCE_MODES = (WITH_EXECUTION, WITHOUT_EXECUTION)

# Enough of each stream to tell what happened; a judge's context is not a log archive.
EVIDENCE_MAX_CHARS = 4_000

PLACEHOLDERS = ("{instruction}", "{answer_a}", "{answer_b}")
EVIDENCE_PLACEHOLDERS = ("{execution_a}", "{execution_b}")

DEFAULT_SYSTEM_PROMPT = (
    "You are an impartial expert judge of programming answers. Two AI assistants answered "
    "the same coding request. Judge which answer better fulfils the request: above all, "
    "whether it implements every requested feature correctly, without adding or omitting "
    "any; then code quality and clarity. Ignore the length of the answers and the order in "
    "which they are shown. Think briefly, then end with exactly one verdict on its own "
    "line: [[A>>B]] (A is much better), [[A>B]] (A is better), [[A=B]] (about the same), "
    "[[B>A]] (B is better), [[B>>A]] (B is much better), or [[both_bad]] (neither answer "
    "is acceptable)."
)

_REQUEST = "<|User Request|>\n{instruction}\n\n"


def _answer(side: str) -> str:
    return (
        f"<|The Start of Assistant {side}'s Answer|>\n{{answer_{side.lower()}}}\n"
        f"<|The End of Assistant {side}'s Answer|>\n\n"
    )


def _execution(side: str) -> str:
    return f"<|Execution of Assistant {side}'s Program|>\n{{execution_{side.lower()}}}\n\n"


DEFAULT_PROMPT_WITHOUT_EXECUTION = _REQUEST + _answer("A") + _answer("B")
DEFAULT_PROMPT_WITH_EXECUTION = (
    _REQUEST
    + _answer("A")
    + _execution("A")
    + _answer("B")
    + _execution("B")
    + "The programs were run in a sandbox without network access. A failure caused by the\n"
    "environment (a missing package, no display) counts less than a wrong result.\n"
)


@dataclass(frozen=True)
class ExecutionEvidence:
    """One side's last run. `screenshots` holds the PNG of its page or server app (the
    runs' `screenshot.png` artifact); a judge that sends screenshots attaches it to the
    message, the text saying which image is whose."""

    status: str  # an Execution status ("ok", "runtime_error", ...) or "not_run"
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    preview: bool = False  # a page the rater's browser rendered; nothing ran on our side
    screenshots: tuple[bytes, ...] = field(default=())

    def describe(self) -> str:
        if self.status == "not_run":
            return "The answer contained no program that could be run."
        if self.preview and self.status == "ok":
            if self.screenshots:
                return (
                    "The program is a web page shown to the user; its screenshot after "
                    "loading is attached."
                )
            return "The program is a web page shown to the user; no screenshot is available."
        parts = [f"Status: {self.status}" + _exit(self.exit_code)]
        parts.append("Output:\n" + (_clip(self.stdout) or "(none)"))
        if self.stderr.strip():
            parts.append("Errors:\n" + _clip(self.stderr))
        if self.screenshots:  # a server app (Streamlit, Gradio, a game) the user could use
            parts.append("Its screenshot once it had rendered is attached.")
        return "\n".join(parts)


def _exit(code: int | None) -> str:
    return "" if code is None else f" (exit code {code})"


def _clip(text: str) -> str:
    text = text.strip()
    if len(text) <= EVIDENCE_MAX_CHARS:
        return text
    return text[:EVIDENCE_MAX_CHARS] + f"\n[... {len(text) - EVIDENCE_MAX_CHARS} more characters]"


@dataclass(frozen=True)
class JudgeInput:
    """One battle as the judge sees it, in the battle's own sides."""

    instruction: str  # every user turn, in order
    answer_a: str  # model_a's final answer
    answer_b: str
    execution_a: ExecutionEvidence
    execution_b: ExecutionEvidence

    def without_screenshots(self) -> JudgeInput:
        return JudgeInput(
            self.instruction,
            self.answer_a,
            self.answer_b,
            replace(self.execution_a, screenshots=()),
            replace(self.execution_b, screenshots=()),
        )

    def in_order(self, order: str) -> JudgeInput:
        if order == "ab":
            return self
        if order == "ba":
            return JudgeInput(
                self.instruction, self.answer_b, self.answer_a, self.execution_b, self.execution_a
            )
        raise ValueError(f"unknown order {order!r} (expected 'ab' or 'ba')")


def render(template: str, shown: JudgeInput, *, with_execution: bool) -> str:
    values = {
        "{instruction}": shown.instruction,
        "{answer_a}": shown.answer_a,
        "{answer_b}": shown.answer_b,
        "{execution_a}": shown.execution_a.describe() if with_execution else "",
        "{execution_b}": shown.execution_b.describe() if with_execution else "",
    }
    # One pass over the template: a placeholder inside an answer is never replaced.
    pattern = "|".join(map(re.escape, values))
    return re.sub(pattern, lambda match: values[match.group(0)], template)


def judge_messages(
    *, system: str, template: str, battle: JudgeInput, order: str, with_execution: bool
) -> list[Message]:
    """With execution, the shown A's screenshots first, then B's, each announced in the
    text (images follow the text in the message)."""
    shown = battle.in_order(order)
    text = render(template, shown, with_execution=with_execution)
    images: tuple[bytes, ...] = ()
    if with_execution:
        images = shown.execution_a.screenshots + shown.execution_b.screenshots
        text += _image_note(len(shown.execution_a.screenshots), len(shown.execution_b.screenshots))
    return [Message("system", system), Message("user", text, images=images)]


def _image_note(count_a: int, count_b: int) -> str:
    if not count_a and not count_b:
        return ""
    parts = []
    if count_a:
        parts.append(f"{count_a} of Assistant A's page")
    if count_b:
        parts.append(f"{count_b} of Assistant B's page")
    return f"\n\nAttached screenshots, in order: {' then '.join(parts)}."


def template_problems(template: str, *, with_execution: bool) -> list[str]:
    """What a template lacks, as messages for the admin form."""
    needed = PLACEHOLDERS + (EVIDENCE_PLACEHOLDERS if with_execution else ())
    missing = [name for name in needed if name not in template]
    return [f"the template must contain {name}" for name in missing]
