"""Where a program runs, and every language the arena knows: one vocabulary.

A console program (environment "interpreter") runs in the sandbox through
`executors.run`; its languages are the table in languages.py. A page (html, react, vue,
mermaid) is built in the sandbox into one HTML document (executors.pages) that the
rater's browser renders on the preview origin; its language has a label and fence tags
but no runner. An app (streamlit, gradio, pygame) is Python served by a long-lived
sandbox. The Django apps derive their choices from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executors.languages import LANGUAGES, language_names

INTERPRETER = "interpreter"
HTML = "html"
REACT = "react"
VUE = "vue"
MERMAID = "mermaid"
STREAMLIT = "streamlit"
GRADIO = "gradio"
PYGAME = "pygame"

ENVIRONMENT_LABELS = {
    INTERPRETER: "Console program",
    HTML: "Web page",
    REACT: "React component",
    VUE: "Vue component",
    MERMAID: "Mermaid diagram",
    STREAMLIT: "Streamlit app",
    GRADIO: "Gradio app",
    PYGAME: "PyGame game",
}
# Built into a page in the sandbox, then rendered by the rater's browser.
BROWSER_ENVIRONMENTS = frozenset({HTML, REACT, VUE, MERMAID})
# Python programs that serve an interface instead of printing: each runs in a live
# sandbox, reached through its bridge (executors/apps.py). A PyGame game is served too,
# as a page that shows its frames and sends it the rater's keys.
SERVER_APPS = (STREAMLIT, GRADIO, PYGAME)
# What `python -m executors preview --environment` accepts.
PREVIEW_ENVIRONMENTS = (HTML, REACT, VUE, MERMAID, STREAMLIT, GRADIO, PYGAME)


@dataclass(frozen=True)
class PageLanguage:
    name: str
    label: str
    environment: str
    aliases: tuple[str, ...] = ()


PAGE_LANGUAGES = {
    "html": PageLanguage("html", "HTML", HTML, aliases=("htm", "xhtml", "svg")),
    "jsx": PageLanguage("jsx", "React (JSX)", REACT, aliases=("react",)),
    "tsx": PageLanguage("tsx", "React (TSX)", REACT),
    "vue": PageLanguage("vue", "Vue (SFC)", VUE),
    "mermaid": PageLanguage("mermaid", "Mermaid", MERMAID, aliases=("mmd",)),
}

# Python imports that make a program an app rather than a console program.
_PYTHON_APPS = (
    (STREAMLIT, re.compile(r"^\s*(import\s+streamlit|from\s+streamlit\b)", re.M)),
    (GRADIO, re.compile(r"^\s*(import\s+gradio|from\s+gradio\b)", re.M)),
    (PYGAME, re.compile(r"^\s*(import\s+pygame|from\s+pygame\b)", re.M)),
)
# JSX: a capitalised element, a fragment, or markup returned from a function, or React
# imported. HTML tags inside a JS string do not count (they sit inside quotes).
_JSX = re.compile(
    r"from\s+['\"]react(-dom)?(/client)?['\"]|require\(['\"]react['\"]\)"
    r"|return\s*\(?\s*<[A-Za-z>]|=>\s*\(?\s*<[A-Za-z>]|<[A-Z]\w*[\s/>]|<>"
)
_FULL_DOCUMENT = re.compile(r"<!DOCTYPE html|<html[\s>]", re.I)
_VUE_SFC = re.compile(r"^\s*<template[\s>].*?^\s*</template>", re.M | re.S)
_VUE_SCRIPT = re.compile(r"<script(\s+setup|\s+lang=|\s*>)")
_MERMAID = re.compile(
    r"\A\s*(%%.*\n\s*)*(graph|flowchart)\s+(TD|TB|BT|LR|RL)\b|\A\s*(%%.*\n\s*)*"
    r"(sequenceDiagram|classDiagram|stateDiagram(-v2)?|erDiagram|gantt|pie(\s+title)?|journey"
    r"|gitGraph|mindmap|timeline|quadrantChart|requirementDiagram)\b",
)
_TYPESCRIPT = re.compile(
    r":\s*(number|string|boolean|React\.\w+|FC\b)|\binterface\s+\w+\s*\{|\btype\s+\w+\s*=|<\w+>\(\)"
)


def language_labels() -> dict[str, str]:
    """Every language, console and page, by canonical name, in a stable order."""
    labels = {name: LANGUAGES[name].label for name in language_names()}
    labels.update({name: page.label for name, page in PAGE_LANGUAGES.items()})
    return labels


def canonical_language(name: str) -> str | None:
    """The canonical name for a language name, alias or fence tag (`py`, `c++`), or None."""
    key = name.strip().lower()
    if key in LANGUAGES:
        return LANGUAGES[key].name
    for page in PAGE_LANGUAGES.values():
        if key == page.name or key in page.aliases:
            return page.name
    return None


def environment_of(language: str) -> str:
    """Where a program in `language` (a canonical name) runs when its content says no more."""
    page = PAGE_LANGUAGES.get(language)
    return page.environment if page else INTERPRETER


def detect(language: str, code: str) -> tuple[str, str]:
    """(language, environment) for a program whose fence tag or sniffing said `language`.

    The content corrects the tag where models are known to mislabel: React written in a
    ```html or ```javascript fence, a Vue single-file component in ```html, a Mermaid
    diagram in ```markdown or untagged, and Python that is really a Streamlit, Gradio or
    PyGame app."""
    if language == "python":
        return language, _python_environment(code)
    if language in ("html", "javascript", "typescript", "jsx", "tsx", "vue"):
        return _web_detect(language, code)
    return language, environment_of(language)


def is_mermaid(code: str) -> bool:
    """A diagram: the text opens with a Mermaid diagram keyword."""
    return bool(_MERMAID.search(code))


def _python_environment(code: str) -> str:
    for environment, pattern in _PYTHON_APPS:
        if pattern.search(code):
            return environment
    return INTERPRETER


def _web_detect(language: str, code: str) -> tuple[str, str]:
    if _VUE_SFC.search(code) and (_VUE_SCRIPT.search(code) or language == "vue"):
        return "vue", VUE
    if _FULL_DOCUMENT.search(code):
        return "html", HTML  # a whole page, even one that loads React itself
    if language in ("jsx", "tsx") or _JSX.search(code):
        typed = language in ("typescript", "tsx") or bool(_TYPESCRIPT.search(code))
        return ("tsx" if typed else "jsx"), REACT
    if language == "vue":
        return "vue", VUE
    return language, environment_of(language)


def run_targets() -> list[tuple[str, str]]:
    """The rater's "Run as" choices: every console language, then every page and app
    environment (value, label). `run_target` turns a value back into (language, env)."""
    consoles = sorted(
        ((name, LANGUAGES[name].label) for name in language_names()), key=lambda c: c[1]
    )
    environments = [(env, ENVIRONMENT_LABELS[env]) for env in PREVIEW_ENVIRONMENTS]
    return consoles + environments


def target_of(language: str, environment: str) -> str:
    """The "Run as" value that names how a program in (language, environment) runs."""
    return language if environment == INTERPRETER else environment


def run_target(value: str, code: str) -> tuple[str, str] | None:
    """(language, environment) for a "Run as" choice and the code it applies to, or None."""
    if value in LANGUAGES:
        return value, INTERPRETER
    if value in (STREAMLIT, GRADIO, PYGAME):
        return "python", value
    if value == REACT:
        return ("tsx" if _TYPESCRIPT.search(code) else "jsx"), REACT
    if value in (HTML, VUE, MERMAID):
        return value, value
    return None
