from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from arena.battles.models import Battle, Response, Vote
from arena.llms.models import LanguageModel
from arena.raters.models import Rater

pytestmark = pytest.mark.django_db


def test_the_home_page_offers_the_request_form(client: Client, demo_models: list) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert b'name="prompt"' in page.content
    assert b"demo models" in page.content


def test_it_starts_a_battle_between_two_different_models(client: Client, demo_models: list) -> None:
    answer = client.post(
        reverse("arena-battle-new"), {"prompt": "Print the first 10 primes", "consent": "yes"}
    )
    battle = Battle.objects.get()
    assert answer.status_code == 303
    assert answer["Location"] == battle.get_absolute_url()
    assert battle.model_a != battle.model_b
    assert 0 < battle.sampling_prob <= 1
    assert battle.turns.get().prompt == "Print the first 10 primes"
    assert {r.side for r in Response.objects.all()} == {"a", "b"}


def test_an_htmx_start_redirects_on_the_client(client: Client, demo_models: list) -> None:
    answer = client.post(
        reverse("arena-battle-new"),
        {"prompt": "Sort a list", "consent": "yes"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer["HX-Redirect"] == Battle.objects.get().get_absolute_url()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", b"Please type a request first."),
        ("   \n ", b"Please type a request first."),
        ("x" * 20_001, b"the limit is 20,000"),
    ],
)
def test_it_refuses_an_empty_or_over_long_request(
    client: Client, demo_models: list, prompt: str, message: bytes
) -> None:
    answer = client.post(reverse("arena-battle-new"), {"prompt": prompt, "consent": "yes"})
    assert answer.status_code == 400
    assert message in answer.content
    assert not Battle.objects.exists()


def test_a_request_of_exactly_the_limit_is_accepted(client: Client, demo_models: list) -> None:
    answer = client.post(reverse("arena-battle-new"), {"prompt": "y" * 20_000, "consent": "yes"})
    assert answer.status_code == 303


def test_it_says_so_when_fewer_than_two_models_are_active(client: Client, make_model) -> None:
    make_model()
    answer = client.post(reverse("arena-battle-new"), {"prompt": "hello", "consent": "yes"})
    assert answer.status_code == 400
    assert b"fewer than two models" in answer.content


def test_a_battle_page_is_private_to_its_rater(
    alice: Rater, alice_client: Client, bob_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    assert alice_client.get(battle.get_absolute_url()).status_code == 200
    assert bob_client.get(battle.get_absolute_url()).status_code == 404
    assert Client().get(battle.get_absolute_url()).status_code == 404


def test_the_battle_page_hides_model_names_before_the_vote(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    page = alice_client.get(battle.get_absolute_url()).content.decode()
    assert "Model A" in page and "Model B" in page
    assert battle.model_a.name not in page and battle.model_b.name not in page


def vote(client: Client, battle: Battle, winner: str, htmx: bool = True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("arena-battle-vote", args=[battle.id]), {"winner": winner}, headers=headers
    )


def test_a_vote_is_stored_and_reveals_the_names(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    answer = vote(alice_client, battle, "model_b")
    assert answer.status_code == 200
    page = answer.content.decode()
    assert battle.model_a.name in page and battle.model_b.name in page
    stored = Vote.objects.get()
    assert (stored.winner, stored.rater, stored.is_valid) == ("model_b", alice, True)
    battle.refresh_from_db()
    assert battle.status == Battle.Status.VOTED


def test_it_rejects_a_second_vote(alice: Rater, alice_client: Client, make_battle) -> None:
    battle = make_battle(alice)
    vote(alice_client, battle, "model_a")
    answer = vote(alice_client, battle, "model_b")
    assert answer.status_code == 400
    assert b"already voted" in answer.content
    assert answer["HX-Retarget"] == "#vote-msg"  # beside the vote buttons
    assert list(Vote.objects.values_list("winner", flat=True)) == ["model_a"]


def test_it_rejects_a_vote_before_both_answers_finish(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice, answers=Response.Status.STREAMING)
    answer = vote(alice_client, battle, "tie")
    assert answer.status_code == 400
    assert b"Wait until both answers have finished" in answer.content
    assert not Vote.objects.exists()


def test_it_rejects_a_vote_while_a_program_still_runs(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    from arena.runs.models import Execution

    battle = make_battle(alice)
    response = Response.objects.filter(turn__battle=battle).first()
    Execution.objects.create(owner=response, code="x", language="python")
    answer = vote(alice_client, battle, "tie")
    assert answer.status_code == 400
    assert b"programs have finished running" in answer.content
    assert not Vote.objects.exists()


def test_it_rejects_a_vote_with_an_unknown_winner(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    answer = vote(alice_client, battle, "model_c")
    assert answer.status_code == 400
    assert b"Unknown choice" in answer.content
    assert not Vote.objects.exists()


def test_it_hides_a_foreign_battle_from_a_voter(
    alice: Rater, bob_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    assert vote(bob_client, battle, "model_a").status_code == 404
    assert not Vote.objects.exists()


def test_a_void_battle_takes_no_vote(alice: Rater, alice_client: Client, make_battle) -> None:
    battle = make_battle(alice, status=Battle.Status.VOID, void_reason="Model A failed to answer.")
    answer = vote(alice_client, battle, "model_b")
    assert answer.status_code == 400
    assert b"Model A failed to answer." in answer.content


def test_the_database_allows_only_one_counted_vote(alice: Rater, make_battle) -> None:
    from django.db import IntegrityError, transaction

    battle = make_battle(alice)
    Vote.objects.create(battle=battle, rater=alice, winner="tie")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(battle=battle, rater=alice, winner="model_a")
    first = Vote.objects.get()
    first.invalidate("test")
    Vote.objects.create(battle=battle, rater=alice, winner="model_a")  # one valid again
    assert Vote.objects.count() == 2


def test_a_follow_up_adds_a_turn_for_both_models(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    answer = alice_client.post(
        reverse("arena-battle-follow-up", args=[battle.id]),
        {"prompt": "Now add comments"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    turn = battle.turns.get(index=1)
    assert turn.prompt == "Now add comments"
    assert turn.responses.count() == 2


def test_a_follow_up_must_not_be_empty(alice: Rater, alice_client: Client, make_battle) -> None:
    battle = make_battle(alice)
    answer = alice_client.post(
        reverse("arena-battle-follow-up", args=[battle.id]),
        {"prompt": ""},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert battle.turns.count() == 1


def test_get_on_a_post_only_url_is_a_clean_405(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    assert alice_client.get(reverse("arena-battle-follow-up", args=[battle.id])).status_code == 405


def test_an_unknown_page_is_a_friendly_404(client: Client) -> None:
    answer = client.get("/no/such/page")
    assert answer.status_code == 404
    assert b"Back to the arena" in answer.content


def test_a_blocked_rater_cannot_start_battles(
    alice: Rater, alice_client: Client, demo_models: list
) -> None:
    Rater.objects.filter(pk=alice.pk).update(is_blocked=True)
    answer = alice_client.post(reverse("arena-battle-new"), {"prompt": "hi"})
    assert answer.status_code == 400
    assert not Battle.objects.exists()
    assert LanguageModel.objects.count() >= 2


def rerun(client: Client, battle: Battle, response: Response, code: str, language: str = "python"):
    return client.post(
        reverse("arena-response-rerun", args=[battle.id, response.pk]),
        {"code": code, "language": language},
        headers={"HX-Request": "true"},
    )


def test_an_edited_program_runs_as_a_new_recorded_execution(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    from arena.battles.models import InteractionEvent
    from arena.runs.models import Execution

    battle = make_battle(alice)
    response = Response.objects.filter(turn__battle=battle, side="a").get()
    Response.objects.filter(pk=response.pk).update(code="print(1)\n", code_language="python")
    assert (
        rerun(alice_client, battle, response, "print(2)\n").status_code == 200
    )  # clears the refusal beside Run
    assert rerun(alice_client, battle, response, "print(3)").status_code == 400  # one at a time
    Execution.objects.update(status=Execution.Status.OK)
    assert rerun(alice_client, battle, response, "print(1)\r\n").status_code == 200
    runs = list(Execution.objects.order_by("pk").values_list("code", "is_edited"))
    first = ("print('hello from a')\n", False)  # the model's own run, made with the answer
    assert runs[0] == first and runs[-2:] == [("print(2)\n", True), ("print(1)\n", False)]
    assert InteractionEvent.objects.filter(kind="rerun").count() == 2


@pytest.mark.parametrize(
    ("code", "language", "message"),
    [
        ("", "python", b"no code to run"),
        ("x" * 100_001, "python", b"longer than"),
        ("print(1)", "cobol", b"Pick a language"),
    ],
)
def test_a_bad_rerun_gets_a_clear_message(
    alice: Rater, alice_client: Client, make_battle, code: str, language: str, message: bytes
) -> None:
    from arena.runs.models import Execution

    battle = make_battle(alice)
    response = Response.objects.filter(turn__battle=battle, side="a").get()
    runs_before = Execution.objects.count()
    answer = rerun(alice_client, battle, response, code, language)
    assert answer.status_code == 400 and message in answer.content
    assert Execution.objects.count() == runs_before


def test_nobody_else_can_rerun_a_program(alice: Rater, bob_client: Client, make_battle) -> None:
    battle = make_battle(alice)
    response = Response.objects.filter(turn__battle=battle, side="a").get()
    assert rerun(bob_client, battle, response, "print(1)").status_code == 404


def test_choosing_a_winner_offers_the_optional_details_step(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    step = alice_client.get(
        reverse("arena-battle-vote", args=[battle.id]),
        {"winner": "model_b"},
        headers={"HX-Request": "true"},
    )
    assert step.status_code == 200
    assert b"Your choice: B is better." in step.content
    assert b'name="fb_correctness"' in step.content
    assert not Vote.objects.exists()  # choosing is not voting


def test_per_dimension_feedback_is_stored_with_the_vote(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice)
    answer = alice_client.post(
        reverse("arena-battle-vote", args=[battle.id]),
        {"winner": "model_a", "fb_correctness": "model_a", "fb_ui_ux": "tie", "fb_speed": "x"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert Vote.objects.get().feedback == {"correctness": "model_a", "ui_ux": "tie"}


def test_a_bad_dimension_answer_is_refused(alice: Rater, alice_client: Client, make_battle) -> None:
    battle = make_battle(alice)
    answer = alice_client.post(
        reverse("arena-battle-vote", args=[battle.id]),
        {"winner": "model_a", "fb_correctness": "model_z"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400 and b"Unknown answer for Correctness" in answer.content
    assert not Vote.objects.exists()


def test_the_details_step_is_refused_while_answers_stream(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    battle = make_battle(alice, answers=Response.Status.STREAMING)
    step = alice_client.get(
        reverse("arena-battle-vote", args=[battle.id]),
        {"winner": "tie"},
        headers={"HX-Request": "true"},
    )
    assert step.status_code == 400 and b"Wait until both answers" in step.content


def test_a_rerun_takes_the_raters_package_list_and_refuses_what_is_not_a_name(
    alice: Rater, alice_client: Client, make_battle
) -> None:
    from arena.runs.models import Execution

    battle = make_battle(alice)
    response = Response.objects.filter(turn__battle=battle, side="a").get()
    url = reverse("arena-response-rerun", args=[battle.id, response.pk])
    bad = {"code": "print(1)", "language": "python", "packages": "rich https://evil.example/x"}
    refused = alice_client.post(url, bad, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and b"Not a package name: https://evil.example/x" in (
        refused.content
    )
    good = {**bad, "packages": "rich, plotly==5.24"}
    assert alice_client.post(url, good, headers={"HX-Request": "true"}).status_code == 200
    assert Execution.objects.order_by("pk").last().packages == ["rich", "plotly==5.24"]
