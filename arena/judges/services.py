"""Judging runs: choose the battles, create one judgement row per (battle, order, evidence
mode), and judge them on a few threads, each claiming its row by a conditional update.

Idempotent and resumable: the rows are unique per (judge, battle, order, evidence), a
finished row is never judged again, and a worker that dies leaves RUNNING rows that its
restart (`recover_judging`) puts back to PENDING before re-queueing the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from arena import jobs
from arena.battles.models import Response, Turn
from arena.judges.judging import (
    JudgeCallError,
    Outcome,
    ask_baseline,
    ask_llm,
    ask_reward_model,
    limiter_for,
)
from arena.judges.models import Judge, Judgement, JudgingRun, Verdict
from arena.judges.prompts import ORDERS, WITH_EXECUTION, ExecutionEvidence, JudgeInput
from arena.judges.reports import battle_set_hash, judgements_of, store_report
from arena.judges.verdicts import battle_label
from arena.ratings.snapshots import counted_votes
from arena.runs.models import Artifact, Execution
from arena.runs.screenshots import SCREENSHOT_NAME

log = logging.getLogger(__name__)

JUDGE_JOB = "judges.run"  # registered in apps.py
OPEN = (Verdict.Status.PENDING, Verdict.Status.FAILED)


# --- Choosing the battles ----------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Which counted votes' battles to judge. Empty fields select everything."""

    category: str = ""
    start: dt.date | None = None  # vote dates, inclusive
    end: dt.date | None = None
    sample: int = 0  # 0: all; N: a seeded sample of N battles
    seed: int = 42

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
            "sample": self.sample,
            "seed": self.seed,
        }

    def battle_ids(self) -> list[str]:
        votes = counted_votes()
        if self.category:
            votes = votes.filter(battle__category=self.category)
        if self.start:
            votes = votes.filter(created_at__date__gte=self.start)
        if self.end:
            votes = votes.filter(created_at__date__lte=self.end)
        ids = sorted(str(pk) for pk in votes.values_list("battle_id", flat=True))
        if self.sample and self.sample < len(ids):
            ids = sorted(random.Random(self.seed).sample(ids, self.sample))
        return ids


# --- Starting and running ----------------------------------------------------------------


def run_start(
    *, judge: Judge, selection: Selection, modes: str = JudgingRun.Modes.BOTH, user: Any = None
) -> JudgingRun:
    ids = selection.battle_ids()
    with transaction.atomic():
        run = JudgingRun.objects.create(
            judge=judge,
            modes=modes,
            selection=selection.to_dict(),
            battle_ids=ids,
            battle_hash=battle_set_hash(ids),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        jobs.enqueue(JUDGE_JOB, run.pk)
    return run


def run_judging(run_id: int) -> None:
    """1. claim the run, 2. make its rows, 3. judge the open ones, 4. store a report."""
    claimed = JudgingRun.objects.filter(pk=run_id, status=JudgingRun.Status.QUEUED).update(
        status=JudgingRun.Status.RUNNING,
        started_at=timezone.now(),
        claimed_by=jobs.worker_name(),
        error="",
    )
    if claimed != 1:
        return  # another worker has it, or it already ran
    run = JudgingRun.objects.select_related("judge").get(pk=run_id)
    try:
        _judge_all(run)
        run.refresh_from_db()
        store_report(run)  # before DONE: a finished run always has its report
    except Exception as error:  # recorded on the row: the page shows it
        log.exception("judging run %s failed", run_id)
        _finish(run_id, JudgingRun.Status.FAILED, f"{type(error).__name__}: {error}"[:500])
        return
    note = f"{run.failed} judgements failed; start the run again to retry them."
    _finish(run_id, JudgingRun.Status.DONE, note if run.failed else "")


def _finish(run_id: int, status: str, error: str) -> None:
    JudgingRun.objects.filter(pk=run_id, status=JudgingRun.Status.RUNNING).update(
        status=status, error=error, finished_at=timezone.now()
    )


def run_judgements(run: JudgingRun) -> QuerySet[Judgement]:
    """The rows a run covers (shared with every run of the judge over these battles)."""
    return judgements_of(run.judge, run.battle_ids, run.mode_list())


def _judge_all(run: JudgingRun) -> None:
    _create_rows(run)
    rows = run_judgements(run)
    open_ids = list(rows.filter(status__in=OPEN).order_by("pk").values_list("pk", flat=True))
    JudgingRun.objects.filter(pk=run.pk).update(
        total=rows.count(), done=rows.filter(status=Judgement.Status.DONE).count(), failed=0
    )
    if not open_ids:
        return
    inputs = judge_inputs(
        rows.filter(pk__in=open_ids).values_list("battle_id", flat=True).distinct()
    )
    _work_on(run, open_ids, inputs)


def _create_rows(run: JudgingRun) -> None:
    wanted = [
        Judgement(judge=run.judge, battle_id=battle_id, order=order, evidence=mode)
        for battle_id in run.battle_ids
        for order in ORDERS
        for mode in run.mode_list()
    ]
    # The unique constraint makes this safe to repeat: existing rows are kept as they are.
    Judgement.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=500)


class Progress:
    """A run's `done` and `failed` counters, added to by every judging thread and written
    at most every `every_s` seconds (and by `flush`): one counter row updated by every
    judgement serialised the threads on its row lock (tests/benchmarks/test_judging_bench.py)."""

    def __init__(self, run_row: QuerySet[Any], every_s: float = 1.0) -> None:
        self.run_row = run_row
        self.every_s = every_s
        self._counts = {"done": 0, "failed": 0}
        self._written = time.monotonic()
        self._lock = threading.Lock()

    def add(self, counter: str) -> None:
        with self._lock:
            self._counts[counter] += 1
            due = time.monotonic() - self._written >= self.every_s
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {"done": 0, "failed": 0}
            self._written = time.monotonic()
        if counts["done"] or counts["failed"]:
            self.run_row.update(
                done=F("done") + counts["done"], failed=F("failed") + counts["failed"]
            )


def _work_on(run: JudgingRun, judgement_ids: list[int], inputs: dict[str, JudgeInput]) -> None:
    progress = Progress(JudgingRun.objects.filter(pk=run.pk))
    in_parallel(
        judgement_ids,
        lambda pk: judge_row(
            Judgement, pk, run.judge, lambda row: inputs[row.judged_key()], progress
        ),
        threads=run.judge.concurrency,
        name=f"judge-{run.pk}",
    )
    progress.flush()


def in_parallel(ids: list[int], work: Callable[[int], object], *, threads: int, name: str) -> None:
    """`threads` threads take ids from one queue; each closes its own connection."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pk in ids:
        todo.put(pk)

    def worker() -> None:
        try:
            while True:
                try:
                    pk = todo.get_nowait()
                except queue.Empty:
                    return
                work(pk)
        finally:
            connection.close()  # this thread's own connection; it ends here

    pool = [
        threading.Thread(target=worker, name=f"{name}-{n}") for n in range(min(threads, len(ids)))
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def judge_one(run: JudgingRun, judgement_id: int, inputs: dict[str, JudgeInput]) -> bool:
    """One battle judgement of `run` (see `judge_row`)."""
    progress = Progress(JudgingRun.objects.filter(pk=run.pk), every_s=0)
    return judge_row(
        Judgement, judgement_id, run.judge, lambda row: inputs[row.judged_key()], progress
    )


def judge_row(
    rows: type[Verdict],
    pk: int,
    judge: Judge,
    input_of: Callable[[Any], JudgeInput],
    progress: Progress,
) -> bool:
    """Claim, judge and store one verdict row of any owner; `progress` (the run's
    counters) counts it. False when another worker had it or it
    was done."""
    claimed = rows._default_manager.filter(pk=pk, status__in=OPEN).update(
        status=Verdict.Status.RUNNING,
        claimed_by=jobs.worker_name(),
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return False
    row = rows._default_manager.get(pk=pk)
    try:
        limiter_for(judge.rate_key(), judge.requests_per_minute).wait()
        outcome = ask(judge, input_of(row), row)
    except JudgeCallError as error:
        _store_failure(rows, row, str(error), progress)
        return True
    except Exception as error:  # a bug must not stop the other judgements
        log.exception("%s %s crashed", rows.__name__, pk)
        _store_failure(rows, row, f"{type(error).__name__}: {error}", progress)
        return True
    _store_outcome(rows, row, judge, outcome, progress)
    return True


def ask(judge: Judge, shown: JudgeInput, row: Verdict) -> Outcome:
    with_execution = row.evidence == WITH_EXECUTION
    if judge.kind == Judge.Kind.LLM:
        prompts = judge.prompts()
        if not judge.send_screenshots:
            shown = shown.without_screenshots()
        return ask_llm(judge.spec(), prompts, shown, row.order, with_execution)
    if judge.kind == Judge.Kind.REWARD:
        return ask_reward_model(judge.endpoint(), shown, row.order, with_execution)
    return ask_baseline(judge.rule, shown, row.order, seed=judge.seed, key=row.judged_key())


def _store_outcome(
    rows: type[Verdict], row: Verdict, judge: Judge, outcome: Outcome, progress: Progress
) -> None:
    preference = outcome.preference
    stored = rows._default_manager.filter(pk=row.pk, status=Verdict.Status.RUNNING).update(
        status=Verdict.Status.DONE,
        preference=preference.value if preference else "",
        label=battle_label(preference, row.order).value if preference else "",
        is_parsed=preference is not None,
        parse_format=outcome.format,
        parse_note=outcome.note[:200],
        raw_text=outcome.raw_text,
        score_a=outcome.score_a,
        score_b=outcome.score_b,
        error="",
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        cost_usd=judge.cost_usd(outcome.input_tokens, outcome.output_tokens),
        latency_ms=outcome.latency_ms,
        finished_at=timezone.now(),
    )
    if stored:
        progress.add("done")


def _store_failure(rows: type[Verdict], row: Verdict, message: str, progress: Progress) -> None:
    stored = rows._default_manager.filter(pk=row.pk, status=Verdict.Status.RUNNING).update(
        status=Verdict.Status.FAILED, error=message[:500], finished_at=timezone.now()
    )
    if stored:
        progress.add("failed")


def recover_judging(worker: str, before: datetime) -> int:
    """A restarted worker puts back what it was judging (claimed before `before`, its new
    life's start) and queues its runs again: the rows it finished stay finished, so the
    run resumes where it stopped."""
    reset = Judgement.objects.filter(
        status=Judgement.Status.RUNNING, claimed_by=worker, started_at__lt=before
    ).update(status=Judgement.Status.PENDING, claimed_by="")
    runs = list(
        JudgingRun.objects.filter(
            status=JudgingRun.Status.RUNNING, claimed_by=worker, started_at__lt=before
        ).values_list("pk", flat=True)
    )
    for run_id in runs:
        with transaction.atomic():
            requeued = JudgingRun.objects.filter(
                pk=run_id, status=JudgingRun.Status.RUNNING
            ).update(status=JudgingRun.Status.QUEUED, claimed_by="")
            if requeued:
                jobs.enqueue(JUDGE_JOB, run_id)
    return reset + len(runs)


# --- What a judge is shown ---------------------------------------------------------------


def judge_inputs(battle_ids: Iterable[Any]) -> dict[str, JudgeInput]:
    """Each battle's request (every turn), final answers and their last runs, in bulk."""
    ids = list(battle_ids)
    prompts: dict[str, list[str]] = {}
    for battle_id, prompt in (
        Turn.objects.filter(battle_id__in=ids)
        .order_by("battle_id", "index")
        .values_list("battle_id", "prompt")
    ):
        prompts.setdefault(str(battle_id), []).append(prompt)
    finals = _final_responses(ids)
    evidence = last_runs(Response, [pk for pk, _text in finals.values()])
    inputs: dict[str, JudgeInput] = {}
    for key, turn_prompts in prompts.items():
        pk_a, text_a = finals.get((key, "a"), (0, ""))
        pk_b, text_b = finals.get((key, "b"), (0, ""))
        inputs[key] = JudgeInput(
            instruction="\n\n".join(turn_prompts),
            answer_a=text_a,
            answer_b=text_b,
            execution_a=evidence.get(pk_a, NOT_RUN),
            execution_b=evidence.get(pk_b, NOT_RUN),
        )
    return inputs


NOT_RUN = ExecutionEvidence(status="not_run")


def _final_responses(battle_ids: list[Any]) -> dict[tuple[str, str], tuple[int, str]]:
    """(battle, side) -> (response pk, text) of the battle's last turn."""
    rows = (
        Response.objects.filter(turn__battle_id__in=battle_ids)
        .order_by("turn__battle_id", "turn__index")
        .values_list("turn__battle_id", "side", "pk", "text")
    )
    return {(str(battle_id), side): (pk, text) for battle_id, side, pk, text in rows}


def last_runs(owner: type[models.Model], owner_ids: list[int]) -> dict[int, ExecutionEvidence]:
    """The newest finished run of each answer (a rater's re-run after an edit included:
    it is what the rater saw last), with its preview's screenshot when one was taken."""
    finished = Execution.objects.filter(
        owner_type=ContentType.objects.get_for_model(owner), owner_id__in=owner_ids
    ).exclude(status__in=Execution.UNFINISHED)
    newest: dict[int, Execution] = {}
    for execution in finished.order_by("created_at", "pk"):
        newest[execution.owner_id] = execution
    shots = screenshots([execution.pk for execution in newest.values()])
    return {
        owner_id: ExecutionEvidence(
            status=execution.status,
            stdout=execution.stdout,
            stderr=execution.stderr or execution.error,
            exit_code=execution.exit_code,
            preview=execution.is_browser_rendered,
            screenshots=shots.get(execution.pk, ()),
        )
        for owner_id, execution in newest.items()
    }


def screenshots(execution_ids: list[int]) -> dict[int, tuple[bytes, ...]]:
    found = Artifact.objects.filter(execution_id__in=execution_ids, name=SCREENSHOT_NAME)
    shots: dict[int, tuple[bytes, ...]] = {}
    for execution_id, data in found.order_by("pk").values_list("execution_id", "data"):
        shots[execution_id] = (bytes(data),)  # the newest, if a screenshot was taken twice
    return shots
