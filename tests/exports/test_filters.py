from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from datetime import date

import pytest

from arena.battles.models import Battle, Vote
from arena.exports.filters import ExportFilters, FilterError
from arena.exports.forms import ExportAdminForm, ExportForm
from arena.exports.management.commands.export_votes import Command
from arena.llms.models import LanguageModel
from arena.raters.models import Rater

pytestmark = pytest.mark.django_db


@pytest.fixture
def votes(
    alice: Rater, make_model: Callable[..., LanguageModel], make_vote: Callable[..., Vote]
) -> dict[str, Vote]:
    atlas, basil, cedar = (make_model(name=n) for n in ("atlas", "basil", "cedar"))
    return {
        "early": make_vote(
            alice,
            minutes=-2 * 24 * 60,
            model_a=atlas,
            model_b=basil,
            category="web",
            language="javascript",
            environment="html",
        ),
        "today": make_vote(
            alice,
            model_a=basil,
            model_b=cedar,
            category="algorithms",
            language="python",
            environment="interpreter",
        ),
        "late": make_vote(
            alice, minutes=3 * 24 * 60, model_a=cedar, model_b=atlas, is_anonymous=False
        ),
        "invalid": make_vote(alice, minutes=10, model_a=atlas, model_b=cedar),
    }


def exported(export, **filters: object) -> set[int]:
    path = export("jsonl", ExportFilters(**filters)).data_file
    return {json.loads(line)["vote_id"] for line in path.read_text().splitlines()}


def ids(votes: dict[str, Vote], *names: str) -> set[int]:
    return {votes[name].pk for name in names}


def test_date_range_includes_both_days(votes: dict[str, Vote], export) -> None:
    assert exported(export, since=date(2026, 3, 1), until=date(2026, 3, 1)) == ids(
        votes, "today", "invalid"
    )
    assert exported(export, until=date(2026, 2, 27)) == ids(votes, "early")
    assert exported(export, since=date(2026, 3, 4)) == ids(votes, "late")


def test_models_select_battles_with_either_side(votes: dict[str, Vote], export) -> None:
    assert exported(export, models=("basil",)) == ids(votes, "early", "today")


def test_category_language_environment(votes: dict[str, Vote], export) -> None:
    assert exported(export, category="web") == ids(votes, "early")
    assert exported(export, language="python") == ids(votes, "today")
    assert exported(export, environment="html") == ids(votes, "early")


def test_valid_and_anonymous_only(votes: dict[str, Vote], export) -> None:
    votes["invalid"].invalidate("duplicate")
    assert exported(export, valid_only=True) == ids(votes, "early", "today", "late")
    assert exported(export, anonymous_only=True) == ids(votes, "early", "today", "invalid")
    assert exported(export, counted_only=True) == ids(votes, "early", "today")
    rows = [json.loads(line) for line in export("jsonl").data_file.read_text().splitlines()]
    row = next(r for r in rows if r["vote_id"] == votes["invalid"].pk)
    assert (row["is_valid"], row["invalid_reason"]) == (False, "duplicate")


def test_filters_survive_a_round_trip_through_json() -> None:
    filters = ExportFilters(since=date(2026, 1, 1), models=("b", "a"), valid_only=True)
    assert ExportFilters.from_dict(json.loads(json.dumps(filters.to_dict()))) == ExportFilters(
        since=date(2026, 1, 1), models=("a", "b"), valid_only=True
    )


def test_a_reversed_range_is_refused() -> None:
    with pytest.raises(FilterError, match="is after"):
        ExportFilters(since=date(2026, 2, 1), until=date(2026, 1, 1))


def test_the_form_the_command_line_and_stored_json_give_the_same_filters(
    make_model: Callable[..., LanguageModel], alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    for name in ("atlas", "basil"):
        make_model(name=name)
    make_battle(alice, category="web", language="python", environment="html", runs=False)
    expected = ExportFilters(
        since=date(2026, 1, 1),
        until=date(2026, 1, 31),
        models=("atlas", "basil"),
        category="web",
        language="python",
        environment="html",
        valid_only=True,
        anonymous_only=True,
        counted_only=True,
    )
    form = ExportForm(
        {
            "format": "jsonl",
            "since": "2026-01-01",
            "until": "2026-01-31",
            "models": ["basil", "atlas"],
            "category": "web",
            "language": "python",
            "environment": "html",
            "valid_only": "on",
            "anonymous_only": "on",
            "counted_only": "on",
        }
    )
    assert form.is_valid(), form.errors
    args = "--since 2026-01-01 --until 2026-01-31 --models basil --models atlas,basil "
    args += "--category web --language python --environment html "
    args += "--valid-only --anonymous-only --counted --format jsonl --output x"
    options = vars(Command().create_parser("manage.py", "export_votes").parse_args(args.split()))
    assert form.filters == ExportFilters.from_dict(options) == expected
    assert ExportFilters.from_dict(json.loads(json.dumps(expected.to_dict()))) == expected


def test_every_filter_is_on_the_form_and_on_the_command_line() -> None:
    names = [f.name for f in fields(ExportFilters)]
    assert list(ExportForm().fields) == ["format", *names]
    assert list(ExportAdminForm().fields) == ["format", *names]
    parser = Command().create_parser("manage.py", "export_votes")
    parsed = vars(parser.parse_args(["--format", "csv", "--output", "x"]))
    assert set(names) <= set(parsed)
    assert ExportFilters.from_dict(parsed) == ExportFilters()


def test_a_replayed_battle_names_its_original_and_only_counted_exports_leave_it_out(
    votes: dict[str, Vote], export
) -> None:
    from arena.battles.models import Battle

    original, replay = votes["early"], votes["today"]
    Battle.objects.filter(pk=replay.battle_id).update(
        replay_of=original.battle_id, sides_swapped=True
    )
    path = export("jsonl", ExportFilters()).data_file
    rows = {row["vote_id"]: row for row in map(json.loads, path.read_text().splitlines())}
    assert rows[replay.pk]["replay_of"] == str(original.battle_id)
    assert rows[replay.pk]["replay_swapped"] is True
    assert rows[original.pk]["replay_of"] == "" and rows[original.pk]["replay_swapped"] is False
    assert replay.pk not in exported(export, counted_only=True)


def test_an_unknown_category_is_refused_not_exported_empty(
    alice: Rater, make_battle: Callable[..., Battle]
) -> None:
    make_battle(alice, category="web", runs=False)
    with pytest.raises(FilterError, match="no battle has category “wbe”; known: “web”"):
        ExportFilters.from_dict({"category": "wbe"})
    assert ExportFilters.from_dict({"category": "web"}).category == "web"
