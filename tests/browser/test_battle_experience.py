"""The battle page as raters use it, against models speaking real API protocols."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import type_and_start
from tests.fakes import Answer, anthropic_server, markdown_answer, openai_server

pytestmark = pytest.mark.browser


def openai_model(name: str, base_url: str, organization: str = "Lab One") -> dict[str, str]:
    return {
        "name": name,
        "provider": "openai",
        "model_id": f"{name}-v1",
        "base_url": base_url,
        "organization": organization,
        "is_active": True,
    }


def anthropic_model(name: str, base_url: str) -> dict[str, str]:
    return {
        "name": name,
        "provider": "anthropic",
        "model_id": f"{name}-v1",
        "base_url": base_url,
        "organization": "Lab Two",
        "is_active": True,
    }


def start_battle(page: Page, url: str, request: str) -> None:
    type_and_start(page, url, request)
    expect(page).to_have_url(re.compile(r"/battles/[0-9a-f-]{36}/$"))


def vote(page: Page, choice: str) -> None:
    page.get_by_role("button", name=choice).click()
    page.get_by_role("button", name="Submit vote and reveal").click()


def test_a_battle_against_two_real_protocol_servers_is_visible_in_admin(arena, page: Page) -> None:
    program = markdown_answer("print(sum(range(10)))")
    with openai_server(default=program) as oai, anthropic_server(default=program) as ant:
        arena.use_models(
            openai_model("oai-coder", oai.base_url), anthropic_model("claude-coder", ant.base_url)
        )
        start_battle(page, arena.url, "Sum the numbers below ten in Python")
        expect(page.get_by_role("button", name="B is better")).to_be_enabled(timeout=30_000)
        expect(page.locator(".run pre.stdout")).to_have_text(["45", "45"])
        vote(page, "B is better")
        expect(page.locator(".reveal")).to_contain_text("oai-coder")
        expect(page.locator(".reveal")).to_contain_text("claude-coder")
        assert oai.requests[0].body["stream"] is True
        assert ant.requests[0].body["system"]  # the arena's system prompt went along

    arena.shell(
        "from django.contrib.auth.models import User\n"
        "User.objects.create_superuser('root', 'root@example.org', 'pw-123456')"
    )
    page.goto(arena.url + "/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pw-123456")
    page.get_by_role("button", name="Log in").click()
    page.goto(arena.url + "/admin/battles/battle/")
    expect(page.locator("td.field-sampling_prob")).to_have_text("0.5")
    page.goto(arena.url + "/admin/battles/response/")
    expect(page.locator("td.field-ttft_ms")).to_have_count(2)
    assert all(re.fullmatch(r"\d+", t) for t in page.locator("td.field-ttft_ms").all_inner_texts())


def test_vote_buttons_wait_for_the_slower_side(arena, page: Page) -> None:
    slow = Answer(text=["```python\n", *["x = 1\n"] * 60, "print('slow')\n```"], delay_s=0.05)
    with (
        openai_server(default=markdown_answer("print('fast')")) as fast_server,
        openai_server(default=slow) as slow_server,
    ):
        arena.use_models(
            openai_model("fast", fast_server.base_url), openai_model("slow", slow_server.base_url)
        )
        start_battle(page, arena.url, "Print something")
        expect(page.locator(".run pre.stdout").first).to_have_text(re.compile("fast|slow"))
        buttons = page.locator("#vote-panel button")
        if page.locator('[data-status="streaming"]').count():
            expect(buttons.first).to_be_disabled()
            expect(page.locator("#vote-hint")).to_contain_text("Wait until")
        expect(buttons.first).to_be_enabled(timeout=30_000)
        expect(page.locator(".run pre.stdout")).to_have_count(2)


def test_a_side_that_fails_mid_stream_voids_the_battle(arena, page: Page) -> None:
    broken = Answer(text=["Here is ", "the prog", "ram:\n```py", "thon\n"], error_after=2)
    with (
        openai_server(default=markdown_answer("print(1)")) as good,
        openai_server(default=broken) as bad,
    ):
        arena.use_models(openai_model("steady", good.base_url), openai_model("flaky", bad.base_url))
        start_battle(page, arena.url, "Print one")
        reveal = page.locator(".reveal")
        expect(reveal).to_contain_text(re.compile(r"Model [AB] failed to answer"))
        expect(reveal).to_contain_text("This battle does not count.")
        expect(page.get_by_role("button", name="A is better")).to_have_count(0)
        expect(page.locator('.side[data-status="failed"] .error')).to_be_visible()


def test_closing_the_tab_mid_stream_stops_both_generations(arena, page: Page) -> None:
    endless = Answer(text=["```python\n", *["pass\n"] * 600, "```"], delay_s=0.05)
    with openai_server(default=endless) as one, openai_server(default=endless) as two:
        arena.use_models(
            openai_model("talker-1", one.base_url), openai_model("talker-2", two.base_url)
        )
        start_battle(page, arena.url, "Write a long program")
        expect(page.locator('.side[data-status="streaming"]')).to_have_count(2)
        page.close()
        # The server stops both jobs once the page's heartbeat has been gone 3 s.
        assert one.wait_for_disconnect(20) and two.wait_for_disconnect(20)
    states = json.loads(
        arena.shell(
            "import json; from arena.battles.models import Response as R, Battle as B\n"
            "print(json.dumps([list(R.objects.values_list('status', flat=True)),"
            " list(B.objects.values_list('status', flat=True))]))"
        )
    )
    assert states == [["cancelled", "cancelled"], ["void"]]


def test_a_model_that_names_its_maker_does_not_count(arena, page: Page) -> None:
    leak = Answer(text=["I am Claude, made by Anthropic.\n```python\nprint(2)\n```"])
    with (
        openai_server(default=markdown_answer("print(1)")) as plain,
        anthropic_server(default=leak) as leaky,
    ):
        arena.use_models(
            openai_model("plain", plain.base_url),
            {**anthropic_model("claude-leaky", leaky.base_url), "organization": "Anthropic"},
        )
        start_battle(page, arena.url, "Print a number")
        expect(page.get_by_role("button", name="Tie")).to_be_enabled(timeout=30_000)
        vote(page, "Tie")
        expect(page.locator("#vote-panel")).to_contain_text("does not count on the leaderboard")
        expect(page.locator("#vote-panel")).to_contain_text("named itself or its maker")


def test_html_and_script_in_a_request_stay_inert(arena, page: Page) -> None:
    with openai_server() as one, openai_server() as two:
        arena.use_models(openai_model("m1", one.base_url), openai_model("m2", two.base_url))
        hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
        start_battle(page, arena.url, hostile)
        expect(page.locator(".prompt-bubble")).to_contain_text(hostile)
        expect(page.get_by_role("button", name="Tie")).to_be_enabled(timeout=30_000)
        assert page.evaluate("window.pwned") is None
        assert page.locator(".prompt-bubble img").count() == 0
