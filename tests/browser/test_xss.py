"""An XSS corpus in the rater's requests, in model answers and in program output, read by
Chromium: every payload shows as text, and no script runs in the arena's origin."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import type_and_start
from tests.fakes import markdown, openai_server, text_answer

pytestmark = pytest.mark.browser

# Each payload, if it ran, would open a dialog or retitle the page.
CORPUS = [
    "<script>alert('xss-script')</script>",
    "<img src=x onerror=\"alert('xss-img')\">",
    "<svg onload=\"alert('xss-svg')\"></svg>",
    "\"><script>document.title='XSS'</script>",
    "</textarea><script>alert('xss-textarea')</script>",
    "<iframe srcdoc=\"<script>parent.alert('xss-iframe')</script>\"></iframe>",
    '<a href="javascript:alert(\'xss-href\')" id="xss-link">click</a>',
    "[markdown link](javascript:alert('xss-md'))",
    "<details open ontoggle=\"alert('xss-details')\">",
    "<body onload=\"alert('xss-body')\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-mxss')>",
    "{{ 7|add:7 }} {% now 'Y' %}",
    '<div hx-get="/votes/" hx-trigger="load" hx-target="body">htmx</div>',
]
ANSWER_TEXT = "\n\n".join(CORPUS)
PRINTS = "\n".join(f"print({json.dumps(item)})" for item in CORPUS)


def openai_model(name: str, base_url: str) -> dict[str, str]:
    return {"name": name, "provider": "openai", "model_id": name, "base_url": base_url}


def test_no_payload_runs_in_the_arenas_origin(arena, page: Page) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    answer = text_answer(markdown(PRINTS, intro=ANSWER_TEXT, outro=CORPUS[1]), size=40)
    with openai_server(default=answer) as one, openai_server(default=answer) as two:
        arena.use_models(
            openai_model("xss-one", one.base_url), openai_model("xss-two", two.base_url)
        )
        type_and_start(page, arena.url, ANSWER_TEXT)
        expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))
        expect(page.get_by_role("button", name="A is better")).to_be_enabled(timeout=60_000)
        expect(page.locator(".run pre.stdout").first).to_contain_text("xss-script")
        page.wait_for_timeout(500)  # give any onerror/onload a chance to fire
        # Everything arrived as text: the request, the answers and the program's output.
        body = page.locator("main").inner_text()
        for marker in ("xss-script", "xss-img", "xss-textarea", "xss-iframe", "xss-mxss"):
            assert marker in body
        assert (
            page.locator(
                "main script, main iframe[srcdoc], main [onerror], main svg[onload]"
            ).count()
            == 0
        )
        assert page.locator("main a[href^='javascript:']").count() == 0
        assert page.locator("main [hx-get='/votes/']").count() == 0
        page.get_by_role("button", name="A is better").click()
        page.get_by_role("button", name="Submit vote and reveal").click()
        expect(page.locator(".reveal")).to_contain_text("xss-one")
        page.goto(arena.url + "/votes/")
        expect(page.get_by_role("heading", name="Your votes")).to_be_visible()
    assert dialogs == []
    assert page.title() != "XSS"
