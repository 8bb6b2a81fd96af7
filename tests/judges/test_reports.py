"""Reports: agreement figures, judge boards beside the human one, pages and downloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from arena.judges.agreement import LabelTable, agreement_report
from arena.judges.models import Judge, JudgeReport
from arena.judges.reports import battle_set_hash, board_correlation
from arena.judges.services import Selection, run_start
from tests.fakes import openai_server
from tests.judges.conftest import evidence_reader, wait_for_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_jobs")]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def report(voted_battles, make_llm_judge) -> JudgeReport:
    voted_battles(12)
    with openai_server(default=evidence_reader) as srv:
        judge = make_llm_judge(srv.base_url, concurrency=4)
        run = wait_for_run(run_start(judge=judge, selection=Selection()))
    return JudgeReport.objects.get(run=run)


def test_with_execution_the_evidence_reader_agrees_with_humans_and_blind_it_does_not(
    report,
) -> None:
    with_execution = report.mode("with")["agreement"]
    blind = report.mode("without")["agreement"]
    # 12 votes, 2 of them ties (i = 4, 9): the judge never says tie.
    assert with_execution["overall"]["4class"]["n"] == 24
    assert with_execution["overall"]["4class"]["accuracy"] == pytest.approx(20 / 24)
    assert with_execution["position_consistency"]["4class"] == 1.0
    assert blind["position_consistency"]["4class"] == 0.0  # always the first answer
    assert blind["overall"]["4class"]["accuracy"] == pytest.approx(10 / 24)
    assert set(with_execution["by_category"]) == {"algorithms", "web"}
    assert report.mode("with")["parsed"] == 24 and report.mode("with")["unparseable"] == 0


def test_the_stored_figures_are_the_agreement_package_on_the_stored_rows(report) -> None:
    rows = report.rows["with"]
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    table = LabelTable.from_columns(columns.pop("human"), columns.pop("judge"), **columns)
    assert agreement_report(table, bootstrap=1000).to_dict() == report.mode("with")["agreement"]
    assert report.battle_hash == battle_set_hash(report.battle_ids)


def test_the_judge_board_stands_beside_the_human_board_with_rank_correlations(report) -> None:
    human = {m["model"] for m in report.data["human_board"]["models"]}
    judge = {m["model"] for m in report.mode("with")["board"]["models"]}
    assert human == judge == {f"judged-{i}" for i in range(4)}
    correlation = report.mode("with")["correlation"]
    assert correlation["models"] == 4
    # The evidence reader always picks the stronger model, as the humans mostly do.
    assert correlation["spearman"] == pytest.approx(1.0)
    assert correlation["kendall"] == pytest.approx(1.0)


def test_rank_correlation_needs_three_models_and_compares_like_with_like() -> None:
    def board(ratings: dict[str, float]) -> dict:
        return {"models": [{"model": m, "bt": bt} for m, bt in ratings.items()]}

    reversed_order = board_correlation(
        board({"a": 3, "b": 2, "c": 1}), board({"a": 1, "b": 2, "c": 3})
    )
    assert reversed_order["spearman"] == pytest.approx(-1.0) and reversed_order[
        "kendall"
    ] == pytest.approx(-1.0)
    two = board_correlation(board({"a": 1, "b": 2}), board({"a": 1, "b": 2}))
    assert two == {"models": 2, "spearman": None, "kendall": None}


def test_the_cli_reproduces_a_report_from_its_jsonl_download(
    report, staff_client: Client, tmp_path: Path
) -> None:
    url = reverse("arena-judge-report-rows", args=[report.pk, "with", "jsonl"])
    answer = staff_client.get(url)
    assert answer.status_code == 200
    path = tmp_path / "with.jsonl"
    path.write_bytes(answer.content)
    printed = subprocess.run(
        [sys.executable, "-m", "arena.judges.agreement", str(path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(printed.stdout) == report.mode("with")["agreement"]


def test_csv_and_json_downloads_hold_the_rows_and_the_battle_set(
    report, staff_client: Client
) -> None:
    csv_text = staff_client.get(
        reverse("arena-judge-report-rows", args=[report.pk, "without", "csv"])
    ).content.decode()
    lines = csv_text.splitlines()
    assert lines[0] == "battle_id,order,human,judge,category,language,environment"
    assert len(lines) == 25
    payload = json.loads(
        staff_client.get(reverse("arena-judge-report-json", args=[report.pk])).content
    )
    assert payload["battle_hash"] == report.battle_hash and len(payload["battle_ids"]) == 12
    assert set(payload["modes"]) == {"with", "without"}
    assert (
        staff_client.get(
            reverse("arena-judge-report-rows", args=[report.pk, "sideways", "csv"])
        ).status_code
        == 404
    )
    assert (
        staff_client.get(
            reverse("arena-judge-report-rows", args=[report.pk, "with", "exe"])
        ).status_code
        == 404
    )


def test_the_report_page_shows_both_modes_confusion_matrices_and_boards(
    report, staff_client: Client
) -> None:
    page = staff_client.get(reverse("arena-judge-report", args=[report.pk])).content.decode()
    assert 'id="mode-with"' in page and 'id="mode-without"' in page
    assert "Confusion (4class)" in page and "Confusion (3class)" in page
    assert report.battle_hash in page
    assert "judged-3" in page and 'id="judge-boards"' in page
    partial = staff_client.get(
        reverse("arena-judge-report", args=[report.pk]),
        {"dimension": "language"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert partial.lstrip().startswith('<section id="breakdown"') and "python" in partial
    assert "<html" not in partial


def test_the_judges_page_compares_judges_and_starts_runs(report, staff_client: Client) -> None:
    page = staff_client.get(reverse("arena-judges")).content.decode()
    assert 'id="judge-comparison"' in page and report.judge.name in page
    baseline = Judge.objects.create(name="coin", kind="baseline", rule="seeded_random")
    answer = staff_client.post(
        reverse("arena-judge-run-new"),
        {"judge": baseline.pk, "modes": "both", "seed": 1, "sample": 3},
    )
    assert answer.status_code == 303
    run = wait_for_run(baseline.runs.get())
    assert len(run.battle_ids) == 3
    row = staff_client.get(reverse("arena-judge-run", args=[run.pk])).content.decode()
    assert f'id="run-{run.pk}"' in row and "report #" in row


def test_bad_run_input_gets_a_clear_error_and_starts_nothing(db, staff_client: Client) -> None:
    judge = Judge.objects.create(name="coin", kind="baseline", rule="seeded_random")
    answer = staff_client.post(
        reverse("arena-judge-run-new"),
        {"judge": judge.pk, "modes": "both", "seed": 1, "start": "2026-03-05", "end": "2026-03-01"},
    )
    assert answer.status_code == 400
    assert "The end date is before the start date." in answer.content.decode()
    assert not judge.runs.exists()
    assert (
        staff_client.post(reverse("arena-judge-run-new"), {"judge": 999, "seed": "x"}).status_code
        == 400
    )


def test_only_staff_and_researchers_see_reports(db) -> None:
    url = reverse("arena-judges")
    assert Client().get(url).status_code == 302
    user = get_user_model().objects.create_user("bob", password="pw")
    client = Client()
    client.force_login(user)
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_judgereport"))
    client.force_login(get_user_model().objects.get(pk=user.pk))
    assert client.get(url).status_code == 200


def test_an_admin_configures_each_kind_of_judge_and_bad_settings_are_refused(
    db, admin_client: Client
) -> None:
    add = reverse("admin:judges_judge_add")
    base = {
        "concurrency": 2,
        "requests_per_minute": 0,
        "timeout_s": 30,
        "seed": 42,
        "tie_margin": 0,
        "input_usd_per_mtok": 0,
        "output_usd_per_mtok": 0,
        "params": "{}",
        "request_template": "{}",
        "is_active": "on",
    }
    bad_llm = admin_client.post(
        add,
        {
            **base,
            "name": "gpt",
            "kind": "llm",
            "provider": "openai",
            "model_id": "gpt-x",
            "prompt_with_execution": "{instruction} {answer_a} {answer_b}",
        },
    )
    assert bad_llm.status_code == 200 and "must contain {execution_a}" in bad_llm.content.decode()
    bad_rm = admin_client.post(
        add,
        {
            **base,
            "name": "rm",
            "kind": "reward",
            "endpoint_url": "http://127.0.0.1:1/score",
            "request_template": '{"x": "{instruction}"}',
            "score_path": "score",
        },
    )
    assert "must contain {answer}" in bad_rm.content.decode()
    for fields in (
        {"name": "gpt", "kind": "llm", "provider": "openai", "model_id": "gpt-x"},
        {
            "name": "rm",
            "kind": "reward",
            "endpoint_url": "http://127.0.0.1:1/score",
            "request_template": '{"text": "{answer}"}',
            "score_path": "data.0.score",
        },
        {"name": "ran-ok", "kind": "baseline", "rule": "execution_succeeded"},
    ):
        assert admin_client.post(add, {**base, **fields}).status_code == 302
    assert set(Judge.objects.values_list("name", flat=True)) == {"gpt", "rm", "ran-ok"}
