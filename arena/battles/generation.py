"""The generation job: stream one side's answer into the database.

Tokens are flushed to the row every GENERATION_FLUSH_SECONDS and each flush
broadcasts "changed"; the page re-renders from the row, so the database always
holds what the rater saw.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from arena import jobs, metrics
from arena.battles import broadcast
from arena.battles.code import ExtractedCode, extract_code
from arena.battles.identity import identity_leak
from arena.battles.models import Battle, Response
from arena.battles.services import app_holder, battle_void
from arena.llms.models import LanguageModel
from arena.llms.providers import get_provider
from arena.llms.types import Message, ProviderError, Usage
from arena.logs import log_context
from arena.runs.services import execution_create
from executors.environments import environment_of

log = logging.getLogger(__name__)

MODEL_FAILURE_LIMIT = 5  # consecutive failures before a model leaves sampling


def generate_response(response_id: int) -> None:
    claimed = Response.objects.filter(pk=response_id, status=Response.Status.PENDING).update(
        status=Response.Status.STREAMING, started_at=timezone.now(), claimed_by=jobs.worker_name()
    )
    if claimed != 1:
        return  # a duplicate delivery: someone else owns this response
    response = Response.objects.select_related("turn__battle", "model").get(pk=response_id)
    battle_id = response.turn.battle_id
    if _rater_gone(response):  # queued while the rater was still there
        _cancel(response, [], [])
        broadcast.battle_changed(battle_id)
        return
    broadcast.battle_changed(battle_id)
    with log_context(battle_id=battle_id, response_id=response_id, model=response.model.name):
        try:
            _stream_into(response)
        except ProviderError as error:
            log.warning("model %s failed: %s", response.model.name, error)
            _finish_failed(response, str(error))
        except Exception:
            log.exception("generation of response %s crashed", response_id)
            _finish_failed(response, "The model call failed unexpectedly.")
        else:
            _finish_done(response)
    broadcast.battle_changed(battle_id)
    _count(response)


def _count(response: Response) -> None:
    provider = response.model.provider
    status = Response.objects.filter(pk=response.pk).values_list("status", flat=True).first()
    metrics.GENERATIONS.labels(provider, status or "?").inc()
    if response.ttft_ms is not None:
        metrics.FIRST_TOKEN_SECONDS.labels(provider).observe(response.ttft_ms / 1000)
    if response.total_ms is not None:
        metrics.GENERATION_SECONDS.labels(provider).observe(response.total_ms / 1000)


def conversation_for(response: Response) -> list[Message]:
    """System prompt, then every earlier turn with this side's own answers."""
    messages = [Message("system", response.model.effective_system_prompt())]
    earlier = Response.objects.filter(
        turn__battle_id=response.turn.battle_id,
        side=response.side,
        turn__index__lt=response.turn.index,
    ).select_related("turn")
    for previous in earlier.order_by("turn__index"):
        messages.append(Message("user", previous.turn.prompt))
        messages.append(Message("assistant", previous.text))
    messages.append(Message("user", response.turn.prompt))
    return messages


def _stream_into(response: Response) -> None:
    provider = get_provider(response.model.provider)
    started = time.monotonic()
    last_flush = started
    text: list[str] = []
    reasoning: list[str] = []
    stream = provider.stream(response.model.spec(), conversation_for(response))
    try:
        for event in stream:
            if isinstance(event, Usage):
                response.input_tokens = event.input_tokens
                response.output_tokens = event.output_tokens
                continue
            if response.ttft_ms is None:
                response.ttft_ms = int((time.monotonic() - started) * 1000)
            (reasoning if event.kind == "reasoning" else text).append(event.text)
            if time.monotonic() - last_flush >= settings.GENERATION_FLUSH_SECONDS:
                if not _flush(response, text, reasoning):
                    return  # the rater left and the response was cancelled
                last_flush = time.monotonic()
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # releases the HTTP stream when we stop early
        response.text, response.reasoning = "".join(text), "".join(reasoning)
        response.total_ms = int((time.monotonic() - started) * 1000)


def _flush(response: Response, text: list[str], reasoning: list[str]) -> bool:
    """Save what has arrived; False if the response should stop streaming."""
    if _rater_gone(response):
        _cancel(response, text, reasoning)
        return False
    updated = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
        text="".join(text), reasoning="".join(reasoning), ttft_ms=response.ttft_ms
    )
    if updated:
        broadcast.battle_changed(response.turn.battle_id)
    return bool(updated)


def _rater_gone(response: Response) -> bool:
    """No battle page has been seen for RATER_GONE_SECONDS: the rater left. An open page
    says it is there (connect, heartbeats, close), so a socket cut without a goodbye
    simply goes quiet; a page still loading counts as seen, as a new battle or turn also
    sets seen_at."""
    horizon = timezone.now() - timedelta(seconds=settings.RATER_GONE_SECONDS)
    return Battle.objects.filter(pk=response.turn.battle_id, seen_at__lt=horizon).exists()


def _cancel(response: Response, text: list[str], reasoning: list[str]) -> None:
    cancelled = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
        status=Response.Status.CANCELLED,
        text="".join(text),
        reasoning="".join(reasoning),
        error="Stopped: the rater left the page.",
        finished_at=timezone.now(),
    )
    if cancelled:
        battle_void(response.turn.battle_id, "The rater left before the answers finished.")


def _finish_done(response: Response) -> None:
    if not response.text.strip():
        _finish_failed(response, "The model returned an empty answer.")
        return
    extracted = extract_code(response.text)
    if extracted is not None:
        response.code, response.code_language = extracted.code, extracted.language
    fields = [
        "text",
        "reasoning",
        "code",
        "code_language",
        "ttft_ms",
        "total_ms",
        "input_tokens",
        "output_tokens",
    ]
    values = {name: getattr(response, name) for name in fields}
    # One transaction: the answer is done exactly when its program's run exists, so no
    # vote can slip in between (a vote waits for every run of the last turn).
    with transaction.atomic():
        finished = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
            status=Response.Status.DONE, finished_at=timezone.now(), **values
        )
        if not finished:
            return
        if extracted is not None:
            _start_run(response, extracted)
    LanguageModel.objects.filter(pk=response.model_id).update(consecutive_failures=0)
    _check_anonymity(response)


def _start_run(response: Response, extracted: ExtractedCode) -> None:
    _record_battle_environment(response, extracted.language, extracted.environment)
    execution_create(
        owner=response,
        code=extracted.code,
        language=extracted.language,
        environment=extracted.environment,
        packages=list(extracted.packages),
        holder=app_holder(response.turn.battle.rater_id),
        preview_side=response.side,
    )


def _finish_failed(response: Response, reason: str) -> None:
    finished = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
        status=Response.Status.FAILED,
        error=reason[:500],
        text=response.text,
        reasoning=response.reasoning,
        total_ms=response.total_ms,
        finished_at=timezone.now(),
    )
    if not finished:
        return
    model = response.model
    LanguageModel.objects.filter(pk=model.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    LanguageModel.objects.filter(
        pk=model.pk, consecutive_failures__gte=MODEL_FAILURE_LIMIT, is_active=True
    ).update(is_active=False)
    battle_void(response.turn.battle_id, f"Model {response.side.upper()} failed to answer.")


def _check_anonymity(response: Response) -> None:
    leaked = identity_leak(response.text, response.model)
    if leaked:
        note = f"Model {response.side.upper()} named itself or its maker ({leaked!r})."
        Battle.objects.filter(pk=response.turn.battle_id, is_anonymous=True).update(
            is_anonymous=False, anonymity_note=note
        )


def _record_battle_environment(response: Response, language: str, environment: str) -> None:
    """The first program in a battle sets its language and environment for leaderboards."""
    Battle.objects.filter(pk=response.turn.battle_id, language="").update(
        language=language, environment=environment
    )


def recover_generations(worker: str, before: datetime) -> int:
    """Fail the answers a previous life of this worker was streaming (their HTTP streams
    died with it) and void their battles: half an answer is nothing fair to compare.
    Also give a run to any finished answer of an open battle whose program never got one
    (rows written before answers and runs were stored together)."""
    stuck = Response.objects.filter(
        claimed_by=worker, status=Response.Status.STREAMING, started_at__lt=before
    )
    count = 0
    for response in stuck.select_related("turn"):
        updated = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
            status=Response.Status.FAILED,
            error="The worker restarted while this answer was streaming.",
            finished_at=timezone.now(),
        )
        if updated:
            battle_void(response.turn.battle_id, "A model's answer was interrupted.")
            broadcast.battle_changed(response.turn.battle_id)
            count += 1
    return count + _run_what_never_ran(worker, before)


def _run_what_never_ran(worker: str, before: datetime) -> int:
    never_ran = Response.objects.filter(
        claimed_by=worker,
        status=Response.Status.DONE,
        finished_at__lt=before,
        turn__battle__status=Battle.Status.ACTIVE,
        executions__isnull=True,
    ).exclude(code="")
    count = 0
    for response in never_ran.select_related("turn"):
        language = response.code_language
        with transaction.atomic():
            _start_run(response, ExtractedCode(response.code, language, environment_of(language)))
        broadcast.battle_changed(response.turn.battle_id)
        count += 1
    return count


def waiting_generations(before: datetime) -> list[int]:
    """Answers of open battles still unclaimed since before `before` (arena/jobs.py)."""
    waiting = Response.objects.filter(
        status=Response.Status.PENDING,
        created_at__lt=before,
        turn__battle__status=Battle.Status.ACTIVE,
    )
    return list(waiting.values_list("pk", flat=True))
