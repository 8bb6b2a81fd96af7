"""Answers' markdown: highlighted, sanitized, and rendered once per distinct text (the
live page re-renders both answers on every update of either side)."""

from __future__ import annotations

from arena.battles.markdown import render_markdown

ANSWER = "Here:\n\n```python\nprint('hi')\n```\n\n<img src=x onerror=alert(1)>\n"


def test_an_answer_is_highlighted_and_sanitized() -> None:
    html = render_markdown(ANSWER)
    assert '<span class="hl-nb">print</span>' in html
    assert "<img" not in html and "&lt;img" in html  # raw HTML shows as text


def test_the_same_text_is_rendered_once() -> None:
    render_markdown.cache_clear()
    first = render_markdown(ANSWER)
    again = render_markdown(ANSWER)
    other = render_markdown(ANSWER + "\nMore.")
    info = render_markdown.cache_info()
    assert again is first  # the kept HTML, not a second render
    assert other != first and "More." in other
    assert (info.hits, info.misses) == (1, 2)
