"""Leaderboard and model pages: tables, plots, preliminary and hidden models, bad queries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from arena.battles.models import Vote
from arena.llms.models import LanguageModel
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.ratings.snapshots import refresh_leaderboards

pytestmark = pytest.mark.django_db

Cast = Callable[..., Vote]


@pytest.fixture(autouse=True)
def few_bootstrap_rounds(settings: Any) -> None:
    settings.LEADERBOARD_BOOTSTRAP = 10
    cache.clear()  # on-demand boards are cached between requests


@pytest.fixture
def trio(cast: Cast, make_model: Callable[..., LanguageModel]) -> list[LanguageModel]:
    """strong > middle > weak, 12 votes each pair, so all pass a minimum of 10."""
    strong = make_model(name="strong", organization="Acme", license="MIT")
    middle = make_model(name="middle")
    weak = make_model(name="weak")
    for a, b, wins, losses in ((strong, middle, 8, 3), (middle, weak, 8, 3), (strong, weak, 11, 0)):
        outcomes = ["win"] * wins + ["loss"] * losses + ["tie"] * (12 - wins - losses)
        for i, outcome in enumerate(outcomes):
            first, second = (a, b) if i % 2 else (b, a)  # both seats
            winner = {"win": a, "loss": b}.get(outcome)
            code = "tie" if winner is None else "model_a" if winner == first else "model_b"
            cast(first, second, code, language="python")
    refresh_leaderboards()
    return [strong, middle, weak]


def stored_rows(values: list[tuple[str, int, int, int]]) -> list[dict[str, Any]]:
    """Snapshot rows as refresh stores them, from (model, rating, low, high)."""
    return [
        {
            "model": m,
            "bt": bt,
            "bt_ci_low": lo,
            "bt_ci_high": hi,
            "elo": bt,
            "battles": 50,
            "rank_ub": 0,
        }
        for m, bt, lo, hi in values
    ]


def test_the_leaderboard_shows_the_table_interval_plot_and_heatmap(
    client: Client, trio: list[LanguageModel]
) -> None:
    page = client.get("/leaderboard/")
    html = page.content.decode()
    assert page.status_code == 200
    board = page.context["board"]
    assert [r.model for r in board.ranked] == ["strong", "middle", "weak"]
    assert board.ranked[0].rank == 1
    assert "Acme" in html and "MIT" in html
    assert 'href="/leaderboard/models/strong/"' in html
    assert "from 36 votes" in html
    assert html.count('class="interval-plot"') == 1
    assert html.count("<circle") == 3
    assert 'class="heatmap"' in html
    assert len(re.findall(r"<rect [^>]*fill=\"#", html)) == 6  # 3 × 3 minus the diagonal
    assert "strong beat weak in 100% of their battles without a tie (12 battles in all)" in html
    assert "nan" not in html.lower()


def test_a_scope_shows_its_own_snapshot(client: Client, trio: list[LanguageModel]) -> None:
    page = client.get("/leaderboard/", {"scope": "language:python"})
    assert page.status_code == 200
    assert "Language: python" in page.content.decode()
    assert page.context["snapshot"].scope == "language:python"


def test_models_under_the_vote_minimum_are_marked_preliminary(
    client: Client, trio: list[LanguageModel], cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    newcomer = make_model(name="newcomer")
    cast(newcomer, trio[2], "model_a")
    cast(newcomer, trio[1], "model_b")
    refresh_leaderboards()
    page = client.get("/leaderboard/")
    board = page.context["board"]
    assert [r.model for r in board.preliminary] == ["newcomer"]
    assert "newcomer" not in [r.model for r in board.ranked]
    assert "Preliminary" in page.content.decode()
    assert "newcomer (preliminary): " in page.content.decode()  # the plot's bar title


def test_raising_the_minimum_in_the_settings_makes_everyone_preliminary(
    client: Client, trio: list[LanguageModel]
) -> None:
    RatingsSettings.objects.create(min_votes=1000)
    page = client.get("/leaderboard/")
    assert page.context["board"].ranked == ()
    assert len(page.context["board"].preliminary) == 3
    assert "No model has 1000 votes here yet" in page.content.decode()


def test_hidden_models_are_left_out_and_the_rest_reranked(
    client: Client, make_model: Callable[..., LanguageModel]
) -> None:
    for name in ("a", "b", "c"):
        make_model(name=name)
    make_model(name="secret", is_public=False)
    rows = [
        ("secret", 1200, 1150, 1250),
        ("a", 1100, 1080, 1120),
        ("b", 1090, 1070, 1110),
        ("c", 900, 880, 920),
    ]
    LeaderboardSnapshot.objects.create(
        scope="overall",
        n_votes=200,
        params={"bootstrap": 100},
        data={
            "models": stored_rows(rows),
            "win_fraction": [
                [None, 0.9, 0.9, 1.0],
                [0.1, None, 0.5, 0.8],
                [0.1, 0.5, None, 0.8],
                [0.0, 0.2, 0.2, None],
            ],
            "battle_count": [[0, 20, 20, 10], [20, 0, 20, 10], [20, 20, 0, 10], [10, 10, 10, 0]],
        },
    )
    page = client.get("/leaderboard/")
    html = page.content.decode()
    assert [(r.model, r.rank) for r in page.context["board"].ranked] == [
        ("a", 1),
        ("b", 1),
        ("c", 3),
    ]
    assert "secret" not in html
    assert "a beat c in 80% of their battles" in html
    assert client.get("/leaderboard/models/secret/").status_code == 404


def test_the_model_page_head_to_head_matches_the_votes(
    client: Client, cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    me = make_model(name="me", description="A test model.")
    rival = LanguageModel.objects.create(name="org/rival-1.5", provider="replay", model_id="x")
    for winner in ("model_a", "model_a", "model_a", "model_b", "tie", "both_bad"):
        cast(me, rival, winner)
    cast(rival, me, "model_b")
    refresh_leaderboards()
    page = client.get("/leaderboard/models/me/")
    html = page.content.decode()
    assert page.status_code == 200
    record = page.context["records"][0]
    assert (record.opponent, record.wins, record.losses, record.ties, record.both_bad) == (
        "org/rival-1.5",
        4,
        1,
        1,
        1,
    )
    assert "80%" in html  # 4 wins of 5 decided battles
    assert 'href="/leaderboard/models/org/rival-1.5/"' in html
    assert client.get("/leaderboard/models/org/rival-1.5/").status_code == 200
    assert [r.scope for r in page.context["ratings"]] == ["overall"]
    assert "A test model." in html


def test_a_model_without_votes_has_a_calm_page(
    client: Client, make_model: Callable[..., LanguageModel]
) -> None:
    make_model(name="lonely")
    page = client.get("/leaderboard/models/lonely/")
    assert page.status_code == 200
    assert "Not rated yet" in page.content.decode()
    assert "No counted votes yet" in page.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"scope": "bogus"}, "There is no leaderboard called “bogus”."),
        ({"scope": "language:"}, "There is no leaderboard called"),
        ({"scope": "x" * 500}, "There is no leaderboard called"),
        ({"from": "2025-13-01"}, "Dates must look like 2025-01-31"),
        ({"to": "yesterday"}, "Dates must look like 2025-01-31"),
        ({"to": "9999-12-31"}, "between 1970-01-01 and 2999-12-31"),
        ({"from": "0001-01-01"}, "between 1970-01-01 and 2999-12-31"),
        ({"from": "2025-03-01", "to": "2025-02-01"}, "The start date is after the end date."),
        ({"window": "forever"}, "Unknown time window"),
    ],
)
def test_a_bad_query_gets_a_clear_message(
    client: Client, trio: list[LanguageModel], query: dict[str, str], message: str
) -> None:
    page = client.get("/leaderboard/", query)
    assert page.status_code == 400
    assert message in page.content.decode()


def test_the_recent_window_can_be_turned_off(client: Client, trio: list[LanguageModel]) -> None:
    RatingsSettings.objects.create(recent_days=0)
    page = client.get("/leaderboard/", {"window": "recent"})
    assert page.status_code == 400
    assert "The recent window is turned off." in page.content.decode()


def test_the_recent_window_reads_its_own_snapshot(
    client: Client, trio: list[LanguageModel]
) -> None:
    page = client.get("/leaderboard/", {"window": "recent"})
    assert page.status_code == 200
    assert page.context["snapshot"].window_days == 30
    assert "of the last 30 days" in page.content.decode()


def test_a_date_range_is_computed_from_the_votes_in_it(
    client: Client, cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b = make_model(name="a"), make_model(name="b")
    old = timezone.make_aware(dt.datetime(2025, 1, 10, 12))
    for winner in ("model_a", "model_b", "model_a"):
        cast(a, b, winner, when=old)
    cast(a, b, "model_b")
    page = client.get("/leaderboard/", {"from": "2025-01-01", "to": "2025-01-10"})
    assert page.status_code == 200
    snapshot = page.context["snapshot"]
    assert snapshot.n_votes == 3
    assert snapshot.params["bootstrap"] == 20
    assert "Computed on request from 3 votes" in page.content.decode()
    empty = client.get("/leaderboard/", {"window": "all", "from": "", "to": "2024-12-31"})
    assert "no votes in this selection" in empty.content.decode()


def test_a_filter_change_swaps_the_filters_and_the_board_together(
    client: Client, trio: list[LanguageModel]
) -> None:
    page = client.get(
        "/leaderboard/",
        {"scope": "language:python"},
        headers={"HX-Request": "true", "HX-Target": "board-live"},
    )
    html = page.content.decode()
    assert html.lstrip().startswith('<div id="board-live"')
    assert '<option value="language:python" selected>' in html  # the selector agrees
    assert 'id="board-heading">Language: python' in html
    assert "<html" not in html


def test_no_snapshot_yet_says_so(client: Client) -> None:
    page = client.get("/leaderboard/")
    assert page.status_code == 200
    assert "No votes yet" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"models": [], "error": "the comparison graph is broken"}, "could not be computed"),
        ({"models": [], "error": ""}, "No rated models to show"),
        (
            {
                "models": [
                    {
                        "model": "solo",
                        "bt": 1000.0,
                        "bt_ci_low": 1000.0,
                        "bt_ci_high": 1000.0,
                        "elo": 1000.0,
                        "battles": 40,
                    }
                ],
                "win_fraction": [[None]],
                "battle_count": [[0]],
            },
            "solo",
        ),
    ],
)
def test_degenerate_snapshots_render_a_message(
    client: Client, make_model: Callable[..., LanguageModel], data: dict[str, Any], message: str
) -> None:
    make_model(name="solo")
    LeaderboardSnapshot.objects.create(scope="overall", n_votes=40, data=data)
    page = client.get("/leaderboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert message in html
    assert "nan" not in html.lower()
    assert 'class="heatmap"' not in html  # one model: nothing to cross


def test_the_leaderboard_page_runs_a_bounded_number_of_queries(
    client: Client, trio: list[LanguageModel], cast: Cast, django_assert_max_num_queries: Any
) -> None:
    for winner in ("model_a", "model_b"):
        cast(trio[0], trio[1], winner, language="rust", category="games")
    refresh_leaderboards()
    with django_assert_max_num_queries(6):
        assert client.get("/leaderboard/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/leaderboard/models/strong/").status_code == 200


def test_groups_that_never_met_are_named_on_the_page(
    client: Client, cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    a, b, c, d = (make_model(name=n) for n in ("a", "b", "c", "d"))
    for winner in ("model_a", "model_b", "tie"):
        cast(a, b, winner)
    cast(c, d, "model_a")
    refresh_leaderboards()
    page = client.get("/leaderboard/")
    html = page.content.decode()
    assert page.status_code == 200
    assert [r.model for r in page.context["board"].rows] == ["a", "b"]
    assert "Not rated: c, d (never compared with the rest, even indirectly)." in html


def test_the_model_page_ranks_without_hidden_models(
    client: Client, cast: Cast, make_model: Callable[..., LanguageModel]
) -> None:
    top, me = make_model(name="secret", is_public=False), make_model(name="me")
    low = make_model(name="low")
    for _ in range(12):
        cast(top, me, "model_a")
        cast(me, low, "model_a")
        cast(top, low, "model_a")
    cast(me, top, "model_a")  # a finite MLE needs every model to lose once
    cast(low, me, "model_a")
    cast(low, top, "model_a")
    refresh_leaderboards()
    page = client.get("/leaderboard/models/me/")
    overall = page.context["ratings"][0]
    assert (overall.label, overall.row.rank, overall.ranked_models) == ("Overall", 1, 2)
    assert [r.opponent for r in page.context["records"]] == ["low"]
    assert "secret" not in page.content.decode()


def test_the_overall_board_shows_the_style_controlled_rank_and_effects(
    client: Client, make_model: Callable[..., LanguageModel]
) -> None:
    for name in ("a", "b", "c"):
        make_model(name=name)
    rows = [("a", 1100, 1080, 1120), ("b", 1000, 980, 1020), ("c", 900, 880, 920)]
    style = [("a", 1000, 950, 1050), ("b", 1010, 960, 1060), ("c", 850, 830, 870)]

    coefficient = {
        "feature": "chars",
        "coefficient": 0.2,
        "ci_low": 0.1,
        "ci_high": 0.3,
        "rating_points": 34.7,
    }
    LeaderboardSnapshot.objects.create(
        scope="overall",
        n_votes=150,
        data={
            "models": stored_rows(rows),
            "style_control": {"models": stored_rows(style), "coefficients": [coefficient]},
        },
    )
    page = client.get("/leaderboard/")
    html = page.content.decode()
    ranked = page.context["board"].ranked
    assert [(r.model, r.rank, r.style_rank) for r in ranked] == [
        ("a", 1, 1),
        ("b", 2, 1),
        ("c", 3, 3),
    ]
    assert ">Rank, style-adjusted</th>" in html
    assert "Answer length 35 points" in html
    assert "(likely range 17 – 52)" in html


def test_a_scope_without_votes_yet_is_still_selected_in_the_picker(
    client: Client, trio: list[LanguageModel]
) -> None:
    page = client.get("/leaderboard/", {"scope": "language:cobol"})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<option value="language:cobol" selected>cobol</option>' in html
    assert "No votes yet in this board" in html
