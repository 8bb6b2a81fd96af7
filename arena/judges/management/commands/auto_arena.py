"""Start an automatic arena run from the shell, optionally wait and print its board.

    python manage.py auto_arena --prompt-set demo --models demo-atlas,demo-cirrus \
        --baseline demo-breeze --judge demo-execution-judge --wait
    python manage.py auto_arena ... --no-execution   # the ablation: the judge sees no runs
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from arena.judges.autoarena import AutoArenaError, auto_arena_start
from arena.judges.models import AutoArenaRun, Judge, JudgingRun, PromptSet
from arena.llms.models import LanguageModel


class Command(BaseCommand):
    help = "Run models against a baseline model on a prompt set, judged by a judge."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prompt-set", required=True)
        parser.add_argument("--models", required=True, help="Comma-separated model names.")
        parser.add_argument("--baseline", required=True, help="The baseline model's name.")
        parser.add_argument("--judge", required=True, help="The judge's name.")
        modes = parser.add_mutually_exclusive_group()
        modes.add_argument(
            "--no-execution", action="store_true", help="The judge sees no runs (ablation)."
        )
        modes.add_argument("--both", action="store_true", help="Judge with and without execution.")
        parser.add_argument(
            "--wait", action="store_true", help="Wait and print the board (always, embedded)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = [name.strip() for name in options["models"].split(",") if name.strip()]
        candidates = list(LanguageModel.objects.filter(name__in=names))
        unknown = sorted(set(names) - {model.name for model in candidates})
        if unknown:
            raise CommandError(f"unknown models: {', '.join(unknown)}")
        modes = JudgingRun.Modes.WITH
        if options["no_execution"]:
            modes = JudgingRun.Modes.WITHOUT
        elif options["both"]:
            modes = JudgingRun.Modes.BOTH
        try:
            run = auto_arena_start(
                prompt_set=_get(PromptSet, name=options["prompt_set"]),
                candidates=candidates,
                judge=_get(Judge, name=options["judge"]),
                baseline=_get(LanguageModel, name=options["baseline"]),
                modes=modes,
            )
        except AutoArenaError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"automatic arena run {run.pk} queued")
        # Embedded mode runs jobs on this process's threads: it must outlive the run.
        if options["wait"] or settings.JOBS_MODE != "celery":
            self._print_board(_wait(run))

    def _print_board(self, run: AutoArenaRun) -> None:
        if run.status != AutoArenaRun.Status.DONE:
            raise CommandError(f"run {run.pk} {run.status}: {run.error}")
        for mode, board in run.board["modes"].items():
            self.stdout.write(f"\n{mode} execution (baseline {board['baseline']}):")
            for row in board["rows"]:
                interval = (
                    f"[{row['lower']:.1f}, {row['upper']:.1f}]" if row["lower"] is not None else ""
                )
                self.stdout.write(f"  {row['model']:<30} {row['score']:5.1f}% {interval}")
        if run.error:
            self.stdout.write(run.error)


def _get(model: Any, **lookup: str) -> Any:
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise CommandError(f"no {model._meta.verbose_name} {lookup}")
    return found


def _wait(run: AutoArenaRun) -> AutoArenaRun:
    while not run.is_finished:
        time.sleep(0.5)
        run.refresh_from_db()
    return run
