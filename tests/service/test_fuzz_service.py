"""The fuzzers against a live service: Daphne, Celery workers, PostgreSQL and Redis, over
HTTP with the browser's cookies and CSRF token, and the rate limits as shipped. No answer
is a 5xx, refused input stores nothing, and the limits (counted in Redis) refuse with 429."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from arena.battles.models import Battle, Response, Turn, Vote
from arena.battles.services import vote_blocker
from arena.llms.models import LanguageModel
from arena.raters.models import Rater, RaterLimits
from tests.fuzzing import FUZZ, json_bodies, params, text
from tests.stack import Stack

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]
LIVE = hypothesis_settings(FUZZ, max_examples=25)  # each example is a real HTTP round trip
WINNERS = ("model_a", "model_b", "tie", "both_bad")


def counts() -> tuple[int, ...]:
    """What requests create (executions are left out: the workers add them as they go)."""
    return tuple(m.objects.count() for m in (Rater, Battle, Turn, Response, Vote))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Stack]:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("service mode needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    call_command("seed_demo", verbosity=0)
    LanguageModel.objects.update(params={"chunk_delay_s": 0})
    db = connection.settings_dict
    # The service reads and writes the test database this test is using.
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    stack = Stack(url, settings.REDIS_URL, tmp_path, generation=2, execution=1)
    try:
        stack.start_all(generation=2, execution=1)
        yield stack
    finally:
        stack.stop()


class Browser:
    """One browser: the session, CSRF and rater cookies, and the Referer a form post has."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        self.http.get("/")

    def get(self, path: str, query: dict[str, str] | None = None) -> httpx.Response:
        return self.http.get(path, params=query)

    def post(self, path: str, data: dict[str, str], **headers: str) -> httpx.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"Referer": self.base + "/", **headers},
        )

    def post_json(self, path: str, body: object) -> httpx.Response:
        token = self.http.cookies.get("csrftoken", "")
        return self.http.post(
            path, json=body, headers={"Referer": self.base + "/", "X-CSRFToken": token}
        )


def wait_until_votable(battle: Battle, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while vote_blocker(Battle.objects.get(pk=battle.pk)):
        assert time.monotonic() < deadline, vote_blocker(battle)
        time.sleep(0.5)


def test_a_live_service_answers_fuzzed_requests_without_a_server_error(service: Stack) -> None:
    browser = Browser(service.url)

    @given(query=params, name=text)
    @LIVE
    def pages(query: dict[str, str], name: str) -> None:
        assert browser.get("/leaderboard/", query).status_code < 500
        # quoted, as a browser sends it (an HTTP client refuses raw control characters)
        assert browser.get(f"/leaderboard/models/{quote(name, safe='')}/").status_code < 500
        assert browser.get("/votes/", query).status_code < 500

    @given(prompt=text, category=text, consent=text, htmx=st.booleans())
    @LIVE
    def starts(prompt: str, category: str, consent: str, htmx: bool) -> None:
        before = counts()
        answer = browser.post(
            "/battles/new",
            {"prompt": prompt, "category": category, "consent": consent},
            **({"HX-Request": "true"} if htmx else {}),
        )
        assert answer.status_code < 500, answer.text[:300]
        if answer.status_code != 303 and "HX-Redirect" not in answer.headers:
            assert counts() == before

    @given(body=json_bodies)
    @LIVE
    def json_posts(body: object) -> None:
        before = counts()
        assert browser.post_json("/battles/new", body).status_code < 500
        assert counts() == before

    pages()
    starts()
    json_posts()
    # The fuzzed starts were counted in Redis, where every web process sees them.
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("*limit:*")
    assert keys, "no rate counted in Redis"


def test_a_live_service_votes_once_on_a_valid_choice_and_refuses_floods(service: Stack) -> None:
    browser = Browser(service.url)
    started = browser.post("/battles/new", {"prompt": "Print hello", "consent": "yes"})
    assert started.status_code == 303
    battle = Battle.objects.get()
    wait_until_votable(battle)
    path = f"/battles/{battle.id}/vote"

    @given(winner=st.one_of(text, st.sampled_from(WINNERS)), feedback=text)
    @LIVE
    def votes(winner: str, feedback: str) -> None:
        answer = browser.post(path, {"winner": winner, "fb_correctness": feedback})
        assert answer.status_code < 500, answer.text[:300]
        assert Vote.objects.filter(battle=battle).count() <= 1

    votes()
    last = browser.post(path, {"winner": "tie"})  # stored now, or refused: voted already
    assert last.status_code in (303, 400), last.text[:300]
    assert Vote.objects.filter(battle=battle).count() == 1
    # A flood from one browser meets the concurrent-battle cap and the rates (lowered, as
    # an admin would, so the flood stays small): 429 with a wait and the reason in the
    # page, never a 5xx, never silence.
    RaterLimits(battles_per_rater=5).save()
    answers = [
        browser.post("/battles/new", {"prompt": f"Print {n}", "consent": "yes"}) for n in range(10)
    ]
    assert all(a.status_code in (303, 429) for a in answers)
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "a flood of 10 battles was never refused"
    assert Battle.objects.count() <= 1 + 5
    assert all(int(a.headers["Retry-After"]) > 0 for a in refused)
    assert all("arena:limited" in a.headers.get("HX-Trigger", "") for a in refused)
