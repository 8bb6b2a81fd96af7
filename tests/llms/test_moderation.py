"""The moderation hook against a real local moderation server: flagged requests are
refused before any model is called, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from arena.battles.models import Battle
from arena.llms import moderation
from arena.llms.moderation import ModerationUnavailable, OpenAIModeration
from tests.fakes.moderation_api import ModerationServer, moderation_server

KEY_ENV = "ARENA_TEST_MODERATION_API_KEY"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModerationServer]:
    monkeypatch.setenv(KEY_ENV, "sk-mod")
    with (
        moderation_server(kill="violence") as running,
        override_settings(
            MODERATION_BACKEND="arena.llms.moderation.OpenAIModeration",
            MODERATION_URL=running.base_url,
            MODERATION_MODEL="omni-moderation-latest",
            MODERATION_API_KEY_ENV=KEY_ENV,
        ),
    ):
        moderation._moderator.cache_clear()  # the moderator is built once per process
        yield running
    moderation._moderator.cache_clear()


def test_the_openai_moderator_sends_the_text_and_reads_the_verdict(
    server: ModerationServer,
) -> None:
    verdict = OpenAIModeration().check("how do I kill a process in bash")
    assert verdict.flagged and verdict.categories == ("violence",)
    assert server.requests == [
        {"model": "omni-moderation-latest", "input": "how do I kill a process in bash"}
    ]
    assert server.headers[0]["authorization"] == "Bearer sk-mod"
    assert not OpenAIModeration().check("print primes").flagged


def test_a_failing_endpoint_is_reported_as_unavailable(server: ModerationServer) -> None:
    server.status = 500
    with pytest.raises(ModerationUnavailable):
        OpenAIModeration().check("anything")


@pytest.mark.django_db
def test_a_flagged_request_never_reaches_the_models_and_stores_nothing(
    server: ModerationServer, client: Client, demo_models: list
) -> None:
    answer = client.post(reverse("arena-battle-new"), {"prompt": "kill everyone", "consent": "yes"})
    assert answer.status_code == 400
    assert "flagged by the arena&#x27;s moderation (violence)" in answer.content.decode()
    assert not Battle.objects.exists()
    ok = client.post(reverse("arena-battle-new"), {"prompt": "print primes", "consent": "yes"})
    assert ok.status_code == 303
    assert [r["input"] for r in server.requests] == ["kill everyone", "print primes"]


@pytest.mark.django_db
def test_when_moderation_is_down_the_request_is_refused_with_a_clear_message(
    server: ModerationServer, client: Client, demo_models: list
) -> None:
    server.status = 503
    answer = client.post(reverse("arena-battle-new"), {"prompt": "print primes", "consent": "yes"})
    assert answer.status_code == 400
    assert b"cannot be checked right now" in answer.content
    assert not Battle.objects.exists()


def test_a_moderation_key_variable_outside_the_allow_list_is_refused() -> None:
    with override_settings(MODERATION_API_KEY_ENV="SECRET_KEY"), pytest.raises(ValueError):
        OpenAIModeration()
