"""Agreement reports: a judge's verdicts against the counted human votes of one battle set,
per evidence mode, with judge leaderboards beside the human one. Stored as snapshots.

The figures come from the agreement package (the CLI's own code) on the rows that
`agreement_rows` returns, so the JSONL download of a report fed to
`python -m arena.judges.agreement` prints the report's numbers again. Unparseable and
failed judgements are not rows (there is no label to compare); the report counts them.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from scipy import stats

from arena.judges.agreement import LabelTable, agreement_report
from arena.judges.models import Judge, Judgement, JudgeReport, JudgingRun
from arena.judges.prompts import EVIDENCE_MODES
from arena.ratings.snapshots import counted_votes, leaderboard_data

BOOTSTRAP = 1000  # agreement interval rounds (cheap: one multinomial a round)
MIN_MODELS_FOR_CORRELATION = 3  # with two models a rank correlation is always ±1
ROW_FIELDS = ("battle_id", "order", "human", "judge", "category", "language", "environment")


def battle_set_hash(battle_ids: Iterable[str]) -> str:
    """sha256 of the sorted ids, one a line: anyone with the ids can check a report's set."""
    return hashlib.sha256("\n".join(sorted(battle_ids)).encode()).hexdigest()


def judgements_of(
    judge: Judge, battle_ids: Sequence[str], modes: Sequence[str]
) -> QuerySet[Judgement]:
    return Judgement.objects.filter(judge=judge, battle_id__in=battle_ids, evidence__in=modes)


def human_votes(battle_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The counted vote of each battle with what the breakdowns and boards need."""
    rows = counted_votes().filter(battle_id__in=battle_ids).order_by("created_at", "pk")
    fields = rows.values_list(
        "battle_id",
        "winner",
        "created_at",
        "battle__category",
        "battle__language",
        "battle__environment",
        "battle__model_a__name",
        "battle__model_b__name",
    )
    return {
        str(battle_id): {
            "winner": winner,
            "tstamp": created.timestamp(),
            "category": category or None,
            "language": language or None,
            "environment": environment or None,
            "model_a": model_a,
            "model_b": model_b,
        }
        for battle_id, winner, created, category, language, environment, model_a, model_b in fields
    }


def agreement_rows(
    judge: Judge, battle_ids: Sequence[str], mode: str, votes: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per parsed judgement of a counted vote, in the CLI's input format."""
    parsed = (
        judgements_of(judge, battle_ids, [mode])
        .filter(status=Judgement.Status.DONE, is_parsed=True)
        .order_by("battle_id", "order")
        .values_list("battle_id", "order", "label")
    )
    rows = []
    for battle_id, order, label in parsed:
        vote = votes.get(str(battle_id))
        if vote is None:  # the vote stopped counting since the run
            continue
        rows.append(
            {
                "battle_id": str(battle_id),
                "order": order,
                "human": vote["winner"],
                "judge": label,
                "category": vote["category"],
                "language": vote["language"],
                "environment": vote["environment"],
            }
        )
    return rows


def agreement_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    columns = {name: [row[name] for row in rows] for name in ROW_FIELDS}
    table = LabelTable.from_columns(columns.pop("human"), columns.pop("judge"), **columns)
    return agreement_report(table, bootstrap=BOOTSTRAP).to_dict()


def build_report(
    judge: Judge, battle_ids: Sequence[str], modes: Sequence[str]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The report and, per mode, the exact rows its agreement figures come from."""
    votes = human_votes(battle_ids)
    bootstrap = settings.LEADERBOARD_BOOTSTRAP
    human_board = leaderboard_data(_board_rows(votes.values()), bootstrap)
    report: dict[str, Any] = {
        "judge": {"name": judge.name, "kind": judge.kind},
        "battles": len(battle_ids),
        "counted_votes": len(votes),
        "battle_hash": battle_set_hash(battle_ids),
        "human_board": human_board,
        "modes": {},
    }
    all_rows: dict[str, list[dict[str, Any]]] = {}
    for mode in (m for m in EVIDENCE_MODES if m in modes):
        rows = all_rows[mode] = agreement_rows(judge, battle_ids, mode, votes)
        judge_board = leaderboard_data(_judge_board_rows(rows, votes), bootstrap)
        report["modes"][mode] = {
            **_tally(judgements_of(judge, battle_ids, [mode])),
            "agreement": agreement_of(rows),
            "board": judge_board,
            "correlation": board_correlation(human_board, judge_board),
        }
    return report, all_rows


def store_report(run: JudgingRun) -> JudgeReport:
    data, rows = build_report(run.judge, run.battle_ids, run.mode_list())
    return JudgeReport.objects.create(
        judge=run.judge,
        run=run,
        battle_ids=run.battle_ids,
        battle_hash=run.battle_hash,
        data=data,
        rows=rows,
    )


def _tally(judgements: QuerySet[Judgement]) -> dict[str, Any]:
    """Counts, tokens, cost and latency of one mode's judgements."""
    done = judgements.filter(status=Judgement.Status.DONE)
    values = list(done.values_list("input_tokens", "output_tokens", "cost_usd", "latency_ms"))
    latencies = [v[3] for v in values if v[3] is not None]
    costs = [v[2] for v in values if v[2] is not None]
    return {
        "judgements": judgements.count(),
        "parsed": done.filter(is_parsed=True).count(),
        "unparseable": done.filter(is_parsed=False).count(),
        "failed": judgements.filter(status=Judgement.Status.FAILED).count(),
        "open": judgements.exclude(status=Judgement.Status.DONE)
        .exclude(status=Judgement.Status.FAILED)
        .count(),
        "input_tokens": sum(v[0] or 0 for v in values),
        "output_tokens": sum(v[1] or 0 for v in values),
        "cost_usd": sum(costs) if costs else None,
        "latency_ms": {
            "mean": statistics.fmean(latencies) if latencies else None,
            "median": statistics.median(latencies) if latencies else None,
            "max": max(latencies) if latencies else None,
        },
    }


def _board_rows(votes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "model_a": v["model_a"],
            "model_b": v["model_b"],
            "winner": v["winner"],
            "tstamp": v["tstamp"],
        }
        for v in votes
    ]


def _judge_board_rows(
    rows: list[dict[str, Any]], votes: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each judgement is one battle of the judge's board (both orders: two games, as
    Arena-Hard plays them), timed like the human vote so Elo replays in the same order."""
    games = []
    for row in rows:
        vote = votes[row["battle_id"]]
        games.append({**_board_rows([vote])[0], "winner": row["judge"]})
    return sorted(games, key=lambda game: game["tstamp"])


def board_correlation(human: dict[str, Any], judge: dict[str, Any]) -> dict[str, Any]:
    """Spearman and Kendall (tau-b) correlation of the Bradley-Terry ratings of the models
    on both boards; None below three models or when a board is constant."""
    human_bt = {m["model"]: m["bt"] for m in human.get("models", [])}
    judge_bt = {m["model"]: m["bt"] for m in judge.get("models", [])}
    common = sorted(set(human_bt) & set(judge_bt))
    result: dict[str, Any] = {"models": len(common), "spearman": None, "kendall": None}
    if len(common) < MIN_MODELS_FOR_CORRELATION:
        return result
    x, y = [human_bt[m] for m in common], [judge_bt[m] for m in common]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return result
    result["spearman"] = float(stats.spearmanr(x, y).statistic)
    result["kendall"] = float(stats.kendalltau(x, y).statistic)
    return result


def latest_reports() -> list[JudgeReport]:
    """The newest report of each judge (by name), for comparing judges."""
    reports = (
        judge.reports.order_by("-computed_at", "-pk").first() for judge in Judge.objects.all()
    )
    return [report for report in reports if report is not None]
