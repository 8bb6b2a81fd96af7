"""Optional accounts in the browser: rate anonymously, sign up, and the votes stay yours;
signed out, the browser is anonymous again."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import type_and_start

pytestmark = pytest.mark.browser
PASSWORD = "a-long-enough-passphrase-42"


def test_signing_up_after_rating_keeps_the_votes(arena, page: Page, tmp_path: Path) -> None:
    arena.manage(
        "shell",
        "-c",
        "from arena.llms.models import LanguageModel as M\n"
        "M.objects.update(params={'chunk_delay_s': 0})",
    )
    type_and_start(page, arena.url, "Print the first ten squares")
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("button", name="Tie")).to_be_enabled(timeout=60_000)
    page.get_by_role("button", name="Tie").click()
    page.get_by_role("button", name="Submit vote and reveal").click()
    expect(page.locator(".reveal")).to_be_visible()

    page.goto(arena.url + "/votes/")
    expect(page.locator("table.votes tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    _snap(page, tmp_path, "signup")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(arena.url + "/votes/")
    expect(page.locator("table.votes tbody tr")).to_have_count(1)  # the anonymous vote
    expect(page.get_by_role("button", name="Sign out ada")).to_be_visible()
    _snap(page, tmp_path, "votes")

    page.get_by_role("button", name="Sign out ada").click()
    page.goto(arena.url + "/votes/")
    expect(page.locator("table.votes")).to_have_count(0)  # anonymous again: nothing
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("table.votes tbody tr")).to_have_count(1)


def _snap(page: Page, tmp_path: Path, name: str) -> None:
    """A screenshot to look at, kept where ARENA_SCREENSHOTS points (else the test's tmp)."""
    folder = Path(os.environ.get("ARENA_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(folder / f"accounts-{name}.png"), full_page=True)
