from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from arena.battles.models import Vote
from arena.exports.filters import ExportFilters
from arena.exports.models import ApiToken, Export
from arena.exports.services import export_run, export_start
from arena.raters.models import Rater
from arena.ratings.snapshots import refresh_leaderboards

pytestmark = pytest.mark.django_db


@pytest.fixture
def token() -> str:
    row = ApiToken(name="lab")
    plaintext = row.issue()
    row.save()
    return plaintext


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def finished_export(alice: Rater, make_vote: Callable[..., Vote]) -> Export:
    make_vote(alice)
    export = export_start(fmt="jsonl", filters=ExportFilters())
    export_run(export.pk)
    return Export.objects.get(pk=export.pk)


def test_tokens_are_stored_only_as_a_hash(token: str) -> None:
    row = ApiToken.objects.get()
    assert token not in (row.digest, row.prefix) and token.startswith(row.prefix)
    assert row.digest == ApiToken.digest_of(token)


@pytest.mark.parametrize(
    "url", ["/api/v1/exports", "/api/v1/leaderboard", "/api/v1/exports/1/download"]
)
def test_it_refuses_a_request_without_a_token(client: Client, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing_token"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_wrong_token(client: Client, token: str) -> None:
    answer = client.get("/api/v1/exports", headers=bearer(token + "x"))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


def test_it_refuses_a_revoked_token(client: Client, token: str) -> None:
    ApiToken.objects.update(revoked_at=timezone.now())
    answer = client.get("/api/v1/exports", headers=bearer(token))
    assert answer.status_code == 401 and answer.json()["message"] == "This token was revoked."


def test_it_refuses_another_scheme(client: Client, token: str) -> None:
    answer = client.get("/api/v1/exports", headers={"Authorization": f"Basic {token}"})
    assert answer.status_code == 401


def test_it_lists_and_downloads_exports(
    client: Client, token: str, finished_export: Export
) -> None:
    listing = client.get("/api/v1/exports", headers=bearer(token))
    assert listing.status_code == 200
    item = listing.json()["exports"][0]
    assert (item["id"], item["status"], item["rows"]) == (finished_export.pk, "done", 1)
    assert "secret" not in item and finished_export.secret not in listing.content.decode()
    download = client.get(item["download_url"], headers=bearer(token))
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert b"".join(download.streaming_content)[:2] == b"PK"
    assert ApiToken.objects.get().last_used_at is not None


def test_a_missing_export_is_a_json_404(client: Client, token: str) -> None:
    answer = client.get("/api/v1/exports/999/download", headers=bearer(token))
    assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_it_serves_the_current_leaderboard_snapshot(
    client: Client, token: str, alice: Rater, make_vote, make_model
) -> None:
    a, b, hidden = (
        make_model(name="aa"),
        make_model(name="bb"),
        make_model(name="zz", is_public=False),
    )
    make_vote(alice, model_a=a, model_b=b, winner="model_a")
    make_vote(alice, model_a=b, model_b=hidden, winner="tie", minutes=1)
    refresh_leaderboards()
    answer = client.get("/api/v1/leaderboard", headers=bearer(token))
    assert answer.status_code == 200
    body = answer.json()
    assert body["scope"] == "overall" and body["n_votes"] == 2
    assert {m["model"] for m in body["models"]} == {"aa", "bb"}  # zz is not public
    missing = client.get("/api/v1/leaderboard?scope=language:cobol", headers=bearer(token))
    assert missing.status_code == 404


def test_the_api_never_answers_a_post(client: Client, token: str) -> None:
    assert client.post("/api/v1/exports", headers=bearer(token)).status_code == 405
