"""`python manage.py export_votes --format jsonl|parquet|csv --output PATH [filters]`.

PATH is a directory (data file + manifest.json + README.md), or a `.zip` holding one.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from arena.exports.card import write_zip
from arena.exports.filters import FILTERS, ExportFilters, FilterError
from arena.exports.schema import FORMATS
from arena.exports.services import export_votes

SECRET_ENV = "ARENA_EXPORT_SECRET"
MIN_SECRET_CHARS = 16


class Command(BaseCommand):
    help = "Export votes as a versioned, pseudonymised research dataset."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument(
            "--output", required=True, metavar="PATH", help="a directory, or a file ending in .zip"
        )
        for name, spec in FILTERS.items():
            spec.add_option(parser, name)
        parser.add_argument(
            "--secret-file",
            metavar="FILE",
            help=f"pseudonym key of this release (else ${SECRET_ENV}, "
            "else a random one: rater ids then differ per run)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        filters = self._filters(options)
        secret = self._secret(options["secret_file"])
        output = Path(options["output"])
        bar = None if options["no_progress"] else ProgressBar(self.stderr)
        if output.suffix == ".zip":
            with tempfile.TemporaryDirectory(
                dir=output.parent if output.parent.exists() else None
            ) as tmp:
                result = export_votes(
                    filters, options["format"], Path(tmp) / output.stem, secret=secret, progress=bar
                )
                write_zip(result.directory, output)
        else:
            if output.exists() and not output.is_dir():
                raise CommandError(f"--output {output} exists and is not a directory")
            result = export_votes(filters, options["format"], output, secret=secret, progress=bar)
        if bar:
            bar.close()
        self.stdout.write(f"Exported {result.rows:,} votes to {output}")

    def _filters(self, options: dict[str, Any]) -> ExportFilters:
        try:
            filters = ExportFilters.from_dict(options, label=lambda name: FILTERS[name].flag(name))
            filters.check_models_exist()
        except FilterError as error:
            raise CommandError(str(error)) from None
        return filters

    def _secret(self, path: str | None) -> bytes:
        if path:
            try:
                secret = Path(path).read_text().strip()
            except OSError as error:
                raise CommandError(f"--secret-file {path}: {error.strerror}") from None
        else:
            secret = os.environ.get(SECRET_ENV, "").strip()
        if not secret:
            self.stderr.write(
                "No --secret-file or $ARENA_EXPORT_SECRET: using a random "
                "pseudonym key, not saved (rater ids differ per run)."
            )
            return secrets.token_bytes(32)
        if len(secret) < MIN_SECRET_CHARS:
            raise CommandError(f"the pseudonym secret needs at least {MIN_SECRET_CHARS} characters")
        return secret.encode()


class ProgressBar:
    """A one-line bar on a terminal; a line per 10% elsewhere (logs stay short)."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        decile = done * 10 // total if total else 10
        if self.tty and (now - self._last_draw >= 0.1 or done == total):
            self._last_draw = now
            self.stream.write("\r" + self._line(done, total, now), ending="")
        elif not self.tty and decile != self._last_decile:
            self._last_decile = decile
            self.stream.write(self._line(done, total, now))

    def _line(self, done: int, total: int, now: float) -> str:
        fraction = done / total if total else 1.0
        filled = int(self.WIDTH * fraction)
        rate = done / max(now - self.started, 1e-9)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        return f"[{bar}] {done:,}/{total:,} votes {fraction:4.0%} {rate:,.0f}/s"

    def close(self) -> None:
        if self.tty:
            self.stream.write("")
