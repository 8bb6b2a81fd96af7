"""Limits: floods are refused with 429 and a message; a normal rater never is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from arena.battles.models import Battle, Response, Turn, Vote
from arena.raters.limits import network_of
from arena.raters.models import Rater, RaterLimits
from arena.runs.models import Execution
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def limits(**fields: Any) -> None:
    RaterLimits.objects.update_or_create(pk=1, defaults=fields)


def start(client: Client, prompt: str = "Print primes", **headers: str):
    """Headers by their HTTP names with - as _: X_Forwarded_For, HX_Request."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return client.post(
        reverse("arena-battle-new"), {"prompt": prompt, "consent": "yes"}, headers=named
    )


def vote(client: Client, battle: Battle, winner: str = "model_a"):
    return client.post(
        reverse("arena-battle-vote", args=[battle.id]),
        {"winner": winner},
        headers={"HX-Request": "true"},
    )


def finish_answers() -> None:
    """What the generation jobs do (they run after commit, which these tests never reach)."""
    Response.objects.update(status=Response.Status.DONE)


def assert_refused_with_a_message(answer: Any, words: str) -> None:
    assert answer.status_code == 429
    assert words in answer.content.decode()
    assert int(answer["Retry-After"]) > 0
    toast = json.loads(answer["HX-Trigger"])["arena:limited"]["message"]
    assert words in toast


def test_a_battle_flood_from_one_rater_is_refused_with_429_and_a_message(
    alice: Rater, alice_client: Client, demo_models: list
) -> None:
    limits(battles_per_rater=5, concurrent_battles_per_rater=0)
    codes = [start(alice_client) for _ in range(5)]
    assert [c.status_code for c in codes] == [303] * 5
    refused = start(alice_client, HX_Request="true")
    assert_refused_with_a_message(refused, "at most 5 new battles per 10 minutes")
    assert Battle.objects.count() == 5


def test_cookieless_clients_behind_one_address_are_refused_as_new_raters(
    demo_models: list,
) -> None:
    limits(new_raters_per_ip=10, concurrent_battles_per_rater=0)
    answers = [start(Client()) for _ in range(15)]
    assert [a.status_code for a in answers] == [303] * 10 + [429] * 5
    assert "new raters per 10 minutes from one address" in answers[-1].content.decode()
    assert Rater.objects.count() == 10 and Battle.objects.count() == 10


def test_many_raters_behind_one_address_share_its_battle_rate(demo_models: list) -> None:
    limits(battles_per_ip=6, concurrent_battles_per_rater=0)
    clients = [Client() for _ in range(4)]
    codes = [start(c).status_code for _ in range(2) for c in clients]
    assert codes == [303] * 6 + [429] * 2
    assert Battle.objects.count() == 6


def test_a_forwarded_for_header_is_ignored_unless_a_proxy_is_declared(
    demo_models: list,
) -> None:
    limits(new_raters_per_ip=2, concurrent_battles_per_rater=0)
    spoofed = [start(Client(), X_Forwarded_For=f"10.0.0.{n}").status_code for n in range(3)]
    assert spoofed == [303, 303, 429]


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_declared_proxy_each_forwarded_address_counts_alone(
    demo_models: list,
) -> None:
    limits(new_raters_per_ip=1, concurrent_battles_per_rater=0)
    assert [start(Client(), X_Forwarded_For=f"10.0.0.{n}").status_code for n in range(3)] == [
        303
    ] * 3
    # The proxy appends what it saw: a client can prepend anything, the last hop is believed.
    assert start(Client(), X_Forwarded_For="198.51.100.7, 10.0.0.1").status_code == 429
    assert start(Client(), X_Forwarded_For="1.2.3.4, 10.0.0.2").status_code == 429


def test_a_vote_flood_from_one_rater_is_refused_and_nothing_stored(
    alice: Rater, alice_client: Client, make_battle: Callable[..., Battle]
) -> None:
    limits(votes_per_rater=3)
    battles = [make_battle(alice) for _ in range(5)]
    codes = [vote(alice_client, b).status_code for b in battles]
    assert codes == [200, 200, 200, 429, 429]
    assert Vote.objects.count() == 3
    assert "at most 3 votes per 10 minutes" in vote(alice_client, battles[4]).content.decode()


def test_a_vote_flood_from_many_raters_behind_one_address_is_refused(
    make_battle: Callable[..., Battle],
) -> None:
    limits(votes_per_ip=4)
    raters = [Rater.objects.create() for _ in range(6)]
    codes = [vote(client_for(r), make_battle(r)).status_code for r in raters]
    assert codes == [200] * 4 + [429] * 2
    assert Vote.objects.count() == 4


def test_a_replayed_vote_is_refused_and_counts_once(
    alice: Rater, alice_client: Client, make_battle: Callable[..., Battle]
) -> None:
    battle = make_battle(alice)
    assert vote(alice_client, battle).status_code == 200
    replay = vote(alice_client, battle, winner="model_b")
    assert replay.status_code == 400
    assert b"already voted" in replay.content
    assert list(Vote.objects.values_list("winner", flat=True)) == ["model_a"]


def test_the_daily_vote_cap_holds_across_windows(
    alice: Rater, alice_client: Client, make_battle: Callable[..., Battle]
) -> None:
    limits(daily_votes_per_rater=2)
    codes = [vote(alice_client, make_battle(alice)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert "the daily limit" in vote(alice_client, make_battle(alice)).content.decode()
    assert Vote.objects.count() == 2


def test_the_concurrent_battle_cap_counts_battles_still_being_written(
    alice: Rater, alice_client: Client, demo_models: list
) -> None:
    limits(concurrent_battles_per_rater=2)
    assert [start(alice_client).status_code for _ in range(3)] == [303, 303, 429]
    assert "still being written" in start(alice_client).content.decode()
    finish_answers()
    assert start(alice_client).status_code == 303


def test_a_brisk_normal_rater_is_never_refused_by_the_default_limits(
    alice: Rater, alice_client: Client, demo_models: list
) -> None:
    """Ten battles in one window, each with a follow-up, two edited runs and a vote."""
    for n in range(10):
        assert start(alice_client, f"Program number {n}").status_code == 303
        battle = Battle.objects.filter(rater=alice).order_by("-created_at").first()
        assert battle is not None
        finish_answers()
        Response.objects.filter(turn__battle=battle).update(code="print(1)", code_language="python")
        follow_up = alice_client.post(
            reverse("arena-battle-follow-up", args=[battle.id]),
            {"prompt": "Now in fewer lines"},
            headers={"HX-Request": "true"},
        )
        assert follow_up.status_code == 200
        finish_answers()
        last = Turn.objects.filter(battle=battle).order_by("-index").first()
        side = Response.objects.filter(turn=last, side="a").get()
        Response.objects.filter(pk=side.pk).update(code="print(2)", code_language="python")
        for code in ("print(3)", "print(4)"):
            run = alice_client.post(
                reverse("arena-response-rerun", args=[battle.id, side.pk]),
                {"code": code, "language": "python"},
                headers={"HX-Request": "true"},
            )
            assert run.status_code == 200
            Execution.objects.update(status="ok")
        assert vote(alice_client, battle).status_code == 200
    assert Vote.objects.filter(rater=alice).count() == 10


def test_an_ipv6_client_counts_as_its_whole_64() -> None:
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:ffff::9")
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("192.0.2.1") == "192.0.2.1"
    assert network_of("junk\x7f") == network_of("other junk") == network_of("")


def test_a_new_raters_first_battle_counts_against_its_own_rate(demo_models: list) -> None:
    limits(battles_per_rater=1, concurrent_battles_per_rater=0)
    client = Client()
    assert start(client).status_code == 303
    assert start(client).status_code == 429
    assert Battle.objects.count() == 1 and Rater.objects.count() == 1
