"""Vote hygiene: the periodic outlier job (flags raters, never touches a vote) and the
review's decisions on a flag (invalidate the rater's votes, dismiss, undo), each written
to the votes' audit trail."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import OuterRef, Subquery

from arena.battles.models import Vote, VoteAudit
from arena.ratings.engine.outliers import RatedVote, flagged, outlier_scores
from arena.ratings.models import RaterFlag
from arena.ratings.snapshots import counted_votes

log = logging.getLogger(__name__)
FLAG_JOB = "ratings.flag_outliers"  # registered in apps.py; Celery beat runs it daily


def flag_outliers() -> int:
    """Score every rater over the counted votes; open a flag (or update the open one) for
    each outlier not reviewed before (so a rater has at most one flag). Returns the
    number of open flags touched."""
    rows = (
        counted_votes()
        .order_by("created_at", "pk")
        .values_list("rater_id", "battle__model_a__name", "battle__model_b__name", "winner")
    )
    votes = [RatedVote(str(rater), a, b, winner) for rater, a, b, winner in rows]
    touched = 0
    for score in flagged(outlier_scores(votes)):
        rater_id = int(score.rater)
        if (
            RaterFlag.objects.filter(rater_id=rater_id)
            .exclude(status=RaterFlag.Status.OPEN)
            .exists()
        ):
            continue  # already reviewed: a new flag would ask the same question again
        RaterFlag.objects.update_or_create(
            rater_id=rater_id,
            status=RaterFlag.Status.OPEN,
            defaults={"log_evidence": score.log_evidence, "votes_checked": score.votes_checked},
        )
        touched += 1
    return touched


def flag_outliers_job() -> None:
    log.info("outlier check: %d open flags written", flag_outliers())


def invalidate_flagged(flag: RaterFlag, *, by: str) -> int:
    """Stop counting every valid vote of the flagged rater."""
    with transaction.atomic():
        votes = list(Vote.objects.filter(rater_id=flag.rater_id, is_valid=True))
        for vote in votes:
            vote.invalidate(flag.reason, by=by)
        _set_status(flag, RaterFlag.Status.INVALIDATED, by)
    return len(votes)


def dismiss(flag: RaterFlag, *, by: str) -> None:
    _set_status(flag, RaterFlag.Status.DISMISSED, by)


def undo(flag: RaterFlag, *, by: str) -> tuple[int, int]:
    """Count again the votes this flag's review invalidated (those whose latest audit entry
    is that invalidation) and reopen the flag. Returns (restored, refused)."""
    latest = VoteAudit.objects.filter(vote=OuterRef("pk")).order_by("-created_at", "-pk")
    votes = Vote.objects.annotate(
        last_action=Subquery(latest.values("action")[:1]),
        last_reason=Subquery(latest.values("reason")[:1]),
    ).filter(
        rater_id=flag.rater_id,
        is_valid=False,
        last_action=VoteAudit.Action.INVALIDATED,
        last_reason=flag.reason,
    )
    restored = refused = 0
    with transaction.atomic():
        for vote in votes:
            if vote.restore(f"undo of {flag.reason}", by=by):
                restored += 1
            else:
                refused += 1
        _set_status(flag, RaterFlag.Status.OPEN, by)
    return restored, refused


def _set_status(flag: RaterFlag, status: str, by: str) -> None:
    RaterFlag.objects.filter(pk=flag.pk).update(status=status, reviewed_by=by[:150])
    flag.status, flag.reviewed_by = status, by[:150]
