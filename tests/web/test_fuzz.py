"""Hypothesis fuzzing of every form, query parameter and JSON endpoint, in-process: no
answer is a 5xx, and input that is refused stores nothing. It runs in the mode the
environment sets: `deploy/test.sh` runs it in service configuration (PostgreSQL, the Redis
caches and limits) with the whole suite and once more embedded (SQLite, memory caches);
tests/service/test_fuzz_service.py fuzzes a live service (Daphne, Celery workers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from arena.battles.models import Battle, Response, Turn, Vote
from arena.exports.models import ApiToken, Export
from arena.raters.models import Rater, RaterLimits
from arena.runs.models import Execution
from tests.conftest import client_for
from tests.fuzzing import FUZZ, json_bodies, params, text

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Rater, Battle, Turn, Response, Vote, Execution))


@pytest.fixture(autouse=True)
def _no_rate_limits(db: None) -> Iterator[None]:
    """Refusals for speed would hide what the fuzzer is after."""
    RaterLimits.objects.update_or_create(
        pk=1,
        defaults={
            f.name: 0
            for f in RaterLimits._meta.fields
            if f.name not in ("id", "window_minutes", "updated_at")
        },
    )
    yield


def test_the_fuzzers_run_in_the_mode_the_environment_sets() -> None:
    """Service configuration is really in use when it is set: PostgreSQL, and rate limits
    counted in Redis (a limits cache that fails lets every request through, so a silent
    fallback would hide a broken service path)."""
    limits = caches["limits"]
    if django_settings.REDIS_URL:
        assert connection.vendor == "postgresql"
        assert type(limits).__name__ == "RedisCache"
        limits.set("fuzz-mode-probe", 1)
        assert limits.get("fuzz-mode-probe") == 1
    else:
        assert connection.vendor == "sqlite"
        assert type(limits).__name__ == "LocMemCache"


@given(query=params)
@FUZZ
def test_the_leaderboard_answers_any_query_without_a_server_error(
    client: Client, query: dict[str, str]
) -> None:
    assert client.get("/leaderboard/", query).status_code < 500
    assert client.get("/leaderboard/", query, headers={"HX-Request": "true"}).status_code < 500


@given(name=text)
@FUZZ
def test_a_model_page_answers_any_name_without_a_server_error(client: Client, name: str) -> None:
    assert client.get(f"/leaderboard/models/{name}/").status_code < 500


@given(prompt=text, category=text, consent=text, htmx=st.booleans())
@FUZZ
def test_starting_a_battle_with_any_fields_stores_nothing_unless_accepted(
    client: Client, demo_models: list, prompt: str, category: str, consent: str, htmx: bool
) -> None:
    before = counts()
    answer = client.post(
        "/battles/new",
        {"prompt": prompt, "category": category, "consent": consent},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert answer.status_code < 500
    accepted = answer.status_code == 303 or (htmx and "HX-Redirect" in answer)
    if not accepted:
        assert counts() == before


@given(body=json_bodies)
@FUZZ
def test_any_json_body_is_answered_without_a_server_error_and_stores_nothing(
    client: Client, demo_models: list, body: Any
) -> None:
    before = counts()
    answer = client.post("/battles/new", body, content_type="application/json")
    assert answer.status_code < 500
    assert counts() == before  # the form reads no JSON: a JSON post never starts a battle


@given(
    winner=text,
    feedback=st.dictionaries(st.sampled_from(["fb_correctness", "fb_ui_ux", "fb_x"]), text),
)
@FUZZ
def test_voting_with_any_fields_stores_a_vote_only_for_a_valid_choice(
    alice: Rater, make_battle: Callable[..., Battle], winner: str, feedback: dict[str, str]
) -> None:
    client = client_for(alice)
    battle = make_battle(alice)
    url = f"/battles/{battle.id}/vote"
    assert client.get(url, {"winner": winner}).status_code < 500
    answer = client.post(url, {"winner": winner, **feedback}, headers={"HX-Request": "true"})
    assert answer.status_code < 500
    stored = Vote.objects.filter(battle=battle).exists()
    assert stored == (answer.status_code == 200)
    if winner not in ("model_a", "model_b", "tie", "both_bad"):
        assert not stored


@given(prompt=text, code=text, language=text, response_id=st.integers(-5, 10**12))
@FUZZ
def test_follow_ups_and_re_runs_with_any_fields_never_fail_on_the_server(
    alice: Rater,
    make_battle: Callable[..., Battle],
    prompt: str,
    code: str,
    language: str,
    response_id: int,
) -> None:
    client = client_for(alice)
    battle = make_battle(alice)
    before = counts()
    turn = client.post(f"/battles/{battle.id}/turns", {"prompt": prompt})
    assert turn.status_code < 500
    if turn.status_code != 200:
        assert counts() == before
    before = counts()
    run = client.post(
        f"/battles/{battle.id}/responses/{response_id}/run", {"code": code, "language": language}
    )
    assert run.status_code < 500
    if run.status_code not in (204, 303):
        assert counts() == before


@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["format", "since", "until", "models", "category", "language", "valid_only"]
        ),
        text,
    )
)
@FUZZ
def test_the_export_form_refuses_bad_fields_without_storing_an_export(
    admin_client: Client, fields: dict[str, str]
) -> None:
    before = Export.objects.count()
    answer = admin_client.post("/research/exports/new", fields)
    assert answer.status_code < 500
    if answer.status_code != 303:
        assert Export.objects.count() == before


@given(query=params)
@FUZZ
def test_admin_lists_answer_any_query_without_a_server_error(
    admin_client: Client, query: dict[str, str]
) -> None:
    for url in ("/admin/battles/vote/", "/admin/battles/battle/", "/admin/runs/execution/"):
        assert admin_client.get(url, query).status_code < 500


@given(scope=text, authorization=text)
@FUZZ
def test_the_token_api_answers_any_scope_and_header_without_a_server_error(
    client: Client, scope: str, authorization: str
) -> None:
    row = ApiToken(name="fuzz")
    token = row.issue()
    row.save()
    for header in (f"Bearer {token}", authorization):
        try:
            answer = client.get(
                "/api/v1/leaderboard", {"scope": scope}, headers={"Authorization": header}
            )
        except ValueError:  # a header the HTTP client itself cannot send (a newline)
            continue
        assert answer.status_code < 500


@given(
    remote=st.one_of(st.ip_addresses().map(str), text),
    forwarded=st.one_of(st.none(), text, st.lists(st.ip_addresses().map(str)).map(", ".join)),
    proxies=st.integers(0, 3),
)
@FUZZ
def test_rate_limits_count_any_client_address_without_a_server_error(
    client: Client,
    demo_models: list,
    settings: Any,
    remote: str,
    forwarded: str | None,
    proxies: int,
) -> None:
    """Limits on (in the limits cache: Redis in service mode): whatever address and proxy
    headers arrive, a start is accepted or refused with 429 and a wait, and a refused one
    stores nothing."""
    settings.TRUSTED_PROXY_COUNT = proxies
    RaterLimits.objects.filter(pk=1).update(battles_per_ip=2, new_raters_per_ip=2)
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    before = counts()
    try:
        answer = client.post(
            "/battles/new",
            {"prompt": "Print hello", "consent": "yes"},
            REMOTE_ADDR=remote,
            headers=headers,
        )
    except ValueError:  # a header the HTTP client itself cannot send (a newline)
        return
    assert answer.status_code in (303, 400, 429)
    if answer.status_code == 429:
        assert int(answer["Retry-After"]) > 0
        assert b"You are going fast" in answer.content
    if answer.status_code != 303:
        assert counts() == before
