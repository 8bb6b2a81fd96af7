from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import type_and_start

pytestmark = pytest.mark.browser

REQUEST = "Write a Python program that prints the first 10 prime numbers"


def test_a_rater_plays_a_whole_battle_and_moves_the_leaderboard(arena, page: Page) -> None:
    # Only the two strong demo models: both always produce a program that runs.
    arena.manage(
        "shell",
        "-c",
        "from arena.llms.models import LanguageModel as M; "
        "M.objects.exclude(name__in=['demo-atlas','demo-breeze']).update(is_active=False)",
    )
    page.goto(arena.url + "/leaderboard/")
    expect(page.get_by_text("No votes yet")).to_be_visible()

    type_and_start(page, arena.url, REQUEST)
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))

    # Both answers stream in and their programs run; only then may the rater vote.
    a_better = page.get_by_role("button", name="A is better")
    expect(a_better).to_be_enabled(timeout=60_000)
    expect(page.locator(".run[data-status]")).to_have_count(2)
    expect(page.locator(".run pre.stdout").first).to_be_visible()
    assert "demo-" not in page.locator(".sides").inner_text()  # still anonymous

    a_better.click()
    page.get_by_role("group", name="Correctness").get_by_label("A").check()
    page.get_by_role("button", name="Submit vote and reveal").click()
    reveal = page.locator(".reveal")
    expect(reveal).to_contain_text("You voted: A is better.")
    expect(reveal).to_contain_text(re.compile(r"Model A was demo-\w+"))
    model_a = re.search(r"Model A was (demo-\w+)", reveal.inner_text()).group(1)
    expect(page.get_by_role("button", name="A is better")).to_have_count(0)

    # The vote refreshes the leaderboard in the background.
    for _ in range(50):
        page.goto(arena.url + "/leaderboard/")
        if page.locator("table.leaderboard").count():
            break
        page.wait_for_timeout(200)
    rows = page.locator("table.leaderboard tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".model")).to_have_text(model_a)
    expect(page.get_by_text("from 1 vote")).to_be_visible()


def test_a_foreign_battle_shows_a_friendly_404(arena, page: Page) -> None:
    page.goto(arena.url + "/battles/00000000-0000-0000-0000-000000000000/")
    expect(page.get_by_role("heading", name="404")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the arena")).to_be_visible()


def test_an_empty_request_gets_a_clear_message(arena, page: Page) -> None:
    page.goto(arena.url + "/")
    page.get_by_label("Your request").fill("   ")
    # Bypass the browser's own `required` check to see the server's answer.
    page.locator("#prompt").evaluate("el => el.removeAttribute('required')")
    page.get_by_label("I agree to these terms").check()
    page.get_by_role("button", name="Start battle").click()
    expect(page.get_by_role("alert")).to_have_text("Please type a request first.")
    expect(page).to_have_url(arena.url + "/")


def test_a_two_turn_battle_with_an_edited_re_run(arena, page: Page) -> None:
    import json

    arena.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from arena.llms.models import LanguageModel as M; "
        "M.objects.exclude(name__in=['demo-atlas','demo-breeze']).update(is_active=False)",
    )
    type_and_start(page, arena.url, REQUEST)
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("button", name="Tie", exact=True)).to_be_enabled(timeout=60_000)

    page.get_by_label("Follow-up for both models").fill("Now add comments to the program")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("article.turn")).to_have_count(2, timeout=30_000)
    expect(page.locator("#turn-1 .side")).to_have_count(2)
    expect(page.get_by_role("button", name="Tie", exact=True)).to_be_enabled(timeout=60_000)
    expect(page.locator("#turn-1 .run")).to_have_count(2)

    # Edit side A's program in the code editor and run it again.
    editor = page.locator("#turn-1 .editor").first
    editor.get_by_text("Edit and re-run").click()
    code = editor.locator(".cm-content")
    code.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('print("edited run")\n')
    editor.get_by_label("Run as").select_option("python")
    editor.get_by_role("button", name=re.compile("Run Model A")).click()
    # The edit runs under the editor, beside the answer's own run (issue 15).
    expect(page.locator("#turn-1 .side-column").first.locator(".reruns pre.stdout")).to_have_text(
        "edited run", timeout=30_000
    )
    runs = json.loads(
        arena.shell(
            "import json; from arena.runs.models import Execution as E\n"
            "print(json.dumps(list(E.objects.order_by('pk').values_list('is_edited', 'code'))))"
        )
    )
    assert len(runs) == 5
    assert runs[-1] == [True, 'print("edited run")\n']
    assert not any(edited for edited, _ in runs[:-1])


def test_a_refusal_for_going_too_fast_is_shown_in_the_page_and_as_a_toast(
    arena, page: Page
) -> None:
    arena.shell(
        "from arena.raters.models import RaterLimits\n"
        "RaterLimits.objects.update_or_create(pk=1, defaults={'battles_per_rater': 1})"
    )
    type_and_start(page, arena.url, REQUEST)
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))
    type_and_start(page, arena.url, "Sort a list of words")
    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator("#toast")).to_contain_text("at most 1 new battles per 10 minutes")
    expect(page.get_by_role("alert")).to_contain_text("Please try again in")
    expect(page).to_have_url(arena.url + "/")
