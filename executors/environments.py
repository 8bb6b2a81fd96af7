"""Where a program runs, and every language the arena knows: one vocabulary.

A console program (environment "interpreter") runs in the sandbox through
`executors.run`; its languages are the table in languages.py. A page (environment
"html") is rendered by the rater's browser in a sandboxed frame, so its language has a
label and fence tags but no runner. The Django apps derive their choices from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from executors.languages import LANGUAGES, language_names

INTERPRETER = "interpreter"
HTML = "html"

ENVIRONMENT_LABELS = {INTERPRETER: "Console program", HTML: "Web page"}
# Rendered by the rater's browser, not run by a sandbox backend.
BROWSER_ENVIRONMENTS = frozenset({HTML})


@dataclass(frozen=True)
class PageLanguage:
    name: str
    label: str
    environment: str
    aliases: tuple[str, ...] = ()


PAGE_LANGUAGES = {
    "html": PageLanguage("html", "HTML", HTML, aliases=("htm", "xhtml")),
}


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
    """Where a program in `language` (a canonical name) runs."""
    page = PAGE_LANGUAGES.get(language)
    return page.environment if page else INTERPRETER
