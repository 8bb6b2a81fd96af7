"""Admin: login lockout, and recorded evidence that can be read but never changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.urls import reverse

from arena.battles.models import Battle, InteractionEvent, Response, Turn, Vote
from arena.raters.models import Rater
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin_user() -> AbstractUser:
    return get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)


def log_in(client: Client, password: str, ip: str = "10.0.0.1") -> int:
    answer = client.post(
        reverse("admin:login"),
        {"username": "root", "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )
    return answer.status_code


def test_twenty_wrong_passwords_lock_the_admin_login(admin_user: AbstractUser) -> None:
    client = Client()
    codes = [log_in(client, f"guess-{n}") for n in range(20)]
    assert codes[:4] == [200] * 4  # the login form again, with its error
    assert set(codes[5:]) == {429}
    assert log_in(client, PASSWORD) == 429  # even the right password, until the cool-off
    assert "_auth_user_id" not in client.session


def test_the_lockout_also_holds_the_username_from_another_address(
    admin_user: AbstractUser,
) -> None:
    for n in range(20):
        log_in(Client(), f"guess-{n}", ip=f"10.0.1.{n}")
    assert log_in(Client(), PASSWORD, ip="10.0.2.1") == 429


def test_an_admin_who_mistypes_twice_still_gets_in(admin_user: AbstractUser) -> None:
    client = Client()
    assert log_in(client, "typo-1") == 200
    assert log_in(client, "typo-2") == 200
    assert log_in(client, PASSWORD) == 302
    assert client.session["_auth_user_id"] == str(admin_user.pk)


@pytest.fixture
def evidence(alice: Rater, make_battle: Callable[..., Battle]) -> dict[str, object]:
    battle = make_battle(alice, status=Battle.Status.VOTED)
    response = Response.objects.filter(turn__battle=battle).first()
    assert response is not None
    execution = Execution.objects.create(
        owner=response, code="print(1)", language="python", environment="python"
    )
    return {
        "battle": battle,
        "turn": battle.turns.get(),
        "response": response,
        "execution": execution,
        "vote": Vote.objects.create(battle=battle, rater=alice, winner="model_a"),
        "interactionevent": InteractionEvent.objects.create(battle=battle, kind="rerun"),
    }


EVIDENCE = ["battle", "response", "execution", "vote", "interactionevent"]


def _admin_url(obj: object, view: str) -> str:
    meta = obj._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", EVIDENCE)
def test_recorded_evidence_is_shown_but_cannot_be_changed_added_or_deleted(
    admin_client: Client, evidence: dict[str, object], name: str
) -> None:
    obj = evidence[name]
    meta = obj._meta  # type: ignore[attr-defined]
    change = admin_client.get(_admin_url(obj, "change"))
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert admin_client.post(_admin_url(obj, "change"), {}).status_code == 403
    assert admin_client.post(_admin_url(obj, "delete"), {"post": "yes"}).status_code == 403
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    assert admin_client.get(add).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()  # type: ignore[attr-defined]


def test_turns_appear_only_read_only_inside_their_battle(
    admin_client: Client, evidence: dict[str, object]
) -> None:
    page = admin_client.get(_admin_url(evidence["battle"], "change"))
    turn = evidence["turn"]
    assert isinstance(turn, Turn)
    assert turn.prompt.encode() in page.content
    assert b'name="turns-0-prompt"' not in page.content


def test_an_admin_can_still_invalidate_a_vote(
    admin_client: Client, evidence: dict[str, object]
) -> None:
    vote = evidence["vote"]
    assert isinstance(vote, Vote)
    answer = admin_client.post(
        reverse("admin:battles_vote_changelist"),
        {"action": "invalidate", "_selected_action": [vote.pk]},
    )
    assert answer.status_code == 302
    vote.refresh_from_db()
    assert not vote.is_valid
    assert vote.audit.get().by == "reviewer"
