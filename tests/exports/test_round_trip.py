"""An export run through `python -m arena.ratings` gives the site's own snapshot."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings

from arena.battles.models import Vote
from arena.exports.filters import ExportFilters
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.ratings.snapshots import latest_snapshot, refresh_leaderboards

pytestmark = pytest.mark.django_db
COMPARED = ("bt", "bt_ci_low", "bt_ci_high", "elo")


@pytest.fixture
def season(
    alice: Rater,
    bob: Rater,
    make_model: Callable[..., LanguageModel],
    make_vote: Callable[..., Vote],
) -> None:
    """60 votes among 4 models in two categories, plus votes the boards must not count."""
    rng = random.Random(7)
    models = [make_model(name=f"m{i}") for i in range(4)]
    strength = {m.name: i for i, m in enumerate(models)}
    for n in range(60):
        a, b = rng.sample(models, 2)
        p_a = 0.5 + 0.1 * (strength[a.name] - strength[b.name])
        winner = rng.choices(
            ["model_a", "model_b", "tie", "both_bad"], [p_a * 0.8, (1 - p_a) * 0.8, 0.1, 0.1]
        )[0]
        make_vote(
            rng.choice([alice, bob]),
            winner=winner,
            minutes=n * 7 % 60 + n / 100,
            model_a=a,
            model_b=b,
            category=rng.choice(["web", "algorithms"]),
            sampling_prob=rng.choice([1 / 12, 1 / 6]),
        )
    make_vote(alice, model_a=models[0], model_b=models[1], minutes=90, is_anonymous=False)
    make_vote(bob, model_a=models[0], model_b=models[2], minutes=91).invalidate("spam")
    refresh_leaderboards()


def ratings_cli(path: Path) -> list[dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "arena.ratings",
            str(path),
            "--format",
            "json",
            "--bootstrap",
            str(settings.LEADERBOARD_BOOTSTRAP),
            "--seed",
            "42",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    return json.loads(done.stdout)["models"]


def assert_same_board(cli: list[dict], snapshot: list[dict]) -> None:
    assert [m["model"] for m in cli] == [m["model"] for m in snapshot]
    for mine, site in zip(cli, snapshot, strict=True):
        assert (mine["battles"], mine["rank_ub"]) == (site["battles"], site["rank_ub"])
        for field in COMPARED:
            assert mine[field] == pytest.approx(site[field], rel=1e-9, abs=1e-9), field


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_the_ratings_cli_on_an_export_reproduces_the_overall_snapshot(
    fmt: str, season: None, export
) -> None:
    result = export(fmt, ExportFilters(counted_only=True))
    snapshot = latest_snapshot("overall")
    assert snapshot is not None and result.rows == snapshot.n_votes == 60
    assert_same_board(ratings_cli(result.data_file), snapshot.data["models"])


def test_a_scope_round_trips_with_the_same_filter(season: None, export) -> None:
    result = export("parquet", ExportFilters(counted_only=True, category="web"))
    snapshot = latest_snapshot("category:web")
    assert snapshot is not None and result.rows == snapshot.n_votes
    assert_same_board(ratings_cli(result.data_file), snapshot.data["models"])


def test_valid_and_anonymous_filters_select_the_counted_votes_too(season: None, export) -> None:
    result = export("jsonl", ExportFilters(valid_only=True, anonymous_only=True))
    assert_same_board(ratings_cli(result.data_file), latest_snapshot("overall").data["models"])


def test_rows_come_in_vote_time_order(season: None, export) -> None:
    rows = [json.loads(line) for line in export("jsonl").data_file.read_text().splitlines()]
    keys = [(row["tstamp"], row["vote_id"]) for row in rows]
    assert keys == sorted(keys) and len(rows) == 62
