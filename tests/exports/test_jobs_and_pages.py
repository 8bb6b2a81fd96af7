"""The research page, the admin and the background job behind both."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from arena.battles.models import Vote
from arena.exports.filters import ExportFilters
from arena.exports.models import ApiToken, Export
from arena.exports.services import archive_path, export_run, export_start
from arena.raters.models import Rater

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher_client(client: Client) -> Client:
    user = get_user_model().objects.create_user("rae", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_export"))
    client.force_login(user)
    return client


@pytest.fixture
def two_votes(alice: Rater, make_vote: Callable[..., Vote]) -> None:
    make_vote(alice, category="web")
    make_vote(alice, minutes=1, category="algorithms")


def test_the_page_sends_strangers_to_log_in(client: Client) -> None:
    answer = client.get("/research/exports/")
    assert answer.status_code == 302 and answer["Location"].startswith("/admin/login/")


def test_the_page_refuses_users_without_the_permission(client: Client) -> None:
    client.force_login(get_user_model().objects.create_user("plain", password="pw"))
    assert client.get("/research/exports/").status_code == 403
    assert client.post("/research/exports/new", {"format": "csv"}).status_code == 403


def test_researchers_and_staff_see_the_page(
    researcher_client: Client, admin_client: Client
) -> None:
    for client in (researcher_client, admin_client):
        page = client.get("/research/exports/")
        assert page.status_code == 200 and b"New export" in page.content


def test_a_researcher_starts_an_export_and_downloads_it(
    researcher_client: Client, two_votes: None, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = researcher_client.post(
            "/research/exports/new", {"format": "parquet", "category": "web", "valid_only": "on"}
        )
    assert answer.status_code == 303 and len(callbacks) == 1  # the job, after commit
    export = Export.objects.get()
    assert (export.status, export.filters["category"], export.filters["valid_only"]) == (
        "queued",
        "web",
        True,
    )
    assert export.created_by.username == "rae"
    export_run(export.pk)  # what the job runs
    export.refresh_from_db()
    assert (export.status, export.rows_done, export.rows_total) == ("done", 1, 1)
    row = researcher_client.get(f"/research/exports/{export.pk}/")
    assert b"status-done" in row.content and b"hx-trigger" not in row.content
    download = researcher_client.get(f"/research/exports/{export.pk}/download")
    assert download.status_code == 200
    with zipfile.ZipFile(BytesIO(b"".join(download.streaming_content))) as archive:
        assert f"{export.name}/votes.parquet" in archive.namelist()


def test_a_running_export_polls_for_progress(researcher_client: Client) -> None:
    export = Export.objects.create(status="running", rows_total=200, rows_done=50)
    row = researcher_client.get(f"/research/exports/{export.pk}/")
    assert b'hx-trigger="every 2s"' in row.content and b'value="25"' in row.content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "xml"}, b"Select a valid choice"),
        ({"format": "csv", "since": "2026-13-01"}, b"Enter a valid date"),
        ({"format": "csv", "since": "2026-03-02", "until": "2026-03-01"}, b"is after"),
        ({"format": "csv", "models": ["ghost"]}, b"Select a valid choice"),
    ],
)
def test_bad_form_input_is_a_form_error(
    researcher_client: Client, data: dict, message: bytes
) -> None:
    answer = researcher_client.post("/research/exports/new", data)
    assert answer.status_code == 400 and message in answer.content
    assert not Export.objects.exists()


def test_a_job_runs_once(two_votes: None) -> None:
    export = export_start(fmt="jsonl", filters=ExportFilters())
    export_run(export.pk)
    finished = Export.objects.get(pk=export.pk).finished_at
    export_run(export.pk)  # a redelivered task finds the row claimed and does nothing
    assert Export.objects.get(pk=export.pk).finished_at == finished


def test_a_failed_job_records_why(two_votes: None, monkeypatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("arena.exports.services.export_votes", boom)
    export = export_start(fmt="jsonl", filters=ExportFilters())
    export_run(export.pk)
    export.refresh_from_db()
    assert (export.status, export.error) == ("failed", "OSError: disk full")
    assert archive_path(export) is None


def test_admin_adds_an_export_and_its_job_starts(
    admin_client: Client, two_votes: None, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = admin_client.post(
            "/admin/exports/export/add/", {"format": "csv", "category": "algorithms"}
        )
    assert answer.status_code == 302, answer.content
    assert len(callbacks) == 1
    export = Export.objects.get()
    assert export.filters["category"] == "algorithms"
    export_run(export.pk)
    export.refresh_from_db()
    assert (export.status, export.rows_done) == ("done", 1)
    listing = admin_client.get("/admin/exports/export/")
    assert export.get_download_url().encode() in listing.content


def test_the_admin_action_exports_again_with_the_same_filters(
    admin_client: Client, two_votes: None
) -> None:
    first = export_start(fmt="jsonl", filters=ExportFilters(category="web"))
    export_run(first.pk)
    answer = admin_client.post(
        "/admin/exports/export/", {"action": "run_again", "_selected_action": [first.pk]}
    )
    assert answer.status_code == 302
    again = Export.objects.exclude(pk=first.pk).get()
    assert (again.filters, again.format, again.status) == (first.filters, "jsonl", "queued")
    export_run(again.pk)
    again.refresh_from_db()
    assert again.status == "done" and again.secret != first.secret


def test_admin_creates_a_token_and_shows_it_once(admin_client: Client) -> None:
    answer = admin_client.post("/admin/exports/apitoken/add/", {"name": "lab"})
    assert answer.status_code == 200
    token = ApiToken.objects.get()
    shown = answer.content.decode().split('<code class="api-token">')[1].split("<")[0]
    assert ApiToken.digest_of(shown) == token.digest
    page = admin_client.get(f"/admin/exports/apitoken/{token.pk}/change/")
    assert shown not in page.content.decode()


def test_admin_revokes_tokens(admin_client: Client) -> None:
    token = ApiToken(name="old")
    token.issue()
    token.save()
    admin_client.post(
        "/admin/exports/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.is_revoked


def test_a_restarted_worker_fails_the_exports_it_left_running() -> None:
    from arena.exports.services import export_recover_orphans

    earlier = timezone.now() - timedelta(minutes=1)
    mine = Export.objects.create(status="running", claimed_by="celery:host-1", started_at=earlier)
    other = Export.objects.create(status="running", claimed_by="celery:host-2", started_at=earlier)
    assert export_recover_orphans("celery:host-1", timezone.now()) == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert (mine.status, other.status) == ("failed", "running")
    assert "restarted" in mine.error
