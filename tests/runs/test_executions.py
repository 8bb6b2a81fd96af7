from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from arena import jobs
from arena.battles.models import Battle, Response
from arena.raters.models import Rater
from arena.runs.models import Execution
from arena.runs.screenshots import screenshot_take
from arena.runs.services import execution_create, execution_run
from arena.runs.signals import execution_changed

pytestmark = pytest.mark.django_db


def run_code(
    response: Response,
    code: str,
    language: str = "python",
    environment: str = "interpreter",
    stdin: str = "",
) -> Execution:
    execution = execution_create(
        owner=response, code=code, language=language, environment=environment, stdin=stdin
    )
    execution_run(execution.pk)
    execution.refresh_from_db()
    return execution


@pytest.fixture
def response(alice: Rater, make_battle) -> Response:
    return Response.objects.filter(turn__battle=make_battle(alice)).first()


def test_a_program_runs_in_the_sandbox_and_its_output_is_stored(response: Response) -> None:
    execution = run_code(response, "import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert execution.status == Execution.Status.OK
    assert (execution.stdout, execution.stderr) == ("out\n", "err\n")
    assert execution.exit_code == 0
    assert execution.wall_ms is not None and execution.finished_at is not None


def test_a_crash_is_a_runtime_error_with_the_traceback(response: Response) -> None:
    execution = run_code(response, "raise ValueError('boom')")
    assert execution.status == Execution.Status.RUNTIME_ERROR
    assert "ValueError: boom" in execution.stderr
    assert execution.exit_code not in (0, None)


def test_the_sandbox_has_no_network(response: Response) -> None:
    code = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)"
    execution = run_code(response, code)
    assert execution.status == Execution.Status.RUNTIME_ERROR
    assert "OSError" in execution.stderr or "unreachable" in execution.stderr.lower()


def test_a_plot_becomes_an_image_the_rater_can_load(
    response: Response, alice_client: Client, bob_client: Client
) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nprint('drawn')"
    execution = run_code(response, code)
    if "No module named 'matplotlib'" in execution.stderr:
        pytest.fail("the sandbox Python runtime lacks matplotlib: run `python -m executors setup`")
    assert execution.status == Execution.Status.OK, execution.stderr
    image = execution.artifacts.get()
    assert image.mime == "image/png" and bytes(image.data).startswith(b"\x89PNG")
    url = reverse("arena-run-artifact", args=[response.turn.battle_id, image.pk])
    served = alice_client.get(url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert "sandbox" in served["Content-Security-Policy"]
    assert bob_client.get(url).status_code == 404


def test_an_html_answer_is_served_on_the_preview_origin_only(
    response: Response, alice_client: Client, settings
) -> None:
    execution = execution_create(
        owner=response,
        code="<h1>Hi</h1><script>1</script>",
        language="html",
        environment="html",
    )
    execution.refresh_from_db()
    assert execution.status == Execution.Status.OK  # the browser runs it, not us
    path = f"/p/{execution.preview_token}/"
    assert execution.preview_url == settings.PREVIEW_ORIGINS["a"] + path
    preview = alice_client.get(path, HTTP_HOST=preview_host())
    assert preview.status_code == 200
    policy = preview["Content-Security-Policy"]
    assert "allow-forms" in policy and "allow-same-origin" in policy
    assert "allow-top-navigation" not in policy and "allow-popups" not in policy
    assert "connect-src 'self'" in policy and "frame-ancestors http://127.0.0.1:*" in policy
    assert "Set-Cookie" not in preview
    assert b"<h1>Hi</h1>" in preview.content and b"/_vendor/arena-preview.js" in preview.content
    # a form's post and a reload get the page again, never a page that refuses framing
    assert alice_client.post(path, HTTP_HOST=preview_host()).status_code == 200
    missing = alice_client.get("/p/not-a-token/", HTTP_HOST=preview_host())
    assert missing.status_code == 404 and "X-Frame-Options" not in missing
    assert alice_client.get(path).status_code == 404  # not on the arena's origin


def preview_host(side: str = "a") -> str:
    return urlsplit(django_settings.PREVIEW_ORIGINS[side]).netloc


def test_a_page_is_served_on_its_own_side_s_origin_only(response: Response) -> None:
    """A page that navigated its frame to its own token on the other side's origin would
    run there, same-origin with the other side's frame: the token is unknown there."""
    execution = execution_create(
        owner=response, code="<p>b</p>", language="html", environment="html", preview_side="b"
    )
    path = f"/p/{execution.preview_token}/"
    client = Client()
    assert client.get(path, HTTP_HOST=preview_host("b")).status_code == 200
    assert client.get(path, HTTP_HOST=preview_host("a")).status_code == 404
    events = f"{path}events"
    posted = client.post(events, "[]", content_type="application/json", HTTP_HOST=preview_host("a"))
    assert posted.status_code == 404


def test_the_preview_origin_serves_no_arena_page(alice_client: Client, settings) -> None:
    assert alice_client.get("/", HTTP_HOST=preview_host()).status_code == 404
    assert alice_client.get("/admin/", HTTP_HOST=preview_host()).status_code == 404
    vendored = alice_client.get("/_vendor/react.js", HTTP_HOST=preview_host())
    assert vendored.status_code == 200 and vendored["Content-Type"].startswith("text/javascript")
    # The arena under the preview's host name would share the previews' cookie jar.
    moved = alice_client.get("/leaderboard/?x=1", HTTP_HOST="localhost:8000")
    assert (
        moved.status_code == 302 and moved["Location"] == "http://127.0.0.1:8000/leaderboard/?x=1"
    )


def test_a_preview_reports_its_telemetry(response: Response, client: Client, settings) -> None:
    execution = execution_create(
        owner=response, code="<p>x</p>", language="html", environment="html"
    )
    events = [
        {"kind": "load", "at": "2026-12-01T10:00:00.000Z", "data": {"width": 800}},
        {"kind": "click", "at": "2026-12-01T10:00:01.500Z", "data": {"x": 3, "y": 4}},
        {"kind": "shell", "at": "whenever", "data": {}},  # not a kind: dropped
        {"kind": "key", "at": "not a time", "data": "not a dict"},
    ]
    posted = client.post(
        f"/p/{execution.preview_token}/events",
        data=json.dumps(events),
        content_type="application/json",
        HTTP_HOST=preview_host(),
    )
    assert posted.status_code == 204
    stored = list(execution.events.values_list("kind", "data", "client_at"))
    assert [(kind, data) for kind, data, _ in stored] == [
        ("load", {"width": 800}),
        ("click", {"x": 3, "y": 4}),
        ("key", {}),
    ]
    assert stored[1][2] is not None and stored[2][2] is None
    bad = client.post(
        f"/p/{execution.preview_token}/events",
        data="{",
        content_type="application/json",
        HTTP_HOST=preview_host(),
    )
    assert bad.status_code == 400


def test_a_react_build_failure_is_stored_as_one_with_the_compilers_message(
    response: Response,
) -> None:
    execution = run_code(
        response, "export default function App() { return <div>; }\n", "jsx", "react"
    )
    assert execution.status == Execution.Status.COMPILE_ERROR
    assert "error:" in execution.stderr and "App.jsx" in execution.stderr
    assert execution.page == "" and not execution.has_preview


def test_a_react_component_is_built_into_a_page(response: Response) -> None:
    execution = run_code(
        response, "export default function App() { return <p>Hello</p>; }\n", "jsx", "react"
    )
    assert execution.status == Execution.Status.OK, execution.stderr
    assert "/_vendor/react.js" in execution.page and "Hello" in execution.page


def test_stdin_reaches_the_program(response: Response) -> None:
    execution = run_code(response, "print(input()[::-1])\n", stdin="arena\n")
    assert execution.status == Execution.Status.OK, execution.stderr
    assert execution.stdout == "anera\n"


def test_a_restarted_worker_fails_what_it_left_running(alice: Rater, make_battle) -> None:
    earlier = timezone.now() - timedelta(minutes=1)  # claimed in the worker's previous life
    battle = make_battle(alice, answers=Response.Status.STREAMING)
    streaming = Response.objects.filter(turn__battle=battle)
    streaming.update(claimed_by="celery:host-1", started_at=earlier)
    done = make_battle(alice)
    execution = Execution.objects.create(
        owner=Response.objects.filter(turn__battle=done).first(),
        code="x",
        language="python",
        status=Execution.Status.RUNNING,
        claimed_by="celery:host-1",
        started_at=earlier,
    )
    other = Execution.objects.create(
        owner=execution.owner,
        code="y",
        language="python",
        status=Execution.Status.RUNNING,
        claimed_by="celery:host-2",
        started_at=earlier,
    )
    restarted_at = timezone.now()
    new = Execution.objects.create(  # claimed by the restarted worker before its recovery ran
        owner=execution.owner,
        code="z",
        language="python",
        status=Execution.Status.RUNNING,
        claimed_by="celery:host-1",
        started_at=restarted_at + timedelta(milliseconds=5),
    )
    changed = jobs.recover_orphans("celery:host-1", restarted_at)
    assert (changed["runs.execute"], changed["battles.generate"]) == (1, 2)
    for row in (execution, other, new):
        row.refresh_from_db()
    assert execution.status == Execution.Status.FAILED and "restarted" in execution.error
    assert other.status == Execution.Status.RUNNING  # another worker's
    assert new.status == Execution.Status.RUNNING  # this worker's own, of its new life
    assert set(streaming.values_list("status", flat=True)) == {"failed"}
    assert Battle.objects.get(pk=battle.pk).status == Battle.Status.VOID


def test_runs_know_nothing_of_battles_any_row_can_own_an_execution(alice: Rater) -> None:
    """The lower layer: an execution owned by something that is not a battle's answer
    runs the same, and its owner hears of every change through the signal."""
    heard: list[str] = []

    def listen(execution: Execution, **_: object) -> None:
        heard.append(Execution.objects.get(pk=execution.pk).status)

    execution_changed.connect(listen)
    try:
        execution = execution_create(
            owner=alice, code="print(6 * 7)", language="python", environment="interpreter"
        )
        execution_run(execution.pk)
    finally:
        execution_changed.disconnect(listen)
    execution.refresh_from_db()
    assert execution.owner == alice
    assert (execution.status, execution.stdout) == (Execution.Status.OK, "42\n")
    assert heard[0] == Execution.Status.RUNNING and heard[-1] == Execution.Status.OK


def test_every_job_is_registered_by_name_with_its_recovery() -> None:
    assert jobs.names() == [
        "battles.generate",
        "exports.run",
        "judges.auto_arena",
        "judges.run",
        "ratings.flag_outliers",
        "ratings.refresh",
        "runs.execute",
        "runs.screenshot",
    ]
    assert jobs.get("runs.execute").recover is not None
    with pytest.raises(LookupError):
        jobs.enqueue("runs.no-such-job", 1)


def test_a_preview_gets_a_screenshot_after_load(response: Response) -> None:
    execution = execution_create(
        owner=response,
        code="<h1 style='color: red'>Screenshot me</h1>",
        language="html",
        environment="html",
    )
    screenshot_take(execution.pk)
    shot = execution.artifacts.get(name="screenshot.png")
    assert shot.mime == "image/png" and bytes(shot.data).startswith(b"\x89PNG")
    assert shot.size > 1000


def test_install_lines_are_honoured_from_the_sandbox_or_the_operators_index(
    response: Response, settings, tmp_path
) -> None:
    from tests.package_index import GREETING, serve_greeting_index

    code = "import numpy, arena_greeting\nprint(arena_greeting.GREETING)\n"
    wanted = ["numpy", "arena-greeting"]
    without = execution_create(
        owner=response, code=code, language="python", environment="interpreter", packages=wanted
    )
    execution_run(without.pk)
    without.refresh_from_db()
    assert without.status == Execution.Status.RUNTIME_ERROR  # no index: nothing to install from
    assert "not available" in without.packages_note and "arena-greeting" in without.packages_note
    assert "preinstalled: numpy" in without.packages_note

    with serve_greeting_index(tmp_path) as index:
        settings.SANDBOX_PIP_INDEX = index
        with_index = execution_create(
            owner=response, code=code, language="python", environment="interpreter", packages=wanted
        )
        execution_run(with_index.pk)
    with_index.refresh_from_db()
    assert with_index.status == Execution.Status.OK, with_index.stderr
    assert with_index.stdout == GREETING + "\n"
    assert "installed from the package index: arena-greeting" in with_index.packages_note
