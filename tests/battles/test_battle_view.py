"""The battle page's view model: what the panes show and the vote rule come from one
reading of the database (issue 15, finding 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from arena.battles.models import Battle, Turn
from arena.battles.selectors import battle_view
from arena.raters.models import Rater
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db


def test_a_run_finishing_while_the_page_renders_cannot_enable_the_vote_alone(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    battle = make_battle(alice)
    Execution.objects.update(status=Execution.Status.RUNNING)
    finished: list[str] = []

    def finish_right_after_the_panes_read_the_runs(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if not finished and sql.lstrip().startswith("SELECT") and '"runs_execution"' in sql:
            finished.append(sql)  # the worker stores the results between two queries
            Execution.objects.update(status=Execution.Status.OK)
        return result

    with connection.execute_wrapper(finish_right_after_the_panes_read_the_runs):
        view = battle_view(battle.pk)
    assert finished
    shown = [run.status for turn in view.turns for side in turn.sides for run in side.runs]
    assert shown == [Execution.Status.RUNNING] * 2  # the panes say "running"...
    assert not view.can_vote  # ...so the buttons, sent in the same update, stay off
    assert view.vote_blocker == "Wait until both programs have finished running."
    assert battle_view(battle.pk).can_vote  # the next update shows both, together


def test_runs_are_named_by_whose_code_they_ran(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    battle = make_battle(alice)
    first = Execution.objects.first()
    assert first is not None
    for code, edited in (("print(2)", True), ("print('hello from a')\n", False), ("x", True)):
        Execution.objects.create(
            owner=first.owner, code=code, language="python", is_edited=edited, status="ok"
        )
    side = next(s for s in battle_view(battle.pk).turns[0].sides if s.response.pk == first.owner_id)
    assert side.first_run is not None and side.latest_rerun is not None
    assert side.first_run.label == "the answer's program (run 1)"
    assert side.latest_rerun.label == "your edit (run 4)"
    assert [r.label for r in side.earlier_reruns] == [
        "re-run, code unchanged (run 3)",
        "your edit (run 2)",
    ]
    assert side.editor_open and side.editor_code == "x"


def test_demo_battles_name_the_recorded_request_each_turn_replays(
    alice: Rater, alice_client: Any, make_battle: Callable[..., Battle], make_model: Any
) -> None:
    battle = make_battle(alice)
    battle.turns.update(prompt="a todo list page that survives reload")
    Turn.objects.create(battle=battle, index=1, prompt="add comments please")
    recorded = (
        "Build a to-do list app in a single HTML file: add tasks, mark them done, delete "
        "them, and keep them in localStorage so they survive a reload."
    )
    # A generic follow-up replays the first request again, as the demo models do.
    assert [t.demo_request for t in battle_view(battle.pk).turns] == [recorded, recorded]
    page = alice_client.get(f"/battles/{battle.pk}/").content.decode()
    assert "both answers are recordings for “Build a to-do list app" in page

    live = make_battle(alice, model_b=make_model(provider="openai", model_id="gpt-x"))
    assert [t.demo_request for t in battle_view(live.pk).turns] == [""]
    page = alice_client.get(f"/battles/{live.pk}/").content.decode()
    assert "both answers are recordings" not in page
