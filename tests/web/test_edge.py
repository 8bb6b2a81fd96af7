"""The edge middleware: invalid characters are refused before any view, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from arena.battles.models import Battle
from arena.edge import invalid_text

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prompt", ["print(1)\x00", "a\x01b", "\x1f", "x\x0b"])
def test_a_request_with_a_control_character_is_refused_and_nothing_stored(
    client: Client, demo_models: list, prompt: str
) -> None:
    answer = client.post(reverse("arena-battle-new"), {"prompt": prompt, "consent": "yes"})
    assert answer.status_code == 400
    assert b"characters the arena does not accept" in answer.content
    assert not Battle.objects.exists()


def test_invalid_utf8_in_a_form_body_is_refused(client: Client, demo_models: list) -> None:
    answer = client.post(
        reverse("arena-battle-new"),
        b"prompt=caf%E9",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 400
    assert not Battle.objects.exists()


@pytest.mark.parametrize("query", ["scope=%00", "to=2025-01-01%00", "x=%FF%FE", "%00=1"])
def test_a_query_string_with_nul_or_invalid_utf8_is_refused(client: Client, query: str) -> None:
    assert client.get(f"/leaderboard/?{query}").status_code == 400


def test_a_nul_in_the_path_is_refused(client: Client) -> None:
    assert client.get("/leaderboard/models/a%00b/").status_code == 400


def test_a_json_body_with_an_escaped_nul_is_refused(client: Client) -> None:
    body = json.dumps({"prompt": "hi\u0000"})
    answer = client.post(reverse("arena-battle-new"), body, content_type="application/json")
    assert answer.status_code == 400
    assert b"characters the arena does not accept" in answer.content


def test_ordinary_code_with_tabs_newlines_escapes_and_unicode_passes(
    client: Client, demo_models: list
) -> None:
    prompt = "Write\tthis:\r\n\x0cprint('\x1b[1mhé 日本 🙂\x1b[0m')"
    assert not invalid_text(prompt)
    answer = client.post(reverse("arena-battle-new"), {"prompt": prompt, "consent": "yes"})
    assert answer.status_code == 303
    assert Battle.objects.get().turns.get().prompt == prompt.strip()
