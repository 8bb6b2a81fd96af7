"""Issue 15, the rater's experience: each numbered finding played in Chromium at desktop
(1366×900) and phone (390×844) sizes, in light and dark mode where it matters, with
axe-core on every page and screenshots of the battle page kept as test artifacts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, type_and_start
from tests.fakes import Answer, markdown_answer, openai_server

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = ROOT / "var" / "test-artifacts"  # git-ignored (/var/)
UNFINISHED_RUN = '.run[data-status="queued"], .run[data-status="running"]'
UNFINISHED_SIDE = '.side[data-status="pending"], .side[data-status="streaming"]'


@dataclass
class Screen:
    """One browser page of a given size and colour scheme, with what went wrong in it."""

    name: str
    page: Page
    console_errors: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)

    @property
    def is_phone(self) -> bool:
        return self.name.startswith("phone")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_screen(browser: Browser, name: str) -> Screen:
    size, scheme = name.split("-")
    context = browser.new_context(
        viewport=DESKTOP if size == "desktop" else PHONE,
        color_scheme=scheme,  # type: ignore[arg-type]
        is_mobile=size == "phone",
        has_touch=size == "phone",
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(30_000)
    screen = Screen(name, context.new_page())
    screen.page.on(
        "console", lambda m: screen.console_errors.append(m.text) if m.type == "error" else None
    )
    screen.page.on(
        "response", lambda r: screen.not_found.append(r.url) if r.status == 404 else None
    )
    return screen


@pytest.fixture(params=["desktop-light", "phone-dark"])
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Screen]:
    opened = open_screen(browser, request.param)
    yield opened
    opened.page.context.close()


def axe_serious(page: Page) -> list[str]:
    """The serious and critical axe-core violations on the page, one line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def python_model(name: str, base_url: str) -> dict[str, str]:
    return {
        "name": name,
        "provider": "openai",
        "model_id": f"{name}-v1",
        "base_url": base_url,
        "organization": "Lab",
        "is_active": True,
    }


def start(page: Page, url: str, request: str = "Print a greeting in Python") -> None:
    type_and_start(page, url, request)
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))


def wait_for_votes(page: Page) -> None:
    expect(page.get_by_role("button", name="Tie", exact=True)).to_be_enabled(timeout=60_000)


def column(page: Page, side: str) -> "Locator":  # noqa: F821
    return page.locator(f'#turns article.turn:last-child .side-column[data-side="{side}"]')


def show_side(screen: Screen, side: str) -> None:
    """On a phone, pick the side's tab (desktop shows both)."""
    if screen.is_phone:
        screen.page.get_by_role("tab", name=f"Model {side.upper()}").click()


def edit_and_run(screen: Screen, side: str, code: str) -> None:
    page = screen.page
    show_side(screen, side)
    editor = column(page, side).locator(".editor")
    details = editor.locator("details")
    if details.get_attribute("open") is None:
        editor.get_by_text("Edit and re-run").click()
    editor.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(code)
    editor.get_by_role("button", name=re.compile(f"Run Model {side.upper()}")).click()


# --- 1. Iterating in place --------------------------------------------------------------


def test_1_an_edit_runs_in_place_under_the_open_editor(arena, screen: Screen) -> None:
    page = screen.page
    with openai_server(default=markdown_answer("print('first')")) as one, openai_server(
        default=markdown_answer("print('other')")
    ) as two:
        arena.use_models(python_model("one", one.base_url), python_model("two", two.base_url))
        start(page, arena.url)
        wait_for_votes(page)
        a = column(page, "a")
        edit_and_run(screen, "a", "import time; time.sleep(2); print('second')")
        rerun = a.locator(".reruns .run")
        expect(rerun.locator(".run-label")).to_have_text("Your edit (run 2)")
        # Clicking Run during the run: the refusal shows beside the button, not at the top.
        run_button = a.get_by_role("button", name="Run Model A's code")
        run_button.click()
        message = a.locator(".run-action [role=alert]")
        expect(message).to_have_text("Wait until the current run finishes.")
        near = message.bounding_box()["y"] - run_button.bounding_box()["y"]
        assert abs(near) < 150, near  # beside it (or just above, wrapped on a phone)
        expect(rerun.locator("pre.stdout")).to_have_text("second", timeout=30_000)
        # The editor stayed open, and the new run sits directly under it.
        expect(a.locator(".editor details")).to_have_attribute("open", "")
        editor_box, run_box = a.locator(".editor").bounding_box(), rerun.bounding_box()
        assert 0 <= run_box["y"] - (editor_box["y"] + editor_box["height"]) < 40
        # The answer's own run is still shown under the answer.
        expect(a.locator(".side .run .run-label")).to_have_text("The answer's program (run 1)")
        expect(a.locator(".side .run pre.stdout")).to_have_text(re.compile(r"^(first|other)\s*$"))
        # A third run: run 2 stays reachable under "Earlier runs".
        edit_and_run(screen, "a", "print('third')")
        expect(a.locator(".reruns > .run .run-label")).to_have_text("Your edit (run 3)")
        expect(a.locator(".reruns > .run pre.stdout")).to_have_text("third", timeout=30_000)
        expect(message).to_be_empty()  # a run that went through clears the old refusal
        a.get_by_text("Earlier runs (1)").click()
        earlier = a.locator(".earlier-runs .run")
        expect(earlier.locator(".run-label")).to_have_text("Your edit (run 2)")
        expect(earlier.locator("pre.stdout")).to_have_text("second")


# --- 2. Edited runs told apart ----------------------------------------------------------


def test_2_after_a_follow_up_every_run_says_whose_code_it_ran(arena, screen: Screen) -> None:
    page = screen.page
    with openai_server(default=markdown_answer("print('model code')")) as one, openai_server(
        default=markdown_answer("print('model code')")
    ) as two:
        arena.use_models(python_model("one", one.base_url), python_model("two", two.base_url))
        start(page, arena.url)
        wait_for_votes(page)
        edit_and_run(screen, "a", "print('my edit')")
        a = column(page, "a")
        expect(a.locator(".reruns pre.stdout")).to_have_text("my edit", timeout=30_000)
        page.get_by_label("Follow-up for both models").fill("Now say it twice")
        page.get_by_role("button", name="Send").click()
        expect(page.locator("article.turn")).to_have_count(2, timeout=30_000)
        wait_for_votes(page)
        show_side(screen, "a")
        first_turn = page.locator('#turn-0 .side-column[data-side="a"]')
        # The model's program and its own output stay together; the edit is labelled.
        expect(first_turn.locator(".side .run .run-label")).to_have_text(
            "The answer's program (run 1)"
        )
        expect(first_turn.locator(".side .run")).to_contain_text("ran as Python")
        expect(first_turn.locator(".side .run pre.stdout")).to_have_text("model code")
        edit = first_turn.locator(".reruns .run")
        expect(edit.locator(".run-label")).to_have_text("Your edit (run 2)")
        expect(edit.locator("pre.stdout")).to_have_text("my edit")
        edit.get_by_text("Code of this run").click()
        expect(edit.locator(".run-code pre")).to_have_text("print('my edit')")
        assert page.locator("#turn-0 iframe.preview").count() == 0  # no empty "Ran as HTML"


# --- 3. One update for the run status and the vote buttons -------------------------------

WATCH_VOTE_GATE = """
window.gate = {violations: [], sawRunning: false};
new MutationObserver(function () {
  const running = document.querySelectorAll('%s, %s').length > 0;
  if (running) window.gate.sawRunning = true;
  const enabled = Array.from(document.querySelectorAll('#vote-panel button[data-key]'))
    .some(function (b) { return !b.disabled; });
  if (enabled && running) window.gate.violations.push(document.querySelector('#vote-hint').textContent);
}).observe(document, {subtree: true, childList: true, attributes: true});
""" % (UNFINISHED_RUN, UNFINISHED_SIDE)


def test_3_vote_buttons_enable_in_the_update_that_shows_both_runs_done(
    arena, screen: Screen
) -> None:
    page = screen.page
    slow = markdown_answer("import time\ntime.sleep(1.5)\nprint('slow')")
    slower = markdown_answer("import time\ntime.sleep(2.5)\nprint('slower')")
    with openai_server(default=slow) as one, openai_server(default=slower) as two:
        arena.use_models(python_model("one", one.base_url), python_model("two", two.base_url))
        start(page, arena.url)
        page.evaluate(WATCH_VOTE_GATE)
        wait_for_votes(page)
        expect(page.locator(".run pre.stdout")).to_have_count(2)
        gate = page.evaluate("window.gate")
        assert gate["sawRunning"]
        assert gate["violations"] == []
