"""The automatic arena (AutoCodeArena, Arena-Hard style): every model answers every prompt
of a prompt set, the programs run in the sandbox (pages are built and screenshotted),
and a judge compares each answer with the baseline model's, in both side orders.

One job, `judges.auto_arena`, in stages: answers → executions → judgements → board.
Each stage does only what is missing: answers are unique per (prompt, model) and
judgements per (judge, answer, baseline answer, order, evidence), each claimed by a
conditional update, so a rerun or a resumed run (a killed worker's restart re-queues it)
repeats nothing that finished. The same code paths as battles: answers through
`arena.llms` providers, programs through `battles.code.extract_code` and
`runs.execution_create` (the answer row owns its executions), verdicts through
`services.judge_row`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from arena import jobs
from arena.battles.code import extract_code
from arena.judges.autoscore import Game, auto_board
from arena.judges.models import (
    AutoAnswer,
    AutoArenaRun,
    AutoJudgement,
    AutoPrompt,
    Judge,
    JudgingRun,
    PromptSet,
)
from arena.judges.prompts import ORDERS, JudgeInput
from arena.judges.reports import board_correlation
from arena.judges.services import NOT_RUN, OPEN, Progress, in_parallel, judge_row, last_runs
from arena.judges.verdicts import STRONG, Preference
from arena.llms.models import LanguageModel
from arena.llms.providers import get_provider
from arena.llms.types import Delta, Message, ProviderError, Usage
from arena.ratings.snapshots import latest_snapshot
from arena.runs.models import Artifact, Execution
from arena.runs.screenshots import SCREENSHOT_NAME
from arena.runs.services import execution_create

log = logging.getLogger(__name__)

AUTO_ARENA_JOB = "judges.auto_arena"  # registered in apps.py
GENERATION_THREADS = 4  # answers in flight at once in one run
POLL_S = 0.25


class AutoArenaError(ValueError):
    """A run that cannot be started; the message is for the admin."""


def auto_arena_start(
    *,
    prompt_set: PromptSet,
    candidates: Iterable[LanguageModel],
    judge: Judge,
    baseline: LanguageModel,
    modes: str = JudgingRun.Modes.WITH,
    user: Any = None,
) -> AutoArenaRun:
    chosen = [model for model in candidates if model.pk != baseline.pk]
    if not chosen:
        raise AutoArenaError("pick at least one model besides the baseline")
    if not prompt_set.prompts.exists():
        raise AutoArenaError(f"the prompt set {prompt_set} has no prompts")
    if not judge.is_active:
        raise AutoArenaError(f"the judge {judge} is not active")
    with transaction.atomic():
        run = AutoArenaRun.objects.create(
            prompt_set=prompt_set,
            judge=judge,
            baseline=baseline,
            modes=modes,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        run.candidates.set(chosen)
        if not run.mode_list():
            raise AutoArenaError(f"the judge {judge} cannot judge in the mode {modes!r}")
        jobs.enqueue(AUTO_ARENA_JOB, run.pk)
    return run


def run_auto_arena(run_id: int) -> None:
    claimed = AutoArenaRun.objects.filter(pk=run_id, status=AutoArenaRun.Status.QUEUED).update(
        status=AutoArenaRun.Status.RUNNING,
        started_at=timezone.now(),
        claimed_by=jobs.worker_name(),
        error="",
    )
    if claimed != 1:
        return  # another worker has it, or it already ran
    run = AutoArenaRun.objects.select_related("judge", "baseline", "prompt_set").get(pk=run_id)
    try:
        _stage(run, "generating")
        generate_answers(run)
        if "with" in run.mode_list():
            _stage(run, "executing")
            execute_answers(run)
        _stage(run, "judging")
        judge_answers(run)
        _stage(run, "scoring")
        AutoArenaRun.objects.filter(pk=run_id).update(board=board_of(run))
    except Exception as error:  # recorded on the row: the page shows it
        log.exception("automatic arena %s failed", run_id)
        _finish(run_id, AutoArenaRun.Status.FAILED, f"{type(error).__name__}: {error}"[:500])
        return
    run.refresh_from_db()
    note = f"{run.failed} judgements failed; start the run again to retry them."
    _finish(run_id, AutoArenaRun.Status.DONE, note if run.failed else "")


def _stage(run: AutoArenaRun, stage: str) -> None:
    AutoArenaRun.objects.filter(pk=run.pk).update(stage=stage)


def _finish(run_id: int, status: str, error: str) -> None:
    AutoArenaRun.objects.filter(pk=run_id, status=AutoArenaRun.Status.RUNNING).update(
        status=status, error=error, stage="", finished_at=timezone.now()
    )


def recover_auto_arena(worker: str, before: datetime) -> int:
    """A restarted worker: its answers in flight go back to PENDING (their judgements are
    `recover_judging`'s rows too, see below) and its runs are queued again."""
    reset = AutoAnswer.objects.filter(
        status=AutoAnswer.Status.RUNNING, claimed_by=worker, started_at__lt=before
    ).update(status=AutoAnswer.Status.PENDING, claimed_by="")
    reset += AutoJudgement.objects.filter(
        status=AutoJudgement.Status.RUNNING, claimed_by=worker, started_at__lt=before
    ).update(status=AutoJudgement.Status.PENDING, claimed_by="")
    runs = list(
        AutoArenaRun.objects.filter(
            status=AutoArenaRun.Status.RUNNING, claimed_by=worker, started_at__lt=before
        ).values_list("pk", flat=True)
    )
    for run_id in runs:
        with transaction.atomic():
            requeued = AutoArenaRun.objects.filter(
                pk=run_id, status=AutoArenaRun.Status.RUNNING
            ).update(status=AutoArenaRun.Status.QUEUED, claimed_by="")
            if requeued:
                jobs.enqueue(AUTO_ARENA_JOB, run_id)
    return reset + len(runs)


# --- 1. Answers --------------------------------------------------------------------------


def run_answers(run: AutoArenaRun) -> QuerySet[AutoAnswer]:
    models = [*run.candidates.all(), run.baseline]
    return AutoAnswer.objects.filter(prompt__prompt_set=run.prompt_set, model__in=models)


def generate_answers(run: AutoArenaRun) -> None:
    models = [*run.candidates.all(), run.baseline]
    wanted = [
        AutoAnswer(prompt=prompt, model=model)
        for prompt in run.prompt_set.prompts.all()
        for model in models
    ]
    AutoAnswer.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=500)
    open_ids = list(
        run_answers(run).filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True)
    )
    in_parallel(open_ids, generate_answer, threads=GENERATION_THREADS, name=f"auto-{run.pk}")


def generate_answer(answer_id: int) -> bool:
    """Claim one answer, ask its model (the model's own system prompt, as in battles) and
    store the text and its program. False when another worker had it or it was done."""
    claimed = AutoAnswer.objects.filter(pk=answer_id, status__in=OPEN).update(
        status=AutoAnswer.Status.RUNNING, claimed_by=jobs.worker_name(), started_at=timezone.now()
    )
    if claimed != 1:
        return False
    answer = AutoAnswer.objects.select_related("model", "prompt").get(pk=answer_id)
    messages = [
        Message("system", answer.model.effective_system_prompt()),
        Message("user", answer.prompt.prompt),
    ]
    started = time.monotonic()
    text: list[str] = []
    usage = Usage(None, None)
    try:
        for event in get_provider(answer.model.provider).stream(answer.model.spec(), messages):
            if isinstance(event, Delta) and event.kind == "text":
                text.append(event.text)
            elif isinstance(event, Usage):
                usage = event
    except ProviderError as error:
        _answer_failed(answer_id, str(error))
        return True
    except Exception as error:  # a bug must not stop the other answers
        log.exception("automatic answer %s crashed", answer_id)
        _answer_failed(answer_id, f"{type(error).__name__}: {error}")
        return True
    body = "".join(text)
    extracted = extract_code(body)
    AutoAnswer.objects.filter(pk=answer_id, status=AutoAnswer.Status.RUNNING).update(
        status=AutoAnswer.Status.DONE,
        text=body,
        code=extracted.code if extracted else "",
        code_language=extracted.language if extracted else "",
        environment=extracted.environment if extracted else "",
        error="",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        latency_ms=int((time.monotonic() - started) * 1000),
        finished_at=timezone.now(),
    )
    return True


def _answer_failed(answer_id: int, message: str) -> None:
    AutoAnswer.objects.filter(pk=answer_id, status=AutoAnswer.Status.RUNNING).update(
        status=AutoAnswer.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )


# --- 2. Executions -----------------------------------------------------------------------


def execute_answers(run: AutoArenaRun) -> None:
    """One execution per answer with a program (none is made twice), then wait for them
    and for the screenshots of their previews."""
    answers = run_answers(run).filter(status=AutoAnswer.Status.DONE).exclude(code="")
    for answer_id in answers.filter(executions__isnull=True).values_list("pk", flat=True):
        # Locked and checked again: two runs sharing the answer make one execution.
        with transaction.atomic():
            answer = AutoAnswer.objects.select_for_update().get(pk=answer_id)
            if not answer.executions.exists():  # another run may have made it meanwhile
                execution_create(
                    owner=answer,
                    code=answer.code,
                    language=answer.code_language,
                    environment=answer.environment,
                )
    executions = Execution.objects.filter(
        owner_type=ContentType.objects.get_for_model(AutoAnswer),
        owner_id__in=answers.values_list("pk", flat=True),
    )
    _wait_until(
        lambda: not executions.filter(status__in=Execution.UNFINISHED).exists(),
        settings.AUTO_ARENA_EXECUTION_WAIT_S,
        "executions",
    )
    previews = [e.pk for e in executions if e.has_preview]
    _wait_until(
        lambda: _screenshot_count(previews) == len(previews),
        settings.AUTO_ARENA_SCREENSHOT_WAIT_S,
        "screenshots",
    )


def _screenshot_count(execution_ids: list[int]) -> int:
    return (
        Artifact.objects.filter(execution_id__in=execution_ids, name=SCREENSHOT_NAME)
        .values("execution_id")
        .distinct()
        .count()
    )


def _wait_until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Executions and screenshots are other jobs' work; past the deadline the judge sees
    what there is (an unfinished run is 'not run', a missing screenshot is said so)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            log.warning("automatic arena: gave up waiting for %s after %ss", what, timeout_s)
            return
        time.sleep(POLL_S)


# --- 3. Judgements -----------------------------------------------------------------------


def run_judgements(run: AutoArenaRun) -> QuerySet[AutoJudgement]:
    return AutoJudgement.objects.filter(
        judge=run.judge,
        answer__in=run_answers(run).exclude(model=run.baseline),
        baseline__model=run.baseline,
        evidence__in=run.mode_list(),
    )


def judge_answers(run: AutoArenaRun) -> None:
    pairs = answer_pairs(run)
    wanted = [
        AutoJudgement(judge=run.judge, answer=answer, baseline=baseline, order=order, evidence=mode)
        for answer, baseline in pairs
        for order in ORDERS
        for mode in run.mode_list()
    ]
    AutoJudgement.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=500)
    rows = run_judgements(run)
    open_ids = list(rows.filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True))
    AutoArenaRun.objects.filter(pk=run.pk).update(
        total=rows.count(), done=rows.filter(status=AutoJudgement.Status.DONE).count(), failed=0
    )
    if not open_ids:
        return
    inputs = judge_inputs(pairs)
    progress = Progress(AutoArenaRun.objects.filter(pk=run.pk))
    in_parallel(
        open_ids,
        lambda pk: judge_row(
            AutoJudgement, pk, run.judge, lambda row: inputs[row.answer_id], progress
        ),
        threads=run.judge.concurrency,
        name=f"auto-judge-{run.pk}",
    )
    progress.flush()


def answer_pairs(run: AutoArenaRun) -> list[tuple[AutoAnswer, AutoAnswer]]:
    """(model's answer, baseline's answer) per prompt where both were answered; a failed
    answer has nothing to judge (the board counts the prompts each model played)."""
    done = run_answers(run).filter(status=AutoAnswer.Status.DONE).select_related("prompt")
    baselines = {a.prompt_id: a for a in done if a.model_id == run.baseline_id}
    return [
        (answer, baselines[answer.prompt_id])
        for answer in done.order_by("pk")
        if answer.model_id != run.baseline_id and answer.prompt_id in baselines
    ]


def judge_inputs(pairs: list[tuple[AutoAnswer, AutoAnswer]]) -> dict[int, JudgeInput]:
    """Per model answer: the prompt, the model's answer as A and the baseline's as B (in
    the "ab" order), with each side's last run and screenshot."""
    ids = {answer.pk for pair in pairs for answer in pair}
    evidence = last_runs(AutoAnswer, sorted(ids))
    return {
        answer.pk: JudgeInput(
            instruction=answer.prompt.prompt,
            answer_a=answer.text,
            answer_b=baseline.text,
            execution_a=evidence.get(answer.pk, NOT_RUN),
            execution_b=evidence.get(baseline.pk, NOT_RUN),
        )
        for answer, baseline in pairs
    }


# --- 4. The board ------------------------------------------------------------------------


def board_of(run: AutoArenaRun) -> dict[str, Any]:
    """Per evidence mode the win-rate board, the counts, and the correlation with the
    human leaderboard's ratings of the same models."""
    human = human_board()
    board: dict[str, Any] = {"modes": {}}
    for mode in run.mode_list():
        rows = run_judgements(run).filter(evidence=mode)
        games = [
            Game(
                model=model,
                prompt=slug,
                label=label,
                strong=Preference(preference) in STRONG,
            )
            for model, slug, label, preference in rows.filter(
                status=AutoJudgement.Status.DONE, is_parsed=True
            ).values_list("answer__model__name", "answer__prompt__slug", "label", "preference")
        ]
        scored = auto_board(games, run.baseline.name)
        as_ratings = {"models": [{"model": r["model"], "bt": r["score"]} for r in scored["rows"]]}
        board["modes"][mode] = {
            **scored,
            "judgements": rows.count(),
            "parsed": len(games),
            "unparseable": rows.filter(status=AutoJudgement.Status.DONE, is_parsed=False).count(),
            "failed": rows.filter(status=AutoJudgement.Status.FAILED).count(),
            "correlation": board_correlation(human, as_ratings),
        }
    answers = run_answers(run)
    board["answers"] = {
        "total": answers.count(),
        "failed": answers.filter(status=AutoAnswer.Status.FAILED).count(),
        "with_program": answers.exclude(code="").count(),
    }
    return board


def human_board() -> dict[str, Any]:
    """The site's newest overall leaderboard (the human one), or an empty board."""
    snapshot = latest_snapshot()
    return dict(snapshot.data) if snapshot is not None else {"models": []}


# --- Prompt sets -------------------------------------------------------------------------


def load_prompt_set(name: str, description: str, prompts: list[dict[str, str]]) -> PromptSet:
    """Create or update a prompt set from `{"slug", "prompt", "category", "language"}`
    items; a prompt's text is kept as first loaded once answers exist (they answer it)."""
    prompt_set, _ = PromptSet.objects.update_or_create(
        name=name, defaults={"description": description}
    )
    for item in prompts:
        AutoPrompt.objects.get_or_create(
            prompt_set=prompt_set,
            slug=item["slug"],
            defaults={
                "prompt": item["prompt"],
                "category": item.get("category", ""),
                "language": item.get("language", ""),
            },
        )
    return prompt_set
