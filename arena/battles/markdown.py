"""Model output is untrusted: markdown with raw HTML disabled, highlighted code, then a
sanitizer over the result as a second, independent line of defence."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "span",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "div",
}
ALLOWED_ATTRIBUTES = {
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "a": {"href"},
    "th": {"style"},
    "td": {"style"},
}
_formatter = HtmlFormatter(nowrap=True, classprefix="hl-")


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang or "text")
    except ClassNotFound:
        return ""  # markdown-it escapes and wraps it plainly
    return str(highlight(code, lexer, _formatter))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight})
        .enable("table")
        .enable("strikethrough")
    )


# The live page re-renders both answers on every update of either side (a streaming
# token, a run finishing, a vote), and a finished answer's text no longer changes: under
# load (25 raters) rendering markdown was a quarter of the web process's Python time,
# most of it Pygments. A pure function of the text, so its HTML is kept; 512 answers of
# a few KB each is a few MB.
@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
