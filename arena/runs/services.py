"""Executions: create them, run them in the sandbox, stream their output live."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

import executors
from arena import jobs, metrics
from arena.logs import log_context
from arena.runs import live_apps
from arena.runs.models import Artifact, Execution
from arena.runs.signals import execution_changed
from executors.environments import REACT, VUE
from executors.packages import Packages
from executors.packages import provide as provide_packages
from executors.pages import build_page

log = logging.getLogger(__name__)

EXECUTE_JOB = "runs.execute"  # registered in apps.py
SCREENSHOT_JOB = "runs.screenshot"  # screenshots.screenshot_take
# The sandbox's own wall limit is far shorter; this only catches a wedged job.
EXECUTE_TIME_LIMIT_S = 120


def execution_create(
    *,
    owner: models.Model,
    code: str,
    language: str,
    environment: str,
    is_edited: bool = False,
    stdin: str = "",
    packages: list[str] | None = None,
    holder: str = "",
    preview_side: str = "a",
) -> Execution:
    """A new run of `owner`'s program. `holder` names who may use it if it is a server
    app (the battle's rater): the app proxy's capability is handed to them only, and
    caps count per holder. `preview_side` picks the preview origin (the owner's side of
    a battle). A new run replaces the owner's running app."""
    with transaction.atomic():
        live_apps.apps_stop([owner], "A new run replaced this app.")
        execution = Execution.objects.create(
            owner=owner,
            code=code,
            language=language,
            environment=environment,
            is_edited=is_edited,
            stdin=stdin,
            packages=packages or [],
            holder=holder,
            preview_side=preview_side,
        )
        if execution.is_browser_rendered and environment not in COMPILED:
            # HTML and Mermaid need no compiler: the page is ready at once.
            built = build_page(environment, code, language, executors.run)
            now = timezone.now()
            Execution.objects.filter(pk=execution.pk).update(
                status=Execution.Status.OK, page=built.html, started_at=now, finished_at=now
            )
            execution.status, execution.page = Execution.Status.OK, built.html
            jobs.enqueue(SCREENSHOT_JOB, execution.pk)
        else:
            jobs.enqueue(EXECUTE_JOB, execution.pk)
    return execution


# Page environments compiled in the sandbox, by the job.
COMPILED = frozenset({REACT, VUE})


def execution_run(execution_id: int) -> None:
    """1. claim the row, 2. run in the sandbox while a flusher streams output to the
    row, 3. store the result and artifacts, 4. tell the owner."""
    claimed = Execution.objects.filter(pk=execution_id, status=Execution.Status.QUEUED).update(
        status=Execution.Status.RUNNING, started_at=timezone.now(), claimed_by=jobs.worker_name()
    )
    if claimed != 1:
        return
    execution = Execution.objects.get(pk=execution_id)
    with log_context(
        execution_id=execution_id, owner=f"{execution.owner_type_id}:{execution.owner_id}"
    ):
        _changed(execution)
        try:
            _dispatch(execution)
        except Exception:
            log.exception("execution %s crashed", execution_id)
            _finish(execution_id, status=Execution.Status.FAILED, error="The sandbox job failed.")
        execution.refresh_from_db()  # receivers of the last signal see the stored result
        _changed(execution)
        _count(execution)


def _dispatch(execution: Execution) -> None:
    if execution.is_browser_rendered:
        _build_in_sandbox(execution)
    elif execution.is_app:
        live_apps.app_run(execution)
    else:
        _run_in_sandbox(execution)


def _count(execution: Execution) -> None:
    metrics.EXECUTIONS.labels(execution.status, execution.language).inc()
    if execution.started_at and execution.finished_at:
        elapsed = execution.finished_at - execution.started_at
        metrics.EXECUTION_SECONDS.observe(elapsed.total_seconds())


def _changed(execution: Execution) -> None:
    execution_changed.send(sender=Execution, execution=execution)


def _build_in_sandbox(execution: Execution) -> None:
    """React and Vue: compile into the page in the sandbox. A failed build is a failure
    with the compiler's message, never a page."""
    try:
        built = build_page(execution.environment, execution.code, execution.language, executors.run)
    except executors.ExecutorUnavailable as error:
        _finish(execution.pk, status=Execution.Status.SANDBOX_ERROR, error=str(error))
        return
    failed = built.status != "ok"
    if not failed:
        jobs.enqueue(SCREENSHOT_JOB, execution.pk)
    _finish(
        execution.pk,
        status=Execution.Status(built.status),
        page=built.html,
        stderr=built.log,
        wall_ms=built.build_ms,
        error="The build failed." if failed else "",
    )


def _run_in_sandbox(execution: Execution) -> None:
    extra = _provide_packages(execution)
    output = _LiveOutput(execution)
    output.start()
    try:
        result = executors.run(
            executors.ExecSpec(
                language=execution.language,
                code=execution.code,
                stdin=execution.stdin,
                packages_dir=extra.directory,
            ),
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
            status=Execution.Status(result.status),  # a status runs does not know fails here
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


def _provide_packages(execution: Execution) -> Packages:
    """The answer's install lines, honoured from the sandbox's own packages or the
    operator's index (SANDBOX_PIP_INDEX); the page says which came from where."""
    if execution.language != "python" or not execution.packages:
        return Packages()
    extra = provide_packages(list(execution.packages), index=settings.SANDBOX_PIP_INDEX)
    Execution.objects.filter(pk=execution.pk).update(packages_note=extra.note()[:500])
    return extra


def _finish(execution_id: int, **fields: object) -> None:
    Execution.objects.filter(pk=execution_id, status=Execution.Status.RUNNING).update(
        finished_at=timezone.now(), **fields
    )


def _error_message(status: str, stderr: str) -> str:
    if status == Execution.Status.SANDBOX_ERROR:
        lines = stderr.strip().splitlines() or ["The sandbox could not run this program."]
        return lines[-1][:500]
    return ""


class _LiveOutput:
    """Collects output chunks from the executor's reader threads and writes them to the
    row on a timer, so the page shows a running program's output as it appears."""

    def __init__(self, execution: Execution) -> None:
        self.execution = execution
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
        running = Execution.objects.filter(pk=self.execution.pk, status=Execution.Status.RUNNING)
        if running.update(stdout=stdout, stderr=stderr):
            _changed(self.execution)


def recover_executions(worker: str, before: datetime) -> int:
    """Fail what a previous life of this worker left running: its sandboxes died with it
    (a sandbox dies with its parent), so these rows would otherwise hang forever."""
    orphans = Execution.objects.filter(
        claimed_by=worker, status__in=Execution.UNFINISHED, started_at__lt=before
    )
    failed = list(orphans)
    stopped = live_apps.recover_apps(worker, before)
    count = orphans.update(
        status=Execution.Status.FAILED,
        error="The worker restarted while this was running.",
        finished_at=timezone.now(),
    )
    for execution in failed + stopped:
        _changed(execution)
    return count + len(stopped)


def waiting_executions(before: datetime) -> list[int]:
    """Runs still unclaimed since before `before` (arena/jobs.py)."""
    waiting = Execution.objects.filter(status=Execution.Status.QUEUED, created_at__lt=before)
    return list(waiting.values_list("pk", flat=True))
