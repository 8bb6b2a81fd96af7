"""Inter-rater agreement: a share of battles re-served as identical pairs to other raters,
their votes kept out of the leaderboards, and the agreement between raters in admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from arena.battles.agreement import agreement, fleiss_kappa, in_original_sides
from arena.battles.models import AgreementSettings, Battle, Response, Vote
from arena.battles.services import battle_start, vote_record
from arena.raters.models import Rater
from arena.ratings.snapshots import counted_votes
from arena.runs.models import Execution
from tests.conftest import client_for, consented_rater

pytestmark = pytest.mark.django_db
PROMPT = "print hello"  # make_battle's request


def replays(share: float = 1.0, per_battle: int = 2) -> None:
    AgreementSettings(replay_share=share, replays_per_battle=per_battle).save()


def voted(make_battle: Callable[..., Battle], rater: Rater, winner: str = "model_a") -> Battle:
    battle = make_battle(rater)
    vote_record(battle=battle, winner=winner)
    return battle


def finish_runs(battle: Battle) -> None:
    """The replay's programs ran (the sandbox's part is tested in tests/runs)."""
    Execution.objects.filter(response__turn__battle=battle).update(status=Execution.Status.OK)


def test_a_replay_serves_the_same_request_and_answers_to_another_rater(
    make_battle: Callable[..., Battle], alice: Rater, bob: Rater
) -> None:
    original = voted(make_battle, alice)
    replays(share=1.0)
    replay = battle_start(rater=bob, prompt=PROMPT)
    assert replay.replay_of == original
    assert replay.turns.get().prompt == PROMPT
    old = {r.model_id: r for r in Response.objects.filter(turn__battle=original)}
    new = {r.model_id: r for r in Response.objects.filter(turn__battle=replay)}
    assert old.keys() == new.keys()
    for model_id, answer in new.items():
        assert (answer.text, answer.code, answer.status) == (
            old[model_id].text,
            old[model_id].code,
            Response.Status.DONE,
        )
        same_side = answer.side == old[model_id].side
        assert same_side != replay.sides_swapped
        run = answer.executions.get()  # the program runs again, for this rater
        assert (run.code, run.language, run.is_edited) == (answer.code, "python", False)
    assert {replay.model_a_id, replay.model_b_id} == {original.model_a_id, original.model_b_id}


def test_no_replay_when_turned_off_for_the_same_rater_or_another_request(
    make_battle: Callable[..., Battle], alice: Rater, bob: Rater
) -> None:
    voted(make_battle, alice)
    replays(share=0.0)
    assert battle_start(rater=bob, prompt=PROMPT).replay_of is None
    replays(share=1.0)
    assert battle_start(rater=alice, prompt=PROMPT).replay_of is None  # her own battle
    assert battle_start(rater=bob, prompt="print goodbye").replay_of is None


def test_one_battle_is_replayed_at_most_as_often_as_set_and_once_per_rater(
    make_battle: Callable[..., Battle], alice: Rater
) -> None:
    original = voted(make_battle, alice)
    replays(share=1.0, per_battle=2)
    carol, dave, erin = consented_rater(), consented_rater(), consented_rater()
    assert battle_start(rater=carol, prompt=PROMPT).replay_of == original
    assert battle_start(rater=carol, prompt=PROMPT).replay_of is None  # seen it already
    assert battle_start(rater=dave, prompt=PROMPT).replay_of == original
    assert battle_start(rater=erin, prompt=PROMPT).replay_of is None  # two replays: enough
    assert original.replays.count() == 2


def test_replay_votes_never_move_the_leaderboards(
    make_battle: Callable[..., Battle], alice: Rater, bob: Rater
) -> None:
    original = voted(make_battle, alice)
    replays(share=1.0)
    replay = battle_start(rater=bob, prompt=PROMPT)
    finish_runs(replay)
    vote_record(battle=replay, winner="tie")
    assert Vote.objects.filter(battle=replay, is_valid=True).exists()
    assert list(counted_votes()) == [original.votes.get()]


def test_a_follow_up_on_a_replay_is_refused_and_stores_nothing(
    make_battle: Callable[..., Battle], alice: Rater, bob: Rater
) -> None:
    voted(make_battle, alice)
    replays(share=1.0)
    replay = battle_start(rater=bob, prompt=PROMPT)
    finish_runs(replay)
    answer = client_for(bob).post(f"/battles/{replay.id}/turns", {"prompt": "and in Rust?"})
    assert answer.status_code == 400
    assert b"second opinion" in answer.content
    assert replay.turns.count() == 1


def test_votes_are_compared_in_the_original_sides() -> None:
    assert in_original_sides("model_a", sides_swapped=True) == "model_b"
    assert in_original_sides("model_b", sides_swapped=True) == "model_a"
    assert in_original_sides("tie", sides_swapped=True) == "tie"
    assert in_original_sides("model_a", sides_swapped=False) == "model_a"


def test_percent_agreement_counts_every_pair_of_votes_on_a_battle() -> None:
    result = agreement([["model_a", "model_a", "tie"], ["model_b", "model_b"], ["tie"]])
    assert (result.items, result.ratings, result.pairs, result.agreeing_pairs) == (2, 5, 4, 2)
    assert result.percent == 50.0
    assert agreement([]).percent is None


def test_fleiss_kappa_matches_the_textbook_example() -> None:
    """Fleiss (1971) as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories."""
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    items = [[str(j) for j, n in enumerate(row) for _ in range(n)] for row in table]
    kappa = fleiss_kappa(items)
    assert kappa is not None and round(kappa, 3) == 0.210
    assert fleiss_kappa([["tie", "tie"], ["tie", "tie"]]) is None  # one category: undefined
    assert fleiss_kappa([["a", "a"], ["b", "b"]]) == 1.0
    assert fleiss_kappa([]) is None


def test_admin_reports_the_agreement_of_replayed_battles(
    make_battle: Callable[..., Battle], alice: Rater, bob: Rater, admin_client: Client
) -> None:
    original = voted(make_battle, alice, winner="model_a")
    replays(share=1.0)
    replay = battle_start(rater=bob, prompt=PROMPT)
    finish_runs(replay)
    # Bob prefers the same model as Alice, wherever it now sits.
    vote_record(battle=replay, winner="model_b" if replay.sides_swapped else "model_a")
    page = admin_client.get("/admin/battles/agreementsettings/1/change/")
    assert page.status_code == 200
    report = page.context["report"]
    assert (report.replays, report.replays_voted) == (1, 1)
    whole = report.rows[0]
    assert (whole.agreement.items, whole.agreement.pairs, whole.agreement.percent) == (1, 1, 100.0)
    split = {row.label: row.agreement.pairs for row in report.rows[1:]}
    assert sorted(split.values()) == [0, 1]
    assert report.recent == [(original, ["model_a", "model_a"])]
    assert b"Agreement between raters of replayed battles" in page.content
    assert b"100.0%" in page.content
