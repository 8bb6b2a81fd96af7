"""Exports: filters in, a directory (data file + manifest + card) out; jobs for the site."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from arena import jobs
from arena.exports import rows, sql_rows
from arena.exports.card import (
    CARD_NAME,
    DatasetStats,
    sha256_file,
    write_card,
    write_manifest,
    write_zip,
)
from arena.exports.filters import ExportFilters
from arena.exports.models import Export
from arena.exports.schema import FORMATS, data_file_name
from arena.exports.writers import open_writer

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (rows written, rows expected)
BATCH_ROWS = 1_000  # rows per writer call: a JSONL/CSV flush, an Arrow batch for Parquet


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    data_file: Path
    rows: int
    stats: DatasetStats


def exports_dir() -> Path:
    return Path(settings.EXPORTS_DIR)


def export_votes(
    filters: ExportFilters,
    fmt: str,
    directory: Path,
    *,
    secret: bytes,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ExportResult:
    """Write the export into `directory` (created if needed). Deterministic: the same
    votes, filters and secret give byte-identical files."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    if not secret:
        raise ValueError("the pseudonym secret must not be empty")
    directory.mkdir(parents=True, exist_ok=True)
    votes = filters.votes()
    total = votes.count()
    report = progress or (lambda done, expected: None)
    report(0, total)
    stats = DatasetStats()
    data_path = directory / data_file_name(fmt)
    writer = open_writer(fmt, data_path)
    # PostgreSQL writes each row's JSON itself; elsewhere (SQLite in embedded mode) the
    # rows are built in Python. The two give the same bytes (tests/exports/test_sql_rows.py).
    if connection.vendor == "postgresql":
        lines = sql_rows.Exporter(votes, secret=secret).lines(expected=total)
    else:
        lines = rows.iter_lines(votes, secret=secret)
    try:
        batch: list[str] = []
        for line, facts in lines:
            stats.add(facts)
            batch.append(line)
            if len(batch) >= batch_rows:
                writer.write(batch)
                batch = []
                report(stats.rows, total)
        writer.write(batch)
    finally:
        data_sha256 = writer.close()
    report(stats.rows, max(total, stats.rows))
    raters = votes.values("rater").distinct().count()
    _write_metadata(directory, fmt, stats, filters, raters=raters, data_sha256=data_sha256)
    return ExportResult(directory=directory, data_file=data_path, rows=stats.rows, stats=stats)


def _write_metadata(
    directory: Path,
    fmt: str,
    stats: DatasetStats,
    filters: ExportFilters,
    *,
    raters: int,
    data_sha256: str,
) -> None:
    licence = settings.EXPORTS_LICENSE
    title = settings.EXPORTS_TITLE
    data_file = data_file_name(fmt)
    write_card(
        directory,
        data_file=data_file,
        fmt=fmt,
        stats=stats,
        filters=filters.to_dict(),
        raters=raters,
        licence=licence,
        title=title,
    )
    write_manifest(
        directory,
        files=[data_file, CARD_NAME],
        fmt=fmt,
        stats=stats,
        filters=filters.to_dict(),
        licence=licence,
        hashed={data_file: data_sha256},
    )


# --- Background jobs (research page, admin) ---------------------------------------------

EXPORT_JOB = "exports.run"  # registered in apps.py


def export_start(*, fmt: str, filters: ExportFilters, user: Any = None) -> Export:
    with transaction.atomic():
        export = Export.objects.create(
            format=fmt,
            filters=filters.to_dict(),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        jobs.enqueue(EXPORT_JOB, export.pk)
    return export


def export_run(export_id: int) -> None:
    """1. claim the queued row, 2. write the files, 3. zip them, 4. store the outcome."""
    claimed = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=timezone.now(), claimed_by=jobs.worker_name()
    )
    if claimed != 1:
        return  # another worker has it, or it already ran
    export = Export.objects.get(pk=export_id)
    try:
        archive = _build(export)
    except Exception as error:  # recorded on the row: the page shows it, nothing is lost
        log.exception("export %s failed", export_id)
        _finish(
            export_id, status=Export.Status.FAILED, error=f"{type(error).__name__}: {error}"[:500]
        )
        return
    _finish(
        export_id,
        status=Export.Status.DONE,
        archive=archive.name,
        archive_bytes=archive.stat().st_size,
        archive_sha256=sha256_file(archive),
    )


def export_recover_orphans(worker: str, before: datetime) -> int:
    """A worker that restarts fails the exports it was running: nothing else will."""
    running = Export.objects.filter(
        status=Export.Status.RUNNING, claimed_by=worker, started_at__lt=before
    )
    return running.update(
        status=Export.Status.FAILED,
        error="The worker restarted; export again.",
        finished_at=timezone.now(),
    )


def export_waiting(before: datetime) -> list[int]:
    """Exports still unclaimed since before `before` (arena/jobs.py)."""
    waiting = Export.objects.filter(status=Export.Status.QUEUED, created_at__lt=before)
    return list(waiting.values_list("pk", flat=True))


def _build(export: Export) -> Path:
    root = exports_dir()
    workdir = root / f".{export.name}.partial"
    shutil.rmtree(workdir, ignore_errors=True)
    recorder = _ProgressRecorder(export.pk)
    result = export_votes(
        ExportFilters.from_dict(export.filters),
        export.format,
        workdir,
        secret=export.secret.encode(),
        progress=recorder,
    )
    recorder.flush(result.rows)
    archive = write_zip(workdir, root / f"{export.name}.zip")
    shutil.rmtree(workdir, ignore_errors=True)  # the zip is the release; keep one copy
    return archive


def _finish(export_id: int, **fields: object) -> None:
    Export.objects.filter(pk=export_id, status=Export.Status.RUNNING).update(
        finished_at=timezone.now(), **fields
    )


class _ProgressRecorder:
    """Writes progress to the row at most once a second: the page polls it."""

    INTERVAL_S = 1.0

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done == 0 or now - self._last >= self.INTERVAL_S:
            self._last = now
            Export.objects.filter(pk=self.export_id).update(rows_done=done, rows_total=total)

    def flush(self, done: int) -> None:
        Export.objects.filter(pk=self.export_id).update(rows_done=done)


def archive_path(export: Export) -> Path | None:
    """The zip of a finished export, if it is still on disk."""
    if export.status != Export.Status.DONE or not export.archive:
        return None
    path = exports_dir() / Path(export.archive).name
    return path if path.is_file() else None
