"""The automatic arena end to end in embedded mode: two models on a local OpenAI-protocol
server, the baseline on a local Anthropic-protocol server, a judge on another OpenAI
server that reads the evidence. Programs run in the real sandbox, the page is built and
screenshotted by the real Chromium, and the judge receives the screenshot."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from arena.judges.autoarena import auto_arena_start, load_prompt_set, recover_auto_arena
from arena.judges.autoscore import Game, auto_board
from arena.judges.models import AutoAnswer, AutoArenaRun, AutoJudgement, Judge, JudgingRun
from arena.llms.models import LanguageModel
from arena.runs.models import Artifact, Execution
from tests.fakes import RecordedRequest, Reply, anthropic_server, markdown, openai_server
from tests.fakes import text_answer as answer_of
from tests.judges.conftest import B_EXECUTION_HEADER

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_jobs")]

PROMPTS = [
    {"slug": "sum", "prompt": "Print the sum of 20 and 22.", "category": "algorithms"},
    {"slug": "square", "prompt": "Print 6 times 7.", "category": "algorithms"},
    {"slug": "count", "prompt": "Print the number of letters in 'forty-two'.", "category": "data"},
    {"slug": "page", "prompt": "Make a web page that greets the reader.", "category": "web"},
]
A_EXECUTION_HEADER = "<|Execution of Assistant A's Program|>"
PAGE = "<!DOCTYPE html><html><body><h1>Hello, reader</h1></body></html>"


def candidate(request: RecordedRequest) -> Reply:
    """'good-model' prints CORRECT; 'bad-model' crashes; both write the same page."""
    if "web page" in request.prompt:
        return answer_of(markdown(PAGE, language="html"), size=64)
    if request.body["model"] == "good-model":
        return answer_of(markdown('print("CORRECT 42")'), size=64)
    return answer_of(markdown("raise SystemExit(solve())"), size=64)


def baseline(request: RecordedRequest) -> Reply:
    """Runs fine but prints the wrong thing."""
    if "web page" in request.prompt:
        return answer_of(markdown(PAGE, language="html"), size=64)
    return answer_of(markdown('print("WRONG 41")'), size=64)


def referee(request: RecordedRequest) -> Reply:
    """With evidence: the program that printed CORRECT wins outright, else the one that
    ran; blind: always the first answer (a position bias the two orders cancel)."""
    prompt = request.prompt
    if B_EXECUTION_HEADER not in prompt:
        return answer_of("Cannot tell without running them. [[A>B]]")
    a_run = prompt.split(A_EXECUTION_HEADER)[1].split("<|The Start of Assistant B's Answer|>")[0]
    b_run = prompt.split(B_EXECUTION_HEADER)[1]
    if "CORRECT" in a_run:
        return answer_of("A printed the right result. [[A>>B]]")
    if "CORRECT" in b_run:
        return answer_of("B printed the right result. [[B>>A]]")
    a_ok, b_ok = "Status: ok" in a_run, "Status: ok" in b_run
    if a_ok != b_ok:
        return answer_of("Only one ran. " + ("[[A>B]]" if a_ok else "[[B>A]]"))
    return answer_of("The same. [[A=B]]")


@pytest.fixture
def arena_setup(db: None, settings: Any) -> Any:
    settings.AUTO_ARENA_SCREENSHOT_WAIT_S = 60

    def make(models_url: str, baseline_url: str, judge_url: str) -> dict[str, Any]:
        prompt_set = load_prompt_set("tiny", "four prompts", PROMPTS)
        good, bad = (
            LanguageModel.objects.create(
                name=name, provider="openai", model_id=name, base_url=models_url
            )
            for name in ("good-model", "bad-model")
        )
        base = LanguageModel.objects.create(
            name="base-model", provider="anthropic", model_id="claude-x", base_url=baseline_url
        )
        judge = Judge.objects.create(
            name="referee",
            kind=Judge.Kind.LLM,
            provider="openai",
            model_id="judge-1",
            base_url=judge_url,
            send_screenshots=True,
            concurrency=4,
        )
        return {
            "prompt_set": prompt_set,
            "candidates": [good, bad],
            "baseline": base,
            "judge": judge,
        }

    return make


def wait_for(run: AutoArenaRun, timeout: float = 180) -> AutoArenaRun:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.is_finished:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run.pk} did not finish: {run.status} {run.stage}")
        time.sleep(0.1)


def scores(run: AutoArenaRun, mode: str) -> dict[str, float]:
    return {row["model"]: row["score"] for row in run.board["modes"][mode]["rows"]}


def test_generate_execute_judge_both_orders_and_score_then_the_ablation_and_a_rerun(
    arena_setup: Any,
) -> None:
    with (
        openai_server(default=candidate) as models_srv,
        anthropic_server(default=baseline) as base_srv,
        openai_server(default=referee) as judge_srv,
    ):
        setup = arena_setup(models_srv.base_url, base_srv.origin, judge_srv.base_url)
        run = wait_for(auto_arena_start(**setup, modes=JudgingRun.Modes.WITH))
        assert run.status == "done", run.error

        # Generated: every prompt by every model, the baseline's through Anthropic.
        answers = AutoAnswer.objects.filter(prompt__prompt_set=setup["prompt_set"])
        assert answers.count() == 12 and set(answers.values_list("status", flat=True)) == {"done"}
        assert (models_srv.attempts, base_srv.attempts) == (8, 4)
        # Executed in the sandbox, each run owned by its answer row.
        statuses = {(a.model.name, a.prompt.slug): a.executions.get().status for a in answers}
        assert statuses[("good-model", "sum")] == "ok"
        assert statuses[("bad-model", "sum")] == "runtime_error"
        assert statuses[("base-model", "sum")] == "ok"
        good_sum = answers.get(model__name="good-model", prompt__slug="sum").executions.get()
        assert good_sum.stdout == "CORRECT 42\n"
        # The page was built and screenshotted, and the judge was sent the screenshot.
        page_run = answers.get(model__name="good-model", prompt__slug="page").executions.get()
        shot = Artifact.objects.get(execution=page_run, name="screenshot.png")
        assert bytes(shot.data).startswith(b"\x89PNG")
        page_requests = [r for r in judge_srv.requests if "greets the reader" in r.prompt]
        assert len(page_requests) == 4  # two models x two orders
        for request in page_requests:
            parts = request.messages[-1]["content"]
            images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
            assert len(images) == 2  # A's page, then B's
            assert base64.b64decode(images[0].split(",", 1)[1]).startswith(b"\x89PNG")
        # Judged in both orders against the baseline: 2 models x 4 prompts x 2 orders.
        rows = AutoJudgement.objects.filter(judge=setup["judge"], evidence="with")
        assert rows.count() == 16 and judge_srv.attempts == 16
        good_sum_rows = rows.filter(answer__model__name="good-model", answer__prompt__slug="sum")
        assert set(good_sum_rows.values_list("order", "label")) == {
            ("ab", "model_a"),
            ("ba", "model_a"),  # the judge said B>>A with the sides swapped
        }
        # The board: win rate against the baseline, strong verdicts weighted, intervals.
        board = run.board["modes"]["with"]
        assert scores(run, "with") == {
            # 3 prompts won strongly (3 games each, both orders) and the page a tie.
            "good-model": pytest.approx(100 * (18 + 1) / 20),
            "base-model": 50.0,
            "bad-model": pytest.approx(100 * 1 / 8),  # 3 losses (weight 1) x 2, page tie x 2
        }
        good_row = next(r for r in board["rows"] if r["model"] == "good-model")
        assert good_row["lower"] <= good_row["score"] <= good_row["upper"]
        assert good_row["strong"] == 6 and (good_row["wins"], good_row["ties"]) == (6, 2)
        assert [r["model"] for r in board["rows"]] == ["good-model", "base-model", "bad-model"]

        # The ablation, from the command: the same answers, no execution evidence at all.
        before = (models_srv.attempts, base_srv.attempts, judge_srv.attempts)
        call_command(
            "auto_arena",
            "--prompt-set=tiny",
            "--models=good-model,bad-model",
            "--baseline=base-model",
            "--judge=referee",
            "--no-execution",
        )
        blind = AutoArenaRun.objects.latest("pk")
        assert blind.status == "done" and blind.modes == "without"
        assert (models_srv.attempts, base_srv.attempts) == before[:2]  # answers reused
        assert judge_srv.attempts == before[2] + 16
        blind_requests = judge_srv.requests[before[2] :]
        for request in blind_requests:
            assert B_EXECUTION_HEADER not in request.prompt
            assert "Status:" not in request.prompt
            assert isinstance(request.messages[-1]["content"], str)  # no screenshots
        assert all(B_EXECUTION_HEADER in r.prompt for r in judge_srv.requests[: before[2]])
        assert scores(blind, "without") == {  # the position bias cancels out
            "good-model": 50.0,
            "bad-model": 50.0,
            "base-model": 50.0,
        }

        # A rerun of the first run's setup asks nobody anything and gives the same board.
        attempts = (models_srv.attempts, base_srv.attempts, judge_srv.attempts)
        executions = Execution.objects.count()
        again = wait_for(auto_arena_start(**setup, modes=JudgingRun.Modes.WITH))
        assert (models_srv.attempts, base_srv.attempts, judge_srv.attempts) == attempts
        assert Execution.objects.count() == executions
        assert again.board["modes"]["with"]["rows"] == board["rows"]


def test_a_killed_worker_resumes_where_it_stopped(arena_setup: Any) -> None:
    """A worker died mid-run: its restart puts its claimed answer and judgements back and
    queues the run again, which asks only for those."""
    with (
        openai_server(default=candidate) as models_srv,
        anthropic_server(default=baseline) as base_srv,
        openai_server(default=referee) as judge_srv,
    ):
        setup = arena_setup(models_srv.base_url, base_srv.origin, judge_srv.base_url)
        run = wait_for(auto_arena_start(**setup, modes=JudgingRun.Modes.WITHOUT))
        first_board = run.board
        attempts = (models_srv.attempts, base_srv.attempts, judge_srv.attempts)
        # What the dead worker held: the run, two judgements in flight.
        dead, earlier = "judges@dead", timezone.now()
        in_flight = list(AutoJudgement.objects.order_by("pk")[:2].values_list("pk", flat=True))
        AutoJudgement.objects.filter(pk__in=in_flight).update(
            status="running", claimed_by=dead, started_at=earlier
        )
        AutoArenaRun.objects.filter(pk=run.pk).update(
            status="running", claimed_by=dead, started_at=earlier
        )
        assert recover_auto_arena(dead, timezone.now()) == 3
        resumed = wait_for(run)
        assert resumed.status == "done"
        assert (models_srv.attempts, base_srv.attempts) == attempts[:2]
        assert judge_srv.attempts == attempts[2] + 2  # only the two in flight
        assert AutoJudgement.objects.filter(pk__in=in_flight, attempts=2).count() == 2
        assert resumed.board["modes"] == first_board["modes"]


def test_the_score_weights_strong_verdicts_three_times_and_resamples_prompts() -> None:
    games = [
        Game("m", "p1", "model_a", strong=True),  # 3 wins
        Game("m", "p1", "model_b"),  # 1 loss
        Game("m", "p2", "tie"),
        Game("m", "p2", "both_bad"),  # a tie too
    ]
    board = auto_board(games, "base", rounds=200, seed=1)
    row = next(r for r in board["rows"] if r["model"] == "m")
    assert row["score"] == pytest.approx(100 * (3 + 0 + 0.5 + 0.5) / 6)
    assert (row["wins"], row["ties"], row["losses"], row["strong"]) == (1, 2, 1, 1)
    # Resampling two prompts: p1 twice (75%), p2 twice (50%), one of each (4/6).
    assert 50.0 <= row["lower"] <= row["score"] <= row["upper"] <= 75.0
    assert board["rows"][-1] == {**board["rows"][-1], "model": "base", "score": 50.0}
    assert auto_board(games, "base", rounds=200, seed=1) == board  # seeded


def test_the_page_refuses_bad_choices_with_the_form_and_starts_nothing(
    arena_setup: Any, staff_client: Any
) -> None:
    setup = arena_setup("http://127.0.0.1:9/v1", "http://127.0.0.1:9", "http://127.0.0.1:9/v1")
    base = setup["baseline"]
    form = {
        "prompt_set": setup["prompt_set"].pk,
        "candidates": [base.pk],  # only the baseline
        "baseline": base.pk,
        "judge": setup["judge"].pk,
        "modes": "both",
    }
    page = staff_client.post("/research/judges/auto/new", form)
    assert page.status_code == 400
    assert "Pick at least one model besides the baseline." in page.content.decode()
    page = staff_client.post("/research/judges/auto/new", {**form, "prompt_set": "nope"})
    assert page.status_code == 400 and "Select a valid choice" in page.content.decode()
    assert not AutoArenaRun.objects.exists()
    assert staff_client.get("/research/judges/auto/").status_code == 200
    assert staff_client.get("/research/judges/auto/999/").status_code == 404


def test_the_automatic_arena_is_for_researchers_only(client: Any, django_user_model: Any) -> None:
    assert client.get("/research/judges/auto/").status_code == 302  # to the admin login
    client.force_login(django_user_model.objects.create_user("eve", password="pw"))
    assert client.get("/research/judges/auto/").status_code == 403
    assert client.post("/research/judges/auto/new", {}).status_code == 403
