"""The outlier job flags and never touches a vote; the review queue invalidates, dismisses
and undoes, and the audit trail records each step."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from arena.battles.models import Battle, Vote, VoteAudit
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.ratings.hygiene import flag_outliers
from arena.ratings.models import RaterFlag

pytestmark = pytest.mark.django_db


@pytest.fixture
def arena_votes(
    make_model: Callable[..., LanguageModel], make_battle: Callable[..., Battle]
) -> Rater:
    """Eight raters agree that strong beats weak; a ninth always says the opposite."""
    strong, weak = make_model(name="strong"), make_model(name="weak")
    honest = [Rater.objects.create() for _ in range(8)]
    contrarian = Rater.objects.create()
    for rater in [*honest, contrarian]:
        for n in range(6):
            a, b = (strong, weak) if n % 2 else (weak, strong)
            battle = make_battle(rater, model_a=a, model_b=b, status=Battle.Status.VOTED)
            says_strong = rater != contrarian
            winner = "model_a" if (a == strong) == says_strong else "model_b"
            Vote.objects.create(battle=battle, rater=rater, winner=winner)
    return contrarian


def test_the_job_flags_the_contrarian_only_and_changes_no_vote(arena_votes: Rater) -> None:
    assert flag_outliers() == 1
    flag = RaterFlag.objects.get()
    assert flag.rater == arena_votes and flag.status == RaterFlag.Status.OPEN
    assert flag.votes_checked == 6 and flag.log_evidence > 3.0
    assert Vote.objects.filter(is_valid=False).count() == 0
    assert not VoteAudit.objects.exists()
    assert flag_outliers() == 1 and RaterFlag.objects.count() == 1  # updated, not doubled


def test_the_command_runs_the_same_job(arena_votes: Rater) -> None:
    out = io.StringIO()
    call_command("flag_outliers", stdout=out)
    assert "1 open outlier flags" in out.getvalue()
    assert RaterFlag.objects.get().rater == arena_votes


def act(client: Client, action: str, flag: RaterFlag) -> None:
    answer = client.post(
        reverse("admin:ratings_raterflag_changelist"),
        {"action": action, "_selected_action": [flag.pk]},
    )
    assert answer.status_code == 302


def test_an_admin_invalidates_a_flagged_raters_votes_and_undoes_it(
    arena_votes: Rater, admin_client: Client
) -> None:
    flag_outliers()
    flag = RaterFlag.objects.get()
    assert admin_client.get(reverse("admin:ratings_raterflag_changelist")).status_code == 200
    act(admin_client, "invalidate_votes", flag)
    theirs = Vote.objects.filter(rater=arena_votes)
    assert not theirs.filter(is_valid=True).exists()
    assert Vote.objects.filter(is_valid=False).count() == 6
    trail = VoteAudit.objects.filter(vote__rater=arena_votes)
    assert {(a.action, a.by, a.reason) for a in trail} == {
        ("invalidated", "reviewer", f"outlier review, flag {flag.pk}")
    }
    flag.refresh_from_db()
    assert flag.status == RaterFlag.Status.INVALIDATED and flag.reviewed_by == "reviewer"
    assert flag_outliers() == 0  # a reviewed rater is not flagged again

    act(admin_client, "undo_review", flag)
    assert theirs.filter(is_valid=True).count() == 6
    assert trail.filter(action="restored").count() == 6
    flag.refresh_from_db()
    assert flag.status == RaterFlag.Status.OPEN
    audit_page = admin_client.get(reverse("admin:battles_voteaudit_changelist"))
    assert audit_page.status_code == 200 and b"restored" in audit_page.content


def test_undo_leaves_alone_a_vote_invalidated_for_another_reason(
    arena_votes: Rater, admin_client: Client
) -> None:
    flag_outliers()
    flag = RaterFlag.objects.get()
    spam = Vote.objects.filter(rater=arena_votes).first()
    assert spam is not None
    spam.invalidate("spam report", by="moderator")
    act(admin_client, "invalidate_votes", flag)
    act(admin_client, "undo_review", flag)
    spam.refresh_from_db()
    assert not spam.is_valid and spam.invalid_reason == "spam report"
    assert Vote.objects.filter(rater=arena_votes, is_valid=True).count() == 5


def test_a_dismissed_flag_keeps_every_vote(arena_votes: Rater, admin_client: Client) -> None:
    flag_outliers()
    flag = RaterFlag.objects.get()
    act(admin_client, "dismiss_flags", flag)
    flag.refresh_from_db()
    assert flag.status == RaterFlag.Status.DISMISSED
    assert not Vote.objects.filter(is_valid=False).exists()


def test_a_vote_undo_refuses_when_another_valid_vote_holds_the_battle(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    battle = make_battle(alice, status=Battle.Status.VOTED)
    first = Vote.objects.create(battle=battle, rater=alice, winner="model_a")
    first.invalidate("test", by="admin")
    Vote.objects.create(battle=battle, rater=alice, winner="tie")
    assert first.restore("undo", by="admin") is False
    first.refresh_from_db()
    assert not first.is_valid
    assert list(first.audit.values_list("action", flat=True)) == ["invalidated"]
