from __future__ import annotations

import uuid

from django.contrib.contenttypes.fields import GenericRelation
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.records import SingletonSettings
from arena.runs.models import Execution
from arena.vocabulary import WINNER_LABELS
from executors.environments import ENVIRONMENT_LABELS, language_labels

LANGUAGE_CHOICES = list(language_labels().items())
ENVIRONMENT_CHOICES = list(ENVIRONMENT_LABELS.items())


class Battle(models.Model):
    """One anonymous match between two models, possibly over several turns."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        VOTED = "voted"
        VOID = "void"  # a side failed: nothing to compare, so the battle cannot count

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rater = models.ForeignKey(Rater, on_delete=models.PROTECT, related_name="battles")
    model_a = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    model_b = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="+")
    sampling_prob = models.FloatField(help_text="Probability the sampler drew this ordered pair.")
    is_anonymous = models.BooleanField(
        default=True, help_text="False once a model revealed its identity; such votes don't count."
    )
    anonymity_note = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=50, blank=True)
    language = models.CharField(max_length=30, blank=True, choices=LANGUAGE_CHOICES)
    environment = models.CharField(max_length=30, blank=True, choices=ENVIRONMENT_CHOICES)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    void_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    seen_at = models.DateTimeField(
        default=timezone.now,
        help_text="When an open battle page last said it is there (connect, heartbeat, close).",
    )
    # A replay re-serves an earlier battle (its request and both answers) to another rater
    # for inter-rater agreement; its vote never moves the leaderboards (arena/ratings).
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replays"
    )
    sides_swapped = models.BooleanField(
        default=False, help_text="A replay showing the original's side A on side B."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(model_a=models.F("model_b")), name="battle_models_differ"
            ),
            models.CheckConstraint(
                condition=Q(sampling_prob__gt=0, sampling_prob__lte=1),
                name="battle_sampling_prob_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"battle {str(self.id)[:8]}"

    def get_absolute_url(self) -> str:
        return reverse("arena-battle", args=[self.id])

    def model_for(self, side: str) -> LanguageModel:
        return self.model_a if side == Response.Side.A else self.model_b


class Turn(models.Model):
    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveSmallIntegerField()
    prompt = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["battle", "index"]
        constraints = [
            models.UniqueConstraint(fields=["battle", "index"], name="turn_index_unique"),
        ]

    def __str__(self) -> str:
        return f"turn {self.index} of {self.battle}"


class Response(models.Model):
    """One side's answer to one turn, streamed in by a generation job."""

    class Side(models.TextChoices):
        A = "a", "A"
        B = "b", "B"

    class Status(models.TextChoices):
        PENDING = "pending"
        STREAMING = "streaming"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="responses")
    side = models.CharField(max_length=1, choices=Side.choices)
    model = models.ForeignKey(LanguageModel, on_delete=models.PROTECT, related_name="responses")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    text = models.TextField(blank=True)
    reasoning = models.TextField(blank=True, help_text="Kept for research; never shown to raters.")
    error = models.CharField(max_length=500, blank=True)
    code = models.TextField(blank=True, help_text="The program extracted from the answer.")
    code_language = models.CharField(max_length=30, blank=True, choices=LANGUAGE_CHOICES)
    claimed_by = models.CharField(max_length=200, blank=True, help_text="Worker that generated it.")
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    total_ms = models.PositiveIntegerField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Every run of this answer's program, the model's and the rater's edits, oldest first.
    executions = GenericRelation(
        Execution,
        content_type_field="owner_type",
        object_id_field="owner_id",
        related_query_name="response",
    )

    class Meta:
        ordering = ["turn", "side"]
        constraints = [
            models.UniqueConstraint(fields=["turn", "side"], name="response_side_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.turn} side {self.side}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class Vote(models.Model):
    """Append-only. Invalidating sets a flag and a reason; nothing is ever deleted."""

    battle = models.ForeignKey(Battle, on_delete=models.PROTECT, related_name="votes")
    rater = models.ForeignKey(Rater, on_delete=models.PROTECT, related_name="votes")
    winner = models.CharField(max_length=10, choices=WINNER_LABELS)
    feedback = models.JSONField(default=dict, blank=True, help_text="Optional per-dimension votes.")
    is_valid = models.BooleanField(default=True)
    invalid_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One counted vote per battle, enforced by the database, not only by the view.
            models.UniqueConstraint(
                fields=["battle"], condition=Q(is_valid=True), name="one_valid_vote_per_battle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_winner_display()} on {self.battle}"

    def invalidate(self, reason: str, *, by: str = "system") -> None:
        """Stop counting this vote; the audit trail keeps who, when and why."""
        with transaction.atomic():
            Vote.objects.filter(pk=self.pk).update(is_valid=False, invalid_reason=reason[:200])
            VoteAudit.objects.create(
                vote=self, action=VoteAudit.Action.INVALIDATED, reason=reason[:200], by=by[:150]
            )
        self.is_valid, self.invalid_reason = False, reason[:200]

    def restore(self, reason: str, *, by: str) -> bool:
        """Undo an invalidation. False when another valid vote now holds the battle."""
        try:
            with transaction.atomic():
                Vote.objects.filter(pk=self.pk).update(is_valid=True, invalid_reason="")
                VoteAudit.objects.create(
                    vote=self, action=VoteAudit.Action.RESTORED, reason=reason[:200], by=by[:150]
                )
        except IntegrityError:  # one valid vote per battle: the database is the judge
            return False
        self.is_valid, self.invalid_reason = True, ""
        return True


class VoteAudit(models.Model):
    """Every invalidation of a vote and every undo, append-only: the review's record."""

    class Action(models.TextChoices):
        INVALIDATED = "invalidated"
        RESTORED = "restored"

    vote = models.ForeignKey(Vote, on_delete=models.PROTECT, related_name="audit")
    action = models.CharField(max_length=12, choices=Action.choices)
    reason = models.CharField(max_length=200)
    by = models.CharField(max_length=150, help_text="The admin's username, or the job's name.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} vote {self.vote_id} by {self.by}"


class InteractionEvent(models.Model):
    """What the rater did besides voting: edits, re-runs, overrides. Research data."""

    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="events")
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} in {self.battle}"


class AgreementSettings(SingletonSettings):
    """How often a new battle re-serves an earlier one to measure inter-rater agreement."""

    replay_share = models.FloatField(
        default=0.2,
        help_text=(
            "Share (0 to 1) of new battles whose request matches an earlier voted battle of "
            "another rater that are served as that battle again: same request, same two "
            "answers, sides swapped at random. 0 turns replays off."
        ),
    )
    replays_per_battle = models.PositiveSmallIntegerField(
        default=2, help_text="At most this many other raters see one battle again."
    )

    class Meta:
        verbose_name = "inter-rater agreement"
        verbose_name_plural = "inter-rater agreement"
        constraints = [
            models.CheckConstraint(
                condition=Q(replay_share__gte=0, replay_share__lte=1),
                name="agreement_replay_share_in_range",
            ),
        ]


class SuggestedPrompt(models.Model):
    """Ideas offered to raters who arrive without one."""

    text = models.TextField()
    category = models.CharField(max_length=50)
    language = models.CharField(max_length=30, blank=True, choices=LANGUAGE_CHOICES)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "id"]

    def __str__(self) -> str:
        return self.text[:60]
