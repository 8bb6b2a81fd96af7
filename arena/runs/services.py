"""Executions: create them, run them in the sandbox, stream their output live."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from arena import jobs
from arena.battles import broadcast
from arena.battles.models import Response
from arena.runs.models import Artifact, Execution

log = logging.getLogger(__name__)

BROWSER_ENVIRONMENTS = {"html"}  # rendered by the rater's browser in a sandboxed iframe


def execution_create(
    *, response: Response, code: str, language: str, environment: str, is_edited: bool = False
) -> Execution:
    from arena.runs.tasks import run_execution_task

    with transaction.atomic():
        execution = Execution.objects.create(
            response=response,
            code=code,
            language=language,
            environment=environment,
            is_edited=is_edited,
        )
        if environment in BROWSER_ENVIRONMENTS:
            # Nothing runs on our side: the preview page is the execution.
            Execution.objects.filter(pk=execution.pk).update(
                status=Execution.Status.OK, started_at=timezone.now(), finished_at=timezone.now()
            )
        else:
            jobs.enqueue(run_execution_task, execution.pk)
    return execution


def execution_run(execution_id: int) -> None:
    """1. claim the row, 2. run in the sandbox while a flusher streams output to the
    row, 3. store the result and artifacts, 4. broadcast."""
    claimed = Execution.objects.filter(pk=execution_id, status=Execution.Status.QUEUED).update(
        status=Execution.Status.RUNNING, started_at=timezone.now(), claimed_by=jobs.worker_name()
    )
    if claimed != 1:
        return
    execution = Execution.objects.select_related("response__turn").get(pk=execution_id)
    battle_id = execution.response.turn.battle_id
    broadcast.battle_changed(battle_id)
    try:
        _run_in_sandbox(execution, lambda: broadcast.battle_changed(battle_id))
    except Exception:
        log.exception("execution %s crashed", execution_id)
        _finish(execution_id, status=Execution.Status.FAILED, error="The sandbox job failed.")
    broadcast.battle_changed(battle_id)


def _run_in_sandbox(execution: Execution, changed: Callable[[], None]) -> None:
    import executors

    output = _LiveOutput(execution.pk, changed)
    output.start()
    try:
        result = executors.run(
            executors.ExecSpec(language=execution.language, code=execution.code),
            on_output=output.feed,
        )
    except executors.ExecutorUnavailable as error:
        _finish(execution.pk, status=Execution.Status.SANDBOX_ERROR, error=str(error))
        return
    finally:
        output.stop()
    with transaction.atomic():
        _finish(
            execution.pk,
            status=result.status,
            stdout=result.stdout,
            stderr=result.stderr,
            stdout_truncated=result.stdout_truncated,
            stderr_truncated=result.stderr_truncated,
            exit_code=result.exit_code,
            signal=result.signal,
            wall_ms=result.wall_ms,
            cpu_ms=result.cpu_ms,
            error=_error_message(result.status, result.stderr),
        )
        Artifact.objects.bulk_create(
            Artifact(
                execution_id=execution.pk,
                name=a.name,
                mime=a.mime,
                size=a.size,
                sha256=a.sha256 or hashlib.sha256(a.data).hexdigest(),
                data=a.data,
            )
            for a in result.artifacts
        )


def _finish(execution_id: int, **fields: object) -> None:
    Execution.objects.filter(pk=execution_id, status=Execution.Status.RUNNING).update(
        finished_at=timezone.now(), **fields
    )


def _error_message(status: str, stderr: str) -> str:
    if status == Execution.Status.SANDBOX_ERROR:
        return (stderr.strip().splitlines() or ["The sandbox could not run this program."])[-1][
            :500
        ]
    return ""


class _LiveOutput:
    """Collects output chunks from the executor's reader threads and writes them to the
    row on a timer, so the page shows a running program's output as it appears."""

    def __init__(self, execution_id: int, changed: Callable[[], None]) -> None:
        self.execution_id = execution_id
        self.changed = changed
        self.streams: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.dirty = False
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def feed(self, stream: str, text: str) -> None:
        with self.lock:
            self.streams.setdefault(stream, []).append(text)
            self.dirty = True

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def _loop(self) -> None:
        try:
            while not self.done.wait(settings.EXECUTION_FLUSH_SECONDS):
                self._flush()
        finally:
            connection.close()  # this thread's own connection

    def _flush(self) -> None:
        with self.lock:
            if not self.dirty:
                return
            stdout, stderr = "".join(self.streams["stdout"]), "".join(self.streams["stderr"])
            self.dirty = False
        Execution.objects.filter(pk=self.execution_id, status=Execution.Status.RUNNING).update(
            stdout=stdout, stderr=stderr
        )
        self.changed()


def recover_orphans(worker: str) -> int:
    """Fail what a previous life of this worker left running: its processes died with it
    (the sandbox dies with its parent), so these rows would otherwise hang forever."""
    reason = "The worker restarted while this was running."
    count = Execution.objects.filter(claimed_by=worker, status__in=Execution.UNFINISHED).update(
        status=Execution.Status.FAILED, error=reason, finished_at=timezone.now()
    )
    stuck = Response.objects.filter(claimed_by=worker, status=Response.Status.STREAMING)
    for response in stuck.select_related("turn"):
        updated = Response.objects.filter(pk=response.pk, status=Response.Status.STREAMING).update(
            status=Response.Status.FAILED, error=reason, finished_at=timezone.now()
        )
        if updated:
            from arena.battles.services import battle_void

            battle_void(response.turn.battle_id, "A model's answer was interrupted.")
            count += 1
    return count
