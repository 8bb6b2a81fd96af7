"""An admin runs the automatic arena on the offline demo (replay models, a demo judge)
from its page and reads the board beside the human leaderboard, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# The demo judges and a three-prompt slice of the demo prompt set (the whole set works
# the same, it only takes longer to answer and run).
SEED = """
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from arena.judges.autoarena import load_prompt_set
from arena.judges.management.commands.seed_auto_arena import DEMO_PROMPTS
call_command('seed_auto_arena')
prompts = json.loads(DEMO_PROMPTS.read_text())['prompts']
python = [p for p in prompts if p['language'] == 'python'][:3]
load_prompt_set('demo-python', 'three Python prompts', python)
get_user_model().objects.create_user('ada', password='pw-for-ada', is_staff=True)
"""


def test_an_admin_runs_the_demo_automatic_arena_and_reads_its_board(arena, page: Page) -> None:
    arena.shell(SEED)
    page.goto(arena.url + "/research/judges/auto/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-ada")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Automatic arena", exact=True)).to_be_visible()
    expect(page.get_by_text("No runs yet")).to_be_visible()

    # A bad choice is refused with the form again, nothing started.
    page.get_by_label("Prompt set").select_option(label="demo-python")
    page.get_by_label("Models").select_option(label=["demo-cirrus"])
    page.get_by_label("Baseline").select_option(label="demo-cirrus")
    page.get_by_label("Judge").select_option(label="demo-execution-judge")
    page.get_by_label("Evidence").select_option("with")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Pick at least one model besides the baseline.")).to_be_visible()

    page.get_by_label("Models").select_option(label=["demo-atlas", "demo-drizzle"])
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name=re.compile(r"Automatic arena #\d+"))).to_be_visible()
    # The page polls itself until the board is there.
    board = page.locator("#auto-board-with")
    expect(board).to_be_visible(timeout=150_000)
    expect(page.locator("#auto-status")).to_contain_text("done")
    expect(page.locator("#auto-status")).to_contain_text("12 / 12 judgements")  # 2 x 3 x 2
    rows = board.locator("tbody tr")
    # The judge asks only whether a program ran: the strong model's and the baseline's
    # all do (ties, 50%), the weak model's all crash (0%).
    expect(rows.nth(0)).to_have_attribute("data-model", "demo-atlas")
    expect(rows.nth(0)).to_contain_text("50.0%")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("50.0 – 50.0")  # its interval
    expect(rows.nth(1)).to_have_attribute("data-model", "demo-cirrus")
    expect(rows.nth(1)).to_contain_text("(baseline)")
    expect(rows.nth(2)).to_have_attribute("data-model", "demo-drizzle")
    expect(rows.nth(2)).to_contain_text("0.0%")
    expect(rows.nth(2)).to_contain_text("0 / 0 / 6")
    expect(page.locator("#human-board")).to_be_visible()

    page.get_by_role("link", name="All runs").click()
    expect(page.locator("#auto-runs")).to_contain_text("demo-execution-judge")
