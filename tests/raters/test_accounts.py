"""Optional accounts: anonymous rating stays the default; signing up or in keeps the
browser's anonymous history; the votes page shows one's own votes only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from arena.battles.models import Battle
from arena.battles.services import vote_record
from arena.raters.models import Rater
from arena.raters.services import COOKIE_NAME
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-42"
User = get_user_model()


def sign_up(client: Client, username: str = "ada") -> object:
    return client.post(
        "/account/signup",
        {"username": username, "password1": PASSWORD, "password2": PASSWORD},
    )


def voted_battle(make_battle: Callable[..., Battle], rater: Rater) -> Battle:
    battle = make_battle(rater)
    vote_record(battle=battle, winner="model_b")
    return battle


def test_signing_up_keeps_the_browsers_anonymous_votes(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    battle = voted_battle(make_battle, alice)
    browser = client_for(alice)
    answer = sign_up(browser)
    assert answer.status_code == 302 and answer["Location"] == "/votes/"
    alice.refresh_from_db()
    assert alice.user == User.objects.get(username="ada")
    assert alice.consented_at is not None  # the consent goes with the history
    page = browser.get("/votes/")
    assert list(page.context["votes"]) == [battle.votes.get()]
    assert browser.get(battle.get_absolute_url()).status_code == 200


def test_signed_out_the_cookie_no_longer_opens_the_accounts_votes(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    battle = voted_battle(make_battle, alice)
    browser = client_for(alice)
    sign_up(browser)
    assert browser.post("/account/logout").status_code == 302
    assert list(browser.get("/votes/").context["votes"]) == []
    assert browser.get(battle.get_absolute_url()).status_code == 404
    # Someone holding only the cookie (a copied one) gets nothing either.
    stranger = Client()
    stranger.cookies[COOKIE_NAME] = browser.cookies[COOKIE_NAME].value
    assert list(stranger.get("/votes/").context["votes"]) == []


def test_signing_in_claims_the_anonymous_history_when_the_account_has_none(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    User.objects.create_user("grace", password=PASSWORD)
    battle = voted_battle(make_battle, alice)
    browser = client_for(alice)
    answer = browser.post("/account/login", {"username": "grace", "password": PASSWORD})
    assert answer.status_code == 302
    alice.refresh_from_db()
    assert alice.user is not None and alice.user.get_username() == "grace"
    assert list(browser.get("/votes/").context["votes"]) == [battle.votes.get()]


def test_an_account_with_a_rater_keeps_it_and_the_other_browser_keeps_its_own(
    alice: Rater, bob: Rater, make_battle: Callable[..., Battle]
) -> None:
    grace = User.objects.create_user("grace", password=PASSWORD)
    Rater.objects.filter(pk=bob.pk).update(user=grace)
    voted_battle(make_battle, alice)
    browser = client_for(alice)
    browser.post("/account/login", {"username": "grace", "password": PASSWORD})
    alice.refresh_from_db()
    assert alice.user is None  # one rater per account
    assert [v.rater_id for v in browser.get("/votes/").context["votes"]] == []


def test_a_new_account_gets_its_rater_when_it_first_acts(client: Client, demo_models: list) -> None:
    sign_up(client, "linus")
    assert not Rater.objects.exists()  # signing up is not rating
    answer = client.post("/battles/new", {"prompt": "Print hello", "consent": "yes"})
    assert answer.status_code == 303
    rater = Rater.objects.get()
    assert rater.user is not None and rater.user.get_username() == "linus"
    assert COOKIE_NAME not in answer.cookies  # an account needs no rater cookie


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "ada", "password1": PASSWORD, "password2": PASSWORD + "x"},
        {"username": "ada", "password1": "123", "password2": "123"},
        {"username": "bad name!", "password1": PASSWORD, "password2": PASSWORD},
        {"username": "", "password1": "", "password2": ""},
    ],
)
def test_a_refused_sign_up_says_why_and_stores_nothing(
    alice: Rater, fields: dict[str, str]
) -> None:
    answer = client_for(alice).post("/account/signup", fields)
    assert answer.status_code == 400
    assert answer.context["form"].errors
    assert not User.objects.exists()
    alice.refresh_from_db()
    assert alice.user is None


def test_a_taken_username_is_refused(client: Client) -> None:
    User.objects.create_user("Ada", password=PASSWORD)
    answer = sign_up(client, "ada")
    assert answer.status_code == 400
    assert User.objects.count() == 1


def test_wrong_passwords_lock_the_sign_in_out(client: Client) -> None:
    User.objects.create_user("grace", password=PASSWORD)
    wrong = {"username": "grace", "password": "no"}
    for _ in range(4):
        assert client.post("/account/login", wrong).status_code == 400
    locked = client.post("/account/login", wrong)
    assert locked.status_code == 429
    still = client.post("/account/login", {"username": "grace", "password": PASSWORD})
    assert still.status_code == 429  # locked out for the cool-off, right password or not


def test_anonymous_rating_needs_no_account(client: Client, demo_models: list) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"/account/login" in page.content
    answer = client.post("/battles/new", {"prompt": "Print hello", "consent": "yes"})
    assert answer.status_code == 303
    assert Rater.objects.get().user is None
    assert COOKIE_NAME in answer.cookies


def test_sign_out_takes_only_a_post(client: Client) -> None:
    assert client.get("/account/logout").status_code == 405
