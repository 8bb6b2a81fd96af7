"""Judging runs in embedded mode: the job runs on a thread of this process, as in the demo."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from arena.battles.models import Vote
from arena.judges.judging import RateLimiter
from arena.judges.models import Judge, Judgement, JudgeReport, JudgingRun
from arena.judges.services import Selection, judge_inputs, judge_one, run_start
from tests.fakes import HttpError, openai_server, text_answer
from tests.judges.conftest import evidence_reader, wait_for_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_jobs")]


def test_a_run_judges_every_counted_battle_in_both_orders_with_and_without_execution(
    voted_battles, make_llm_judge
) -> None:
    battles = voted_battles(6)
    with openai_server(default=evidence_reader) as srv:
        judge = make_llm_judge(srv.base_url, concurrency=3)
        run = wait_for_run(run_start(judge=judge, selection=Selection()))
    assert run.status == "done" and run.error == ""
    assert (run.total, run.done, run.failed, run.percent) == (24, 24, 0, 100)
    assert srv.attempts == 24
    rows = Judgement.objects.filter(judge=judge)
    assert rows.count() == 24 and set(rows.values_list("status", flat=True)) == {"done"}
    for battle in battles:
        good_side = (
            "model_a"
            if "Explained" in battle.turns.get().responses.get(side="a").text
            else "model_b"
        )
        with_execution = set(
            rows.filter(battle=battle, evidence="with").values_list("label", flat=True)
        )
        blind = dict(rows.filter(battle=battle, evidence="without").values_list("order", "label"))
        assert with_execution == {good_side}  # both orders, mapped back to the battle's sides
        assert blind == {"ab": "model_a", "ba": "model_b"}  # the first answer, whichever it was
    one = rows.filter(evidence="with").first()
    assert one.input_tokens and one.output_tokens and one.latency_ms is not None
    assert one.cost_usd == pytest.approx((one.input_tokens * 2 + one.output_tokens * 8) / 1e6)
    assert one.raw_text.startswith("Only one program printed")
    assert JudgeReport.objects.filter(run=run).count() == 1


def test_a_second_run_over_the_same_battles_judges_nothing_again(
    voted_battles, make_llm_judge
) -> None:
    voted_battles(4)
    with openai_server(default=evidence_reader) as srv:
        judge = make_llm_judge(srv.base_url)
        wait_for_run(run_start(judge=judge, selection=Selection()))
        again = wait_for_run(run_start(judge=judge, selection=Selection()))
    assert srv.attempts == 16
    assert (again.total, again.done) == (16, 16)
    assert Judgement.objects.filter(judge=judge).count() == 16
    assert JudgeReport.objects.filter(judge=judge).count() == 2


def test_failed_calls_are_kept_as_failed_and_the_next_run_retries_only_them(
    voted_battles, make_llm_judge
) -> None:
    voted_battles(2)
    refusals = [HttpError(400, "content policy")] * 3
    with openai_server(*refusals, default=evidence_reader) as srv:
        judge = make_llm_judge(srv.base_url, concurrency=1)
        first = wait_for_run(run_start(judge=judge, selection=Selection()))
        assert (first.done, first.failed) == (5, 3)
        assert "3 judgements failed" in first.error
        failed = Judgement.objects.filter(judge=judge, status="failed")
        assert failed.count() == 3 and "bad request (400)" in failed.first().error
        second = wait_for_run(run_start(judge=judge, selection=Selection()))
    assert (second.done, second.failed) == (8, 0)
    assert srv.attempts == 11
    assert (
        sorted(Judgement.objects.filter(judge=judge).values_list("attempts", flat=True))
        == [1] * 5 + [2] * 3
    )


def test_an_answer_without_a_verdict_is_stored_as_unparseable_with_its_text(
    voted_battles, make_llm_judge
) -> None:
    voted_battles(1)
    refusal = "I cannot judge code that I have not run myself."
    with openai_server(default=text_answer(refusal)) as srv:
        judge = make_llm_judge(srv.base_url)
        run = wait_for_run(run_start(judge=judge, selection=Selection(), modes="without"))
    rows = Judgement.objects.filter(judge=judge)
    assert run.total == 2 and set(rows.values_list("evidence", flat=True)) == {"without"}
    assert all(r.status == "done" and not r.is_parsed and r.label == "" for r in rows)
    assert {r.raw_text for r in rows} == {refusal}
    assert {r.parse_format for r in rows} == {"unparseable"}


def test_a_claimed_or_finished_judgement_is_not_judged_twice(voted_battles, make_llm_judge) -> None:
    battle = voted_battles(1)[0]
    with openai_server(default=evidence_reader) as srv:
        judge = make_llm_judge(srv.base_url)
        run = JudgingRun.objects.create(judge=judge, battle_ids=[str(battle.pk)], battle_hash="x")
        row = Judgement.objects.create(judge=judge, battle=battle, order="ab", evidence="with")
        inputs = judge_inputs([battle.pk])
        assert judge_one(run, row.pk, inputs) is True
        assert judge_one(run, row.pk, inputs) is False  # done: left alone
        Judgement.objects.filter(pk=row.pk).update(status="running", claimed_by="other")
        assert judge_one(run, row.pk, inputs) is False  # another worker holds it
    assert srv.attempts == 1


def test_the_database_refuses_a_second_row_for_the_same_judgement(
    voted_battles, make_llm_judge
) -> None:
    battle = voted_battles(1)[0]
    judge = make_llm_judge("http://127.0.0.1:9/v1")
    Judgement.objects.create(judge=judge, battle=battle, order="ba", evidence="with")
    with pytest.raises(IntegrityError), transaction.atomic():
        Judgement.objects.create(judge=judge, battle=battle, order="ba", evidence="with")


def test_baselines_judge_without_any_model_and_the_execution_one_only_with_evidence(
    voted_battles,
) -> None:
    voted_battles(3)
    execution = Judge.objects.create(name="ran-ok", kind="baseline", rule="execution_succeeded")
    longer = Judge.objects.create(name="longer", kind="baseline", rule="longer_answer")
    run = wait_for_run(run_start(judge=execution, selection=Selection()))
    assert run.total == 6 and set(
        Judgement.objects.filter(judge=execution).values_list("evidence", flat=True)
    ) == {"with"}
    assert wait_for_run(run_start(judge=longer, selection=Selection())).total == 12
    # The good answer is both the one that ran and the longer one, in these battles.
    for judge in (execution, longer):
        labels = Judgement.objects.filter(judge=judge, evidence="with")
        for row in labels:
            good = (
                "model_a"
                if "Explained" in row.battle.turns.get().responses.get(side="a").text
                else "model_b"
            )
            assert row.label == good


def test_a_selection_takes_only_counted_votes_and_its_filters(voted_battles) -> None:
    battles = voted_battles(10)
    Vote.objects.filter(battle=battles[0]).update(is_valid=False)
    everything = Selection().battle_ids()
    assert len(everything) == 9 and str(battles[0].pk) not in everything
    web = Selection(category="web").battle_ids()
    assert len(web) == 5
    start = dt.date(2026, 3, 3)
    dated = Selection(start=start, end=dt.date(2026, 3, 5)).battle_ids()
    assert sorted(dated) == sorted(str(b.pk) for b in battles[2:5])
    sample = Selection(sample=4, seed=3).battle_ids()
    assert len(sample) == 4 and sample == Selection(sample=4, seed=3).battle_ids()
    assert set(sample) <= set(everything)
    assert sample != Selection(sample=4, seed=4).battle_ids()


def test_a_run_keeps_its_battle_set_and_its_hash(voted_battles) -> None:
    voted_battles(3)
    judge = Judge.objects.create(name="coin", kind="baseline", rule="seeded_random")
    run = wait_for_run(run_start(judge=judge, selection=Selection(sample=2, seed=1)))
    assert len(run.battle_ids) == 2 and run.selection["sample"] == 2
    assert len(run.battle_hash) == 64
    assert JudgeReport.objects.get(run=run).battle_hash == run.battle_hash


def test_the_rate_limiter_spaces_calls_by_its_interval() -> None:
    # A clock of our own: the schedule is checked, not the machine's sleep accuracy. Each
    # sleep oversleeps by 30 ms, as a loaded machine does; the slots must not bunch up.
    now = [100.0]

    def oversleep(seconds: float) -> None:
        now[0] += seconds + 0.03

    limiter = RateLimiter(per_minute=1200, clock=lambda: now[0], sleep=oversleep)
    slots = [limiter.wait() for _ in range(5)]
    assert slots[0] == 100.0  # the first call does not wait
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert all(gap >= 0.05 - 1e-9 for gap in gaps), gaps  # never closer than 60 s / 1200
    now[0] += 10  # an idle spell earns no burst: the next call goes at once, the one after waits
    resumed = now[0]
    assert limiter.wait() == resumed
    assert limiter.wait() == resumed + 0.05
