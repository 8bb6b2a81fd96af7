"""A researcher runs a judge over the votes and reads its report, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# Eight counted votes between two demo models: model_a's program ran, model_b's failed.
SEED_VOTES = """
from django.contrib.auth import get_user_model
from arena.battles.models import Battle, Response, Turn, Vote
from arena.judges.models import Judge
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.runs.models import Execution
get_user_model().objects.create_user('ada', password='pw-for-ada', is_staff=True)
rater = Rater.objects.create()
atlas = LanguageModel.objects.get(name='demo-atlas')
breeze = LanguageModel.objects.get(name='demo-breeze')
for i in range(8):
    battle = Battle.objects.create(rater=rater, model_a=atlas, model_b=breeze, sampling_prob=0.5,
        status='voted', category='web' if i % 2 else 'algorithms', language='python')
    turn = Turn.objects.create(battle=battle, index=0, prompt=f'task {i}')
    for side, model, ok in (('a', atlas, True), ('b', breeze, False)):
        r = Response.objects.create(turn=turn, side=side, model=model, status='done', text='x')
        status = 'ok' if ok else 'runtime_error'
        Execution.objects.create(owner=r, code='print(1)', language='python', status=status)
    Vote.objects.create(battle=battle, rater=rater, winner='model_a' if i != 3 else 'tie')
Judge.objects.create(name='ran-ok', kind='baseline', rule='execution_succeeded')
"""


def test_a_researcher_runs_a_baseline_and_reads_its_agreement_report(arena, page: Page) -> None:
    arena.shell(SEED_VOTES)
    page.goto(arena.url + "/research/judges/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("pw-for-ada")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Judges", exact=True)).to_be_visible()
    expect(page.get_by_text("No reports yet")).to_be_visible()

    page.get_by_label("Judge").select_option(label="ran-ok")
    page.get_by_role("button", name="Start run").click()
    row = page.locator("#judge-runs tbody tr").first
    # The row polls itself until the run is done, then links its report.
    expect(row.get_by_role("link", name=re.compile(r"report #\d+"))).to_be_visible(timeout=30_000)
    expect(row).to_contain_text("16 / 16")  # 8 battles in both orders
    row.get_by_role("link", name=re.compile(r"report #\d+")).click()

    expect(page.get_by_role("heading", name=re.compile("ran-ok: agreement"))).to_be_visible()
    with_execution = page.locator("#mode-with")
    expect(with_execution).to_contain_text("16 judgements: 16 with a verdict")
    # 7 of 8 votes say model_a, which is the side that ran; the tie is missed (both orders).
    expect(with_execution.locator("table.metrics tbody tr").first).to_contain_text("0.875")
    matrix = with_execution.get_by_role("table", name=re.compile("4class confusion matrix"))
    expect(matrix.locator("tbody tr").first.locator("td").first).to_have_text("14")
    expect(page.locator("#mode-without")).to_have_count(0)  # this baseline has no blind mode

    breakdown = page.locator("#breakdown")
    expect(breakdown).to_contain_text("algorithms")
    page.get_by_label("Group by").select_option("language")
    expect(page.locator("#breakdown")).to_contain_text("python")
    expect(page).to_have_url(re.compile(r"dimension=language"))
    expect(page.locator("#judge-boards")).to_contain_text("demo-atlas")

    page.get_by_role("link", name="All judges and runs").click()
    expect(page.locator("#judge-comparison")).to_contain_text("ran-ok")
