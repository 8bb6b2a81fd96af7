"""No IP address, e-mail address or user name ever leaves in an export, in any format."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from arena.battles.models import InteractionEvent, Response, Vote
from arena.exports.rows import Scrubber, pseudonym
from arena.raters.models import Rater
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db

USERNAME = "zq-planted-user"
EMAIL = "zq.planted@example.org"
IP = "203.0.113.77"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
ADMIN = "zq-planted-admin"
PLANTED = (USERNAME, EMAIL, IP, IPV6, ADMIN, "zq-host-name")


@pytest.fixture
def planted(make_vote: Callable[..., Vote]) -> Vote:
    """Personal data in every rater, user, worker and metadata field the models have."""
    user = get_user_model().objects.create_user(USERNAME, EMAIL, "pw", first_name=USERNAME)
    get_user_model().objects.create_user(ADMIN, "zq.admin@example.org", "pw", is_staff=True)
    rater = Rater.objects.create(user=user)
    vote = make_vote(rater, anonymity_note=f"revealed to {USERNAME} at {IP}")
    Vote.objects.filter(pk=vote.pk).update(feedback={"readability": "model_a"})
    vote.invalidate(f"invalidated by {ADMIN} in admin; reported by {EMAIL} from {IP} / {IPV6}")
    response = Response.objects.filter(turn__battle=vote.battle).first()
    Response.objects.filter(turn__battle=vote.battle).update(
        claimed_by=f"celery:zq-host-name {IP}", error=f"proxy {IP} refused {EMAIL}"
    )
    Execution.objects.create(
        owner=response,
        code="print(1)",
        language="python",
        status="ok",
        claimed_by=f"embedded:zq-host-name/{IP}",
    )
    InteractionEvent.objects.create(
        battle=vote.battle,
        response=response,
        kind="rerun",
        data={"edited": False, "ip": IP, "user": USERNAME, "email": EMAIL, "ua": "Mozilla"},
    )
    return vote


def every_byte(directory: Path) -> bytes:
    """Raw bytes of every file, plus the decoded content of compressed ones."""
    blobs = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        blobs.append(path.read_bytes())
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            blobs.append(json.dumps(table.to_pylist()).encode())
            blobs.append(repr(table.schema.metadata).encode())
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                blobs.extend(archive.read(name) for name in archive.namelist())
    return b"\n".join(blobs)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_it_never_exports_an_ip_an_email_or_a_user_name(
    fmt: str, planted: Vote, tmp_path: Path
) -> None:
    call_command(
        "export_votes",
        format=fmt,
        output=str(tmp_path / "dir"),
        no_progress=True,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    call_command(
        "export_votes",
        format=fmt,
        output=str(tmp_path / "release.zip"),
        no_progress=True,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    content = every_byte(tmp_path)
    assert b"invalidated by an admin" in content  # the reason is kept, minus the name
    assert b"print hello" in content  # rater content is published
    for secret in PLANTED:
        assert secret.encode() not in content, secret
    assert str(planted.rater.uuid).encode() not in content


def test_rater_ids_are_keyed_per_release() -> None:
    import uuid

    rater = uuid.uuid4()
    assert pseudonym(b"release-1-secret", rater) == pseudonym(b"release-1-secret", rater)
    assert pseudonym(b"release-1-secret", rater) != pseudonym(b"release-2-secret", rater)


def test_the_scrubber_keeps_ordinary_reasons() -> None:
    scrub = Scrubber(["bob-the-admin"])
    assert scrub("duplicate vote") == "duplicate vote"
    assert scrub("flagged by bob-the-admin") == "flagged by [user]"
    assert scrub("from 10.0.0.1 and fe80::1:2:3") == "from [ip] and [ip]"
