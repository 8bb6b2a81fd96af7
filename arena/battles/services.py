"""Battle flow: start, follow up, vote, re-run, presence. Views and the consumer call
these; they own the rules. Callers pass a battle they have already found for its own
rater (`selectors.battle_for_rater`): battles are private to their rater."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils import timezone

from arena import jobs, metrics
from arena.battles import broadcast
from arena.battles.code import classify_category
from arena.battles.models import (
    AgreementSettings,
    Battle,
    InteractionEvent,
    Response,
    Turn,
    Vote,
)
from arena.battles.sampling import Candidate, NotEnoughModels, sample_pair
from arena.battles.signals import vote_recorded
from arena.llms.models import LanguageModel
from arena.llms.moderation import ModerationUnavailable, moderate
from arena.raters.limits import Limited
from arena.raters.models import Rater, RaterLimits
from arena.runs.live_apps import apps_stop
from arena.runs.models import Execution
from arena.runs.services import execution_create
from arena.vocabulary import WINNER_LABELS, Winner
from executors.environments import run_target
from executors.packages import parse as parse_packages

GENERATE_JOB = "battles.generate"  # registered in apps.py
MAX_CODE_CHARS = 100_000
MAX_STDIN_CHARS = 100_000  # a console program's standard input, given by the rater
MAX_PACKAGES_CHARS = 2_000  # the rater's list of Python requirements for a re-run
FEEDBACK_DIMENSIONS = {
    "correctness": "Correctness",
    "efficiency": "Efficiency",
    "readability": "Readability",
    "explanation": "Explanation",
    "ui_ux": "UI/UX",
}
FEEDBACK_CHOICES = {Winner.MODEL_A: "A", Winner.MODEL_B: "B", Winner.TIE: "Tie"}

_rng = random.SystemRandom()


class BattleError(Exception):
    """A request the rules refuse. The message is shown to the rater as is."""


def clean_prompt(prompt: str) -> str:
    """The request as the models will get it, or a BattleError saying why not (moderation
    included: a flagged request is never sent)."""
    prompt = prompt.strip()
    if not prompt:
        raise BattleError("Please type a request first.")
    if len(prompt) > settings.PROMPT_MAX_CHARS:
        raise BattleError(
            f"Your request is {len(prompt):,} characters long; "
            f"the limit is {settings.PROMPT_MAX_CHARS:,}."
        )
    try:
        verdict = moderate(prompt)
    except ModerationUnavailable:
        raise BattleError("Requests cannot be checked right now; please try again soon.") from None
    if verdict.flagged:
        named = f" ({', '.join(verdict.categories)})" if verdict.categories else ""
        raise BattleError(
            f"This request was flagged by the arena's moderation{named} and was not sent "
            "to the models."
        )
    return prompt


def battle_start(*, rater: Rater, prompt: str, category: str = "") -> Battle:
    """1. validate, 2. maybe replay an earlier battle of the same request (agreement),
    else draw a pair (not the rater's previous pair, unless it is the only one), 3. store
    the battle with its first turn, 4. start both generations after commit."""
    prompt = clean_prompt(prompt)
    if rater.is_blocked:
        raise BattleError("This account cannot start battles.")
    _check_concurrent_battles(rater)
    source = _replay_source(rater, prompt)
    if source is not None:
        return _replay_create(rater, source)
    active = LanguageModel.objects.filter(is_active=True).prefetch_related("battle_targets")
    models = {m.name: m for m in active}
    previous = rater.battles.select_related("model_a", "model_b").order_by("-created_at").first()
    avoid = frozenset({previous.model_a.name, previous.model_b.name}) if previous else None
    try:
        draw = sample_pair([_candidate(m) for m in models.values()], _rng, avoid)
    except NotEnoughModels:
        raise BattleError("The arena has fewer than two models available right now.") from None
    with transaction.atomic():
        battle = Battle.objects.create(
            rater=rater,
            model_a=models[draw.model_a],
            model_b=models[draw.model_b],
            sampling_prob=draw.probability,
            category=category or classify_category(prompt),
        )
        _turn_create(battle, 0, prompt)
    return battle


def _replay_source(rater: Rater, prompt: str) -> Battle | None:
    """With the configured chance, an earlier battle to serve again: another rater's,
    voted (a valid vote), anonymous, one turn, the very same request, not yet replayed to
    this rater nor as often as allowed. Requests match exactly, so replays come mostly from
    suggested requests, which many raters pick."""
    config = AgreementSettings.current()
    if not config.replay_share or _rng.random() >= config.replay_share:
        return None
    candidates = (
        Battle.objects.filter(
            status=Battle.Status.VOTED,
            is_anonymous=True,
            replay_of__isnull=True,
            votes__is_valid=True,
            turns__index=0,
            turns__prompt=prompt,
        )
        .exclude(rater=rater)
        .exclude(turns__index=1)
        .exclude(replays__rater=rater)
        .annotate(replay_count=Count("replays", distinct=True))
        .filter(replay_count__lt=config.replays_per_battle)
    )
    return candidates.order_by("?").first()


def _replay_create(rater: Rater, source: Battle) -> Battle:
    """The source battle again for this rater: its request and both answers as they
    were, sides swapped with probability 1/2 (as the sampler swaps them), so agreement is
    measured on the answers, not on where they sat. The programs run again here: the
    rater judges what they see run, as in any battle."""
    swapped = _rng.random() < 0.5
    model_a, model_b = source.model_a, source.model_b
    if swapped:
        model_a, model_b = model_b, model_a
    first_turn = source.turns.get(index=0)
    with transaction.atomic():
        battle = Battle.objects.create(
            rater=rater,
            model_a=model_a,
            model_b=model_b,
            sampling_prob=source.sampling_prob,  # P(a, b) = P(b, a): the same either way
            category=source.category,
            language=source.language,
            environment=source.environment,
            replay_of=source,
            sides_swapped=swapped,
        )
        turn = Turn.objects.create(battle=battle, index=0, prompt=first_turn.prompt)
        for answer in first_turn.responses.all():
            _replay_answer(turn, answer, swapped)
    return battle


def _replay_answer(turn: Turn, answer: Response, swapped: bool) -> None:
    other = {Response.Side.A: Response.Side.B, Response.Side.B: Response.Side.A}
    copy = Response.objects.create(
        turn=turn,
        side=other[Response.Side(answer.side)] if swapped else answer.side,
        model=answer.model,
        status=Response.Status.DONE,
        text=answer.text,
        reasoning=answer.reasoning,
        code=answer.code,
        code_language=answer.code_language,
        ttft_ms=answer.ttft_ms,
        total_ms=answer.total_ms,
        input_tokens=answer.input_tokens,
        output_tokens=answer.output_tokens,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    model_run = answer.executions.filter(is_edited=False).order_by("created_at", "pk").first()
    if copy.code and model_run is not None:
        execution_create(
            owner=copy,
            code=model_run.code,
            language=model_run.language,
            environment=model_run.environment,
            stdin=model_run.stdin,
            preview_side=copy.side,
        )


def _check_concurrent_battles(rater: Rater) -> None:
    """Each battle being written costs two generations and two sandbox runs."""
    cap = RaterLimits.current().concurrent_battles_per_rater
    if not cap:
        return
    writing = (
        Battle.objects.filter(rater=rater, status=Battle.Status.ACTIVE)
        .filter(turns__responses__status__in=(Response.Status.PENDING, Response.Status.STREAMING))
        .distinct()
        .count()
    )
    if writing >= cap:
        raise Limited(
            f"You have {writing} battles whose answers are still being written; the limit "
            f"is {cap}. Let one finish, then start another.",
            retry_after_s=10,
        )


def _check_daily_votes(rater_id: int) -> None:
    cap = RaterLimits.current().daily_votes_per_rater
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    if cap and Vote.objects.filter(rater_id=rater_id, created_at__gte=midnight).count() >= cap:
        raise Limited(
            f"You have cast {cap} votes today, the daily limit. Thank you! "
            "Votes open again at midnight UTC.",
            retry_after_s=int((midnight + dt.timedelta(days=1) - timezone.now()).total_seconds()),
        )


def _candidate(model: LanguageModel) -> Candidate:
    targets = frozenset(target.name for target in model.battle_targets.all())
    return Candidate(model.name, model.sampling_weight, targets)


def turn_add(*, battle: Battle, prompt: str) -> Turn:
    """A follow-up request: both models get it with their own history."""
    prompt = clean_prompt(prompt)
    if battle.status != Battle.Status.ACTIVE:
        raise BattleError("This battle is over; start a new one.")
    if battle.replay_of_id is not None:
        raise BattleError(
            "This battle is shown to several raters as it is, for a second opinion: "
            "please vote on it, then start a new one to ask more."
        )
    with transaction.atomic():
        # Lock the battle so two quick follow-ups cannot both take the same index.
        battle = Battle.objects.select_for_update().get(pk=battle.pk)
        last = battle.turns.order_by("-index").first()
        assert last is not None  # a battle is created with its first turn
        if not all(r.is_finished for r in last.responses.all()):
            raise BattleError("Wait until both answers have finished.")
        if last.index + 1 >= settings.MAX_TURNS:
            raise BattleError(f"A battle has at most {settings.MAX_TURNS} turns; please vote.")
        turn = _turn_create(battle, last.index + 1, prompt)
        Battle.objects.filter(pk=battle.pk).update(seen_at=timezone.now())
    return turn


def _turn_create(battle: Battle, index: int, prompt: str) -> Turn:
    turn = Turn.objects.create(battle=battle, index=index, prompt=prompt)
    for side in Response.Side:
        response = Response.objects.create(turn=turn, side=side, model=battle.model_for(side))
        jobs.enqueue(GENERATE_JOB, response.pk)
    return turn


def parse_feedback(form: Mapping[str, str]) -> dict[str, str]:
    """The optional per-dimension votes (`fb_<dimension>` fields); unanswered ones are left out."""
    feedback = {}
    for key, label in FEEDBACK_DIMENSIONS.items():
        value = form.get(f"fb_{key}", "")
        if value and value not in FEEDBACK_CHOICES:
            raise BattleError(f"Unknown answer for {label}; pick A, B or Tie.")
        if value:
            feedback[key] = value
    return feedback


class GateRow(NamedTuple):
    """What the vote rule needs of one answer of the last turn."""

    status: str
    code: str
    ran: bool  # its program has a run
    running: bool  # one of its runs is not finished


def vote_blocker(battle: Battle) -> str:
    """Why a vote is not possible yet ("" when it is). Both sides must have finished,
    their programs' runs included: raters judge what they saw, not half an answer. One
    query reads every answer of the last turn with the state of its runs."""
    runs = Execution.objects.filter(response=OuterRef("pk"))
    last_turn = Turn.objects.filter(battle=battle).order_by("-index").values("pk")[:1]
    answers = (
        Response.objects.filter(turn=Subquery(last_turn))
        .annotate(ran=Exists(runs), running=Exists(runs.filter(status__in=Execution.UNFINISHED)))
        .values_list("status", "code", "ran", "running")
    )
    return vote_blocker_of(battle, [GateRow(*row) for row in answers])


def vote_blocker_of(battle: Battle, rows: list[GateRow]) -> str:
    """The vote rule on rows already read: the page applies it to the rows it shows,
    `vote_blocker` to a fresh reading when the vote is stored."""
    if battle.status == Battle.Status.VOTED:
        return "You already voted in this battle."
    if battle.status == Battle.Status.VOID:
        return battle.void_reason or "This battle was voided."
    if not rows:
        return "This battle has no answers yet."
    if any(row.status not in Response.FINISHED for row in rows):
        return "Wait until both answers have finished."
    # A done answer with a program has a run from the moment it is done (same transaction).
    if any(
        row.running or (row.status == Response.Status.DONE and row.code and not row.ran)
        for row in rows
    ):
        return "Wait until both programs have finished running."
    return ""


def vote_record(*, battle: Battle, winner: str, feedback: dict[str, str] | None = None) -> Vote:
    """Store the vote, close the battle and tell the apps above (the leaderboards)."""
    if winner not in WINNER_LABELS:
        raise BattleError("Unknown choice; pick A, B, Tie or Both are bad.")
    with transaction.atomic():
        battle = Battle.objects.select_for_update().get(pk=battle.pk)
        blocker = vote_blocker(battle)
        if blocker:
            raise BattleError(blocker)
        _check_daily_votes(battle.rater_id)
        try:
            vote = Vote.objects.create(
                battle=battle, rater_id=battle.rater_id, winner=winner, feedback=feedback or {}
            )
        except IntegrityError:  # a concurrent vote won the race; the constraint is the judge
            raise BattleError("You already voted in this battle.") from None
        Battle.objects.filter(pk=battle.pk).update(
            status=Battle.Status.VOTED, updated_at=timezone.now()
        )
        vote_recorded.send(sender=Vote, vote=vote)
        _stop_apps(battle.pk, "The battle is over: its apps stopped.")
    transaction.on_commit(lambda: broadcast.battle_changed(battle.pk))
    transaction.on_commit(lambda: metrics.VOTES.labels(winner).inc())
    return vote


def battle_void(battle_id: uuid.UUID | str, reason: str) -> None:
    """A side failed to answer: there is nothing fair to compare, so nothing counts."""
    Battle.objects.filter(pk=battle_id, status=Battle.Status.ACTIVE).update(
        status=Battle.Status.VOID, void_reason=reason[:200], updated_at=timezone.now()
    )
    _stop_apps(battle_id, "The battle was voided: its apps stopped.")


def app_holder(rater_id: int) -> str:
    """Who may use a battle's server apps (runs counts its caps per holder)."""
    return f"rater:{rater_id}"


def _stop_apps(battle_id: uuid.UUID | str, message: str) -> None:
    responses = list(Response.objects.filter(turn__battle_id=battle_id))
    apps_stop(responses, message)


def rerun_refusal(battle: Battle, response: Response) -> str:
    """Why this answer's program cannot be edited and re-run ("" when it can). The page
    shows the editor exactly when this is empty."""
    if battle.status != Battle.Status.ACTIVE:
        return "This battle is over; start a new one to run more code."
    if response.status != Response.Status.DONE or not response.code:
        return "That answer cannot be run."
    return ""


def response_rerun(
    *,
    battle: Battle,
    response_id: int,
    code: str,
    language: str,
    stdin: str = "",
    packages: str = "",
) -> None:
    """Edit and re-run: a new execution of the rater's version of one side's program.
    Every run is kept, with its code and whether it was edited."""
    response = Response.objects.filter(pk=response_id, turn__battle=battle).first()
    if response is None:
        raise BattleError("That answer cannot be run.")
    refusal = rerun_refusal(battle, response)
    if refusal:
        raise BattleError(refusal)
    code = code.replace("\r\n", "\n")
    if not code.strip():
        raise BattleError("There is no code to run.")
    if len(code) > MAX_CODE_CHARS:
        raise BattleError(f"The code is longer than {MAX_CODE_CHARS:,} characters.")
    if len(stdin) > MAX_STDIN_CHARS:
        raise BattleError(f"The input is longer than {MAX_STDIN_CHARS:,} characters.")
    target = run_target(language, code)
    if target is None:
        raise BattleError("Pick a language from the list.")
    language, environment = target
    requirements, refused = parse_packages(packages[:MAX_PACKAGES_CHARS])
    if refused:
        raise BattleError(
            f"Not a package name: {refused[0][:80]} (write e.g. plotly or rich==13.7)."
        )
    if response.executions.filter(status__in=Execution.UNFINISHED).exists():
        raise BattleError("Wait until the current run finishes.")
    is_edited = code.rstrip() != response.code.rstrip()
    with transaction.atomic():
        execution_create(
            owner=response,
            code=code,
            language=language,
            environment=environment,
            is_edited=is_edited,
            stdin=stdin.replace("\r\n", "\n"),
            packages=requirements if language == "python" else [],
            holder=app_holder(battle.rater_id),
            preview_side=response.side,
        )
        InteractionEvent.objects.create(
            battle=battle,
            response=response,
            kind="rerun",
            data={
                "edited": is_edited,
                "language": language,
                "environment": environment,
                "stdin_chars": len(stdin),
                "language_overridden": language != response.code_language,
            },
        )
    transaction.on_commit(lambda: broadcast.battle_changed(battle.pk))


# --- presence: is a battle page open? (generation stops when the rater has left) ---------


def page_seen(battle_id: uuid.UUID | str) -> None:
    """An open page said it is there: on connect, every heartbeat and on close. Nothing
    is counted, so nothing can leak: a page cut off without a goodbye just goes quiet, and
    after RATER_GONE_SECONDS the battle's generations stop."""
    Battle.objects.filter(pk=battle_id).update(seen_at=timezone.now())
