"""Anonymous raters: a signed cookie, created only when someone acts, after consent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from arena.battles.models import Battle, Vote
from arena.raters.models import DEFAULT_TERMS, ConsentTerms, Rater
from arena.raters.services import COOKIE_NAME, cookie_value

pytestmark = pytest.mark.django_db


def start(client: Client, prompt: str = "Print primes", **extra: str):
    return client.post(reverse("arena-battle-new"), {"prompt": prompt, **extra})


@pytest.mark.parametrize("url", ["/", "/leaderboard/", "/votes/"])
def test_a_page_view_creates_no_rater_and_sets_no_cookie(
    client: Client, demo_models: list, url: str
) -> None:
    answer = client.get(url)
    assert answer.status_code == 200
    assert not Rater.objects.exists()
    assert COOKIE_NAME not in answer.cookies
    assert "sessionid" not in answer.cookies


def test_the_first_battle_asks_for_consent_and_stores_nothing_without_it(
    client: Client, demo_models: list
) -> None:
    assert DEFAULT_TERMS.encode() in client.get("/").content
    answer = start(client)
    assert answer.status_code == 400
    assert b"tick the box" in answer.content
    assert not Rater.objects.exists() and not Battle.objects.exists()
    assert COOKIE_NAME not in answer.cookies


def test_consent_creates_the_rater_with_the_terms_it_saw_and_a_signed_cookie(
    client: Client, demo_models: list
) -> None:
    ConsentTerms.objects.create(text="Version two of the terms.")
    assert b"Version two of the terms." in client.get("/").content
    answer = start(client, consent="yes")
    assert answer.status_code == 303
    rater = Rater.objects.get()
    assert rater.consented_at is not None
    assert rater.consent_text == "Version two of the terms."
    assert answer.cookies[COOKIE_NAME]["httponly"]
    assert Battle.objects.get().rater == rater
    # The cookie is enough from now on: no second consent, the same rater.
    assert b"I agree to these terms" not in client.get("/").content
    assert start(client, "Sort a list").status_code == 303
    assert Rater.objects.count() == 1 and Battle.objects.filter(rater=rater).count() == 2


def test_a_refused_first_battle_leaves_no_rater_behind(client: Client, make_model) -> None:
    make_model()  # one model only: the battle cannot start
    answer = start(client, consent="yes")
    assert answer.status_code == 400
    assert not Rater.objects.exists()
    assert COOKIE_NAME not in answer.cookies


def test_a_forged_cookie_names_nobody(
    alice: Rater, make_battle: Callable[..., Battle], demo_models: list
) -> None:
    battle = make_battle(alice)
    forger = Client()
    forger.cookies[COOKIE_NAME] = f"{alice.uuid}:forgedsignature"
    assert forger.get(battle.get_absolute_url()).status_code == 404
    forger.cookies[COOKIE_NAME] = str(alice.uuid)
    assert forger.get(battle.get_absolute_url()).status_code == 404
    assert b"I agree to these terms" in forger.get("/").content


def test_the_votes_page_lists_ones_own_votes_only(
    alice: Rater, bob: Rater, alice_client: Client, make_battle: Callable[..., Battle]
) -> None:
    mine = make_battle(alice, status=Battle.Status.VOTED)
    theirs = make_battle(bob, status=Battle.Status.VOTED)
    Vote.objects.create(battle=mine, rater=alice, winner="model_a")
    Vote.objects.create(battle=theirs, rater=bob, winner="tie")
    page = alice_client.get(reverse("arena-my-votes")).content.decode()
    assert mine.get_absolute_url() in page and mine.model_a.name in page
    assert theirs.get_absolute_url() not in page and theirs.model_a.name not in page
    assert "A is better" in page


def test_the_cookie_value_is_signed_for_this_rater(alice: Rater) -> None:
    value = cookie_value(alice)
    assert value.startswith(str(alice.uuid)) and value != str(alice.uuid)
