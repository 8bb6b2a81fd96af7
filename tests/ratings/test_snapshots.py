"""Snapshots from votes: what counts, scopes, windows, degenerate boards, public boards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from arena.battles.models import Battle, Response, Vote
from arena.llms.models import LanguageModel
from arena.raters.models import Rater
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.ratings.public_boards import head_to_head, public_board
from arena.ratings.snapshots import (
    latest_snapshot,
    leaderboard_data,
    refresh_leaderboards,
    style_control_data,
    style_rows,
)
from arena.ratings.tasks import refresh_leaderboards_task
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db

Cast = Callable[..., Vote]


@pytest.fixture(autouse=True)
def few_bootstrap_rounds(settings: Any) -> None:
    settings.LEADERBOARD_BOOTSTRAP = 10


@pytest.fixture
def cast(alice: Rater, make_battle: Callable[..., Battle]) -> Cast:
    """A finished battle between two models and its vote."""

    def make(a: LanguageModel, b: LanguageModel, winner: str, **fields: Any) -> Vote:
        when = fields.pop("when", None) or timezone.now()
        is_valid = fields.pop("is_valid", True)
        fields.setdefault("status", Battle.Status.VOTED)
        battle = make_battle(alice, model_a=a, model_b=b, **fields)
        return Vote.objects.create(
            battle=battle, rater=alice, winner=winner, is_valid=is_valid, created_at=when
        )

    return make


def test_only_valid_votes_on_anonymous_voted_battles_are_counted(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b = make_model(), make_model()
    cast(a, b, "model_a")
    cast(a, b, "model_b")
    cast(a, b, "model_b", is_valid=False)
    cast(a, b, "model_b", is_anonymous=False)
    cast(a, b, "model_b", status=Battle.Status.VOID)
    refresh_leaderboards()
    snapshot = latest_snapshot()
    assert snapshot is not None
    assert snapshot.n_votes == 2
    assert {r["model"]: r["battles"] for r in snapshot.data["models"]} == {a.name: 2, b.name: 2}


def test_it_writes_a_snapshot_per_scope_and_window(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b = make_model(), make_model()
    cast(a, b, "model_a", language="python", environment="console", category="algorithms")
    cast(a, b, "tie", language="rust")
    assert refresh_leaderboards() == 10
    stored = {(s.scope, s.window_days): s.n_votes for s in LeaderboardSnapshot.objects.all()}
    assert stored == {
        (scope, days): votes
        for scope, votes in [
            ("overall", 2),
            ("language:python", 1),
            ("language:rust", 1),
            ("environment:console", 1),
            ("category:algorithms", 1),
        ]
        for days in (0, 30)
    }


def test_the_recent_window_leaves_out_older_votes(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b = make_model(), make_model()
    cast(a, b, "model_a")
    cast(a, b, "model_b", when=timezone.now() - dt.timedelta(days=45))
    RatingsSettings.objects.create(recent_days=30)
    refresh_leaderboards()
    assert latest_snapshot("overall", 0).n_votes == 2  # type: ignore[union-attr]
    assert latest_snapshot("overall", 30).n_votes == 1  # type: ignore[union-attr]


def test_a_zero_recent_window_stores_all_time_only(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    cast(make_model(), make_model(), "model_a")
    RatingsSettings.objects.create(recent_days=0)
    assert refresh_leaderboards() == 1


def test_no_votes_give_an_empty_overall_snapshot() -> None:
    assert refresh_leaderboards() == 2
    snapshot = latest_snapshot()
    assert snapshot is not None
    assert (snapshot.n_votes, snapshot.data["models"], snapshot.error) == (0, [], "")


def test_groups_that_never_met_rate_the_biggest_group_and_name_the_rest() -> None:
    rows = [{"model_a": "a", "model_b": "b", "winner": w} for w in ("model_a", "model_b", "tie")]
    rows.append({"model_a": "c", "model_b": "d", "winner": "model_a"})
    data = leaderboard_data(rows, bootstrap=5)
    assert [m["model"] for m in data["models"]] == ["a", "b"]
    assert "c, d" in data["note"]
    assert data["error"] == ""


def test_a_bad_row_becomes_an_error_message_not_an_exception() -> None:
    data = leaderboard_data([{"model_a": "a", "model_b": "a", "winner": "tie"}], bootstrap=5)
    assert data["models"] == []
    assert "row 0" in data["error"]


def test_old_snapshots_are_pruned_per_scope_and_window(
    cast: Cast, make_model: Callable[..., LanguageModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("arena.ratings.snapshots.SNAPSHOTS_KEPT_PER_SCOPE", 2)
    cast(make_model(), make_model(), "model_a")
    for _ in range(3):
        refresh_leaderboards()
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=0).count() == 2
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=30).count() == 2


def test_the_periodic_task_refreshes_only_when_counted_votes_changed(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b = make_model(), make_model()
    first = cast(a, b, "model_a")
    refresh_leaderboards_task()
    refresh_leaderboards_task()
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=0).count() == 1
    cast(a, b, "model_b")
    refresh_leaderboards_task()
    assert latest_snapshot().n_votes == 2  # type: ignore[union-attr]
    first.invalidate("duplicate rater")
    refresh_leaderboards_task()
    assert latest_snapshot().n_votes == 1  # type: ignore[union-attr]
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=0).count() == 3


def test_a_settings_change_refreshes_the_snapshots(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    cast(make_model(), make_model(), "model_a")
    refresh_leaderboards_task()
    RatingsSettings.objects.create(recent_days=7)
    refresh_leaderboards_task()
    assert latest_snapshot("overall", 7) is not None


def row(model: str, bt: float, low: float, high: float, battles: int = 50) -> dict[str, Any]:
    counts = {"wins": 0, "losses": 0, "ties": 0, "both_bad": 0, "rank_ub": 0}
    return {
        "model": model,
        "bt": bt,
        "bt_ci_low": low,
        "bt_ci_high": high,
        "elo": bt,
        "battles": battles,
        **counts,
    }


def models_named(*names: str) -> dict[str, LanguageModel]:
    return {n: LanguageModel(name=n, organization=f"{n} org") for n in names}


def test_removing_a_hidden_model_recomputes_the_ranks() -> None:
    data = {
        "models": [
            row("hidden", 1200, 1150, 1250),
            row("a", 1100, 1080, 1120),
            row("b", 1090, 1070, 1110),
            row("c", 900, 880, 920),
        ]
    }
    board = public_board(data, models_named("a", "b", "c"), min_votes=10)
    assert [(r.model, r.rank) for r in board.ranked] == [("a", 1), ("b", 1), ("c", 3)]
    assert board.ranked[0].organization == "a org"


def test_models_under_the_vote_minimum_are_preliminary_and_not_ranked() -> None:
    data = {
        "models": [
            row("new", 1300, 1000, 1600, battles=3),
            row("a", 1100, 1080, 1120),
            row("b", 900, 880, 920),
        ]
    }
    board = public_board(data, models_named("new", "a", "b"), min_votes=10)
    assert [(r.model, r.rank) for r in board.ranked] == [("a", 1), ("b", 2)]
    assert [(r.model, r.rank) for r in board.preliminary] == [("new", None)]
    assert board.preliminary[0].is_preliminary


def test_head_to_head_counts_each_outcome_from_the_models_side(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    me, rival, other, hidden = (make_model(name=n) for n in ("me", "rival", "other", "hidden"))
    hidden.is_public = False
    hidden.save()
    for winner in ("model_a", "model_a", "model_b", "tie", "both_bad"):
        cast(me, rival, winner)
    cast(rival, me, "model_a")  # rival sat on side A and won: a loss for me
    cast(other, me, "model_b")  # a win for me from side B
    cast(other, me, "model_b", is_valid=False)
    cast(me, hidden, "model_a")
    cast(rival, other, "model_a")  # not mine
    records = {r.opponent: r for r in head_to_head(me)}
    assert set(records) == {"rival", "other"}
    assert (
        records["rival"].wins,
        records["rival"].losses,
        records["rival"].ties,
        records["rival"].both_bad,
        records["rival"].battles,
    ) == (2, 2, 1, 1, 6)
    assert records["rival"].win_rate == 0.5
    assert (records["other"].wins, records["other"].battles) == (1, 1)


def test_the_admin_recompute_button_writes_snapshots(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    cast(make_model(), make_model(), "model_a")
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/ratings/leaderboardsnapshot/")
    assert b"Recompute now" in listing.content
    answer = client.post("/admin/ratings/leaderboardsnapshot/recompute/")
    assert answer.status_code == 302
    assert LeaderboardSnapshot.objects.filter(scope="overall").count() == 2


def test_staff_without_the_settings_permission_cannot_recompute() -> None:
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    answer = client.post("/admin/ratings/leaderboardsnapshot/recompute/")
    assert answer.status_code == 403
    assert not LeaderboardSnapshot.objects.exists()


def test_the_settings_admin_edits_the_single_row() -> None:
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/ratings/ratingssettings/")
    assert listing.status_code == 302
    assert listing["Location"].endswith("/admin/ratings/ratingssettings/1/change/")
    answer = client.post(
        "/admin/ratings/ratingssettings/1/change/",
        {"min_votes": "25", "recent_days": "7", "on_demand_bootstrap": "10"},
    )
    assert answer.status_code == 302
    assert RatingsSettings.current().min_votes == 25
    assert RatingsSettings.objects.count() == 1


def test_style_rows_measure_answer_length_and_execution_success_per_side(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    vote = cast(make_model(), make_model(), "model_a")
    answers = {r.side: r for r in Response.objects.filter(turn__battle=vote.battle)}
    Response.objects.filter(pk=answers["a"].pk).update(text="x" * 120)
    Response.objects.filter(pk=answers["b"].pk).update(text="y" * 30)
    Execution.objects.create(
        response=answers["a"], code="print(1)", language="python", status=Execution.Status.OK
    )
    Execution.objects.create(
        response=answers["b"],
        code="print(",
        language="python",
        status=Execution.Status.COMPILE_ERROR,
    )
    [row] = style_rows(Vote.objects.all())
    assert (row["chars_a"], row["chars_b"], row["exec_ok_a"], row["exec_ok_b"]) == (120, 30, 1, 0)


def test_style_control_without_any_varying_feature_is_an_error_not_a_crash() -> None:
    rows = [
        {
            "model_a": "a",
            "model_b": "b",
            "winner": w,
            "chars_a": 5,
            "chars_b": 5,
            "exec_ok_a": 1,
            "exec_ok_b": 1,
        }
        for w in ("model_a", "model_b")
    ]
    assert style_control_data(rows)["error"] == "no style feature varies (constant: chars, exec_ok)"


def test_the_overall_snapshot_carries_style_controlled_ratings(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b, c = make_model(), make_model(), make_model()
    for i in range(30):
        first, second = [(a, b), (b, c), (a, c)][i % 3]
        vote = cast(first, second, ["model_a", "model_b", "tie"][i % 4 % 3])
        Response.objects.filter(turn__battle=vote.battle, side="a").update(text="z" * (50 + i))
    refresh_leaderboards()
    style = latest_snapshot().data["style_control"]  # type: ignore[union-attr]
    assert style["error"] == ""
    assert {m["model"] for m in style["models"]} == {a.name, b.name, c.name}
    assert [c["feature"] for c in style["coefficients"]] == ["chars"]
    assert "style_control" not in latest_snapshot("overall", 30).data  # type: ignore[union-attr]


def test_refresh_requests_during_a_refresh_fold_into_one_more_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = []

    def slow_refresh(*, force: bool) -> int:
        rounds.append(force)
        if len(rounds) == 1:  # two votes arrive while the first round runs
            refresh_leaderboards_task()
            refresh_leaderboards_task()
        return 0

    monkeypatch.setattr("arena.ratings.tasks.refresh_leaderboards", slow_refresh)
    refresh_leaderboards_task()
    assert rounds == [False, False]


def test_a_row_with_a_missing_or_non_finite_number_is_left_out() -> None:
    data = {
        "models": [
            row("a", 1100, 1080, 1120),
            row("b", float("nan"), 0, 1),
            {"model": "c", "bt": 900},
        ]
    }
    board = public_board(data, models_named("a", "b", "c"), min_votes=10)
    assert [r.model for r in board.rows] == ["a"]
