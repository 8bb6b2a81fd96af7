"""Snapshots from votes: what counts, scopes, windows, degenerate boards, public boards."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from arena.battles.models import Battle, Response, Vote
from arena.llms.models import LanguageModel
from arena.ratings import jobs as rating_jobs
from arena.ratings.jobs import refresh_after_vote, refresh_when_asked
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.ratings.snapshots import (
    latest_snapshot,
    leaderboard_data,
    refresh_leaderboards,
    style_control_data,
    style_rows,
)
from arena.runs.models import Execution

pytestmark = pytest.mark.django_db

Cast = Callable[..., Vote]


@pytest.fixture(autouse=True)
def few_bootstrap_rounds(settings: Any) -> None:
    settings.LEADERBOARD_BOOTSTRAP = 10


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
    refresh_when_asked()
    refresh_when_asked()
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=0).count() == 1
    cast(a, b, "model_b")
    refresh_when_asked()
    assert latest_snapshot().n_votes == 2  # type: ignore[union-attr]
    first.invalidate("duplicate rater")
    refresh_when_asked()
    assert latest_snapshot().n_votes == 1  # type: ignore[union-attr]
    assert LeaderboardSnapshot.objects.filter(scope="overall", window_days=0).count() == 3


def test_a_settings_change_refreshes_the_snapshots(
    cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    cast(make_model(), make_model(), "model_a")
    refresh_when_asked()
    RatingsSettings.objects.create(recent_days=7)
    refresh_when_asked()
    assert latest_snapshot("overall", 7) is not None


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
        owner=answers["a"], code="print(1)", language="python", status=Execution.Status.OK
    )
    Execution.objects.create(
        owner=answers["b"],
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
            refresh_when_asked()
            refresh_when_asked()
        return 0

    monkeypatch.setattr("arena.ratings.jobs.refresh_leaderboards", slow_refresh)
    refresh_when_asked()
    assert rounds == [False, False]


def test_slow_refreshes_are_spaced_out_so_they_take_a_bounded_share(
    cast: Cast,
    make_model: Callable[..., LanguageModel],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.LEADERBOARD_DEBOUNCE_SECONDS = 5
    cache.clear()
    scheduled: list[float] = []
    monkeypatch.setattr(
        "arena.jobs.enqueue", lambda _name, *_args, delay_s=0: scheduled.append(delay_s)
    )

    def vote_then_refresh() -> None:
        refresh_after_vote()
        cache.delete(rating_jobs._SCHEDULED_KEY)  # the scheduled refresh comes due
        refresh_when_asked()

    cast(make_model(), make_model(), "model_a")
    vote_then_refresh()  # a real refresh of a tiny arena: milliseconds
    refresh_after_vote()
    assert scheduled == [5, 5]

    real_refresh = rating_jobs.refresh_leaderboards

    def slow_refresh(*, force: bool) -> int:
        time.sleep(0.7)
        return real_refresh(force=True)

    monkeypatch.setattr("arena.ratings.jobs.refresh_leaderboards", slow_refresh)
    cache.delete(rating_jobs._SCHEDULED_KEY)
    vote_then_refresh()
    refresh_after_vote()
    # 0.7 s of refresh may take a tenth of the time: the next comes 6.3+ s later.
    assert 7 <= scheduled[-1] <= 10
