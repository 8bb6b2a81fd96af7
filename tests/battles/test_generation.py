from __future__ import annotations

import pytest
from django.test import Client

from arena.battles.generation import MODEL_FAILURE_LIMIT, generate_response
from arena.battles.models import Battle, Response, Turn
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.runs.models import Execution
from tests.fakes import Answer, HttpError, markdown_answer, openai_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_battle(alice: Rater, make_model, make_battle):
    """A battle whose model A speaks the OpenAI protocol to a local server."""

    def make(base_url: str) -> Response:
        model_a = make_model(provider="openai", model_id="coder-1", base_url=base_url)
        battle = make_battle(alice, model_a=model_a, answers=Response.Status.PENDING)
        return Response.objects.get(turn__battle=battle, side="a")

    return make


def test_an_answer_is_stored_with_its_code_and_timings(api_battle) -> None:
    with openai_server(markdown_answer("print('hi')")) as server:
        response = api_battle(server.base_url)
        generate_response(response.pk)
    response.refresh_from_db()
    assert response.status == Response.Status.DONE
    assert "print('hi')" in response.text
    assert (response.code, response.code_language) == ("print('hi')\n", "python")
    assert response.ttft_ms is not None and response.total_ms is not None
    assert response.output_tokens is not None
    execution = Execution.objects.get(response=response)
    assert (execution.status, execution.language, execution.code) == (
        "queued",
        "python",
        "print('hi')\n",
    )
    battle = response.turn.battle
    battle.refresh_from_db()
    assert (battle.language, battle.environment) == ("python", "interpreter")


def test_the_model_gets_the_system_prompt_and_its_own_history(api_battle, alice: Rater) -> None:
    with openai_server() as server:
        first = api_battle(server.base_url)
        generate_response(first.pk)
        battle = first.turn.battle
        turn = Turn.objects.create(battle=battle, index=1, prompt="Now add comments")
        second = Response.objects.create(turn=turn, side="a", model=first.model)
        generate_response(second.pk)
        messages = server.requests[-1].body["messages"]
    first.refresh_from_db()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "print hello"
    assert messages[2]["content"] == first.text
    assert messages[3]["content"] == "Now add comments"


def test_reasoning_is_kept_but_never_shown(api_battle, alice_client: Client) -> None:
    answer = Answer(reasoning=["secret ", "plan"], text=["```python\nprint(2)\n```"])
    with openai_server(answer) as server:
        response = api_battle(server.base_url)
        generate_response(response.pk)
    response.refresh_from_db()
    assert response.reasoning == "secret plan"
    page = alice_client.get(response.turn.battle.get_absolute_url()).content.decode()
    assert "print" in page and "secret plan" not in page


def test_a_failed_answer_voids_the_battle_and_counts_against_the_model(api_battle) -> None:
    with openai_server(HttpError(401, "bad key")) as server:
        response = api_battle(server.base_url)
        generate_response(response.pk)
    response.refresh_from_db()
    battle = Battle.objects.get(pk=response.turn.battle_id)
    assert response.status == Response.Status.FAILED
    assert "authentication" in response.error.lower()
    assert battle.status == Battle.Status.VOID
    assert "Model A failed" in battle.void_reason
    assert LanguageModel.objects.get(pk=response.model_id).consecutive_failures == 1


def test_a_model_that_keeps_failing_leaves_sampling(api_battle) -> None:
    with openai_server(default=HttpError(401)) as server:
        response = api_battle(server.base_url)
        LanguageModel.objects.filter(pk=response.model_id).update(
            consecutive_failures=MODEL_FAILURE_LIMIT - 1
        )
        generate_response(response.pk)
    model = LanguageModel.objects.get(pk=response.model_id)
    assert model.consecutive_failures == MODEL_FAILURE_LIMIT
    assert model.is_active is False


def test_a_duplicate_delivery_does_nothing(api_battle) -> None:
    with openai_server() as server:
        response = api_battle(server.base_url)
        generate_response(response.pk)
        generate_response(response.pk)
        assert server.attempts == 1


def test_html_in_an_answer_is_rendered_inert(api_battle, alice_client: Client) -> None:
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>\n```html\n<b>hi</b>\n```"
    with openai_server(Answer(text=[evil])) as server:
        response = api_battle(server.base_url)
        generate_response(response.pk)
    page = alice_client.get(response.turn.battle.get_absolute_url()).content.decode()
    assert "<script>alert('x')</script>" not in page
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;" in page


def claude_answers(text: str, rater: Rater, make_model, make_battle) -> Battle:
    """A battle whose side A, a model of Anthropic's, answers `text`; side B is done."""
    with openai_server(Answer(text=[text])) as server:
        model = make_model(
            name="claude-test",
            provider="openai",
            model_id="claude-3-5",
            organization="Anthropic",
            base_url=server.base_url,
        )
        battle = make_battle(rater, model_a=model, answers=Response.Status.PENDING)
        Response.objects.filter(turn__battle=battle, side="b").update(status="done")
        generate_response(Response.objects.get(turn__battle=battle, side="a").pk)
    battle.refresh_from_db()
    return battle


def test_a_model_naming_its_maker_makes_the_battle_non_anonymous(
    alice: Rater, make_model, make_battle
) -> None:
    from arena.battles.services import vote_record
    from arena.ratings.snapshots import counted_votes

    battle = claude_answers(
        "I am Claude, made by Anthropic.\n```python\nprint(1)\n```", alice, make_model, make_battle
    )
    assert battle.is_anonymous is False
    assert "Model A named itself" in battle.anonymity_note
    Execution.objects.update(status="ok")
    vote = vote_record(battle=battle, winner="model_a")
    assert vote.is_valid and not counted_votes().exists()  # stored, not counted


def test_library_names_inside_code_are_not_an_identity_leak(
    alice: Rater, make_model, make_battle
) -> None:
    battle = claude_answers(
        "Here:\n```python\nimport anthropic\nprint(1)\n```", alice, make_model, make_battle
    )
    assert battle.is_anonymous is True


def test_a_generation_is_not_started_for_a_rater_who_left(api_battle, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    with openai_server() as server:
        response = api_battle(server.base_url)
        long_ago = timezone.now() - timedelta(seconds=settings.RATER_GONE_SECONDS + 1)
        Battle.objects.filter(pk=response.turn.battle_id).update(seen_at=long_ago)
        generate_response(response.pk)
        assert server.attempts == 0
    response.refresh_from_db()
    assert response.status == Response.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_a_generation_stops_mid_stream_when_the_rater_leaves(api_battle, settings) -> None:
    import threading
    import time
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    slow = Answer(text=["```python\n"] + ["print(1)\n"] * 500 + ["```"], delay_s=0.02)
    with openai_server(slow) as server:
        response = api_battle(server.base_url)
        job = threading.Thread(target=lambda: (generate_response(response.pk), connection.close()))
        job.start()
        deadline = time.monotonic() + 10
        while "print(1)" not in Response.objects.get(pk=response.pk).text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        long_ago = timezone.now() - timedelta(seconds=settings.RATER_GONE_SECONDS + 1)
        Battle.objects.filter(pk=response.turn.battle_id).update(seen_at=long_ago)
        job.join(10)
        assert server.wait_for_disconnect(5)  # the HTTP stream was released early
    response.refresh_from_db()
    assert response.status == Response.Status.CANCELLED
    assert 0 < response.text.count("print(1)") < 500
    assert Battle.objects.get(pk=response.turn.battle_id).status == Battle.Status.VOID


def test_each_side_s_page_is_served_on_that_side_s_preview_origin(
    make_model, make_battle, alice: Rater, settings
) -> None:
    """Two frames of one origin can script each other: side A's page must not reach
    side B's, so each side's runs are served from the side's own origin."""
    page = "<!DOCTYPE html><html><body><p>hi</p></body></html>"
    with openai_server(markdown_answer(page, language="html")) as server:
        models = [
            make_model(provider="openai", model_id=f"coder-{n}", base_url=server.base_url)
            for n in (1, 2)
        ]
        battle = make_battle(
            alice, model_a=models[0], model_b=models[1], answers=Response.Status.PENDING
        )
        for response in Response.objects.filter(turn__battle=battle):
            generate_response(response.pk)
    runs = {r.side: r.executions.get() for r in Response.objects.filter(turn__battle=battle)}
    assert {side: run.preview_side for side, run in runs.items()} == {"a": "a", "b": "b"}
    assert runs["a"].preview_url.startswith(settings.PREVIEW_ORIGINS["a"] + "/p/")
    assert runs["b"].preview_url.startswith(settings.PREVIEW_ORIGINS["b"] + "/p/")
    assert settings.PREVIEW_ORIGINS["a"] != settings.PREVIEW_ORIGINS["b"]
