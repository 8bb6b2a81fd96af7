from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from arena.llms.models import LanguageModel
from arena.ratings import plots
from arena.ratings.models import LeaderboardSnapshot, RatingsSettings
from arena.ratings.public_boards import (
    group_scopes,
    head_to_head,
    public_board,
    public_models,
    range_snapshot,
    scope_label,
    scope_ratings,
    stored_scopes,
)
from arena.ratings.snapshots import OVERALL, latest_snapshot, scope_filters
from arena.vocabulary import EARLIEST_DAY, LATEST_DAY, day_in_range

WINDOWS = ("all", "recent")


def board_words(min_votes: int) -> dict[str, str]:
    """The columns in plain words: on hover (title) and in "How to read this board"."""
    return {
        "rank": "1 + the number of models that are clearly better, that is whose likely range "
        "lies wholly above this one's. Models whose ranges overlap can share a rank.",
        "style_rank": "The rank after taking out how much raters favour long answers and code "
        "that runs, so a model does not rank high for those alone.",
        "rating": "The model's strength fitted from all votes (Bradley–Terry): 100 points "
        "ahead means winning about 64% of battles against that model.",
        "range": "With 95% confidence the true rating lies in this range; it narrows as votes "
        f"come in. Shown from {min_votes} votes on; below that it says “too few votes”.",
        "elo": "A rating updated vote by vote, in the order cast; for comparison only.",
        "votes": "Counted votes in battles this model took part in.",
        "grid": "Each cell: how often the row model beat the column model in their battles "
        "without a tie, and under it n, the number of those battles. Grey: none decided yet.",
    }


@dataclass(frozen=True)
class BoardQuery:
    scope: str = OVERALL
    window: str = "all"  # "all", "recent", or "range" when a date is given
    start: dt.date | None = None
    end: dt.date | None = None


def parse_query(params: Mapping[str, str], config: RatingsSettings) -> tuple[BoardQuery, str]:
    """The board the query asks for, and a message for the rater when it makes no sense.

    A start or end date asks for a range (computed on request); without dates, `window`
    picks a stored snapshot."""
    scope = params.get("scope") or OVERALL
    if len(scope) > 100 or scope_filters(scope) is None:
        return BoardQuery(), f"There is no leaderboard called “{scope[:100]}”."
    try:
        start, end = _date(params.get("from")), _date(params.get("to"))
    except ValueError:
        return BoardQuery(scope), (
            f"Dates must look like 2025-01-31, between {EARLIEST_DAY} and {LATEST_DAY}."
        )
    if start and end and start > end:
        return BoardQuery(scope), "The start date is after the end date."
    if start or end:
        return BoardQuery(scope, "range", start, end), ""
    window = params.get("window") or "all"
    if window not in WINDOWS:
        return BoardQuery(scope), f"Unknown time window “{window[:20]}”."
    if window == "recent" and not config.recent_days:
        return BoardQuery(scope), "The recent window is turned off."
    return BoardQuery(scope, window), ""


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value) if len(value) == 10 else None
    if day is None or not day_in_range(day):
        raise ValueError(value)
    return day


def _snapshot(query: BoardQuery, config: RatingsSettings) -> LeaderboardSnapshot | None:
    if query.window == "range":
        return range_snapshot(query.scope, query.start, query.end, config.on_demand_bootstrap)
    days = config.recent_days if query.window == "recent" else 0
    return latest_snapshot(query.scope, days)


@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    config = RatingsSettings.current()
    query, problem = parse_query(request.GET, config)
    snapshot = None if problem else _snapshot(query, config)
    board = public_board(snapshot.data, public_models(), config.min_votes) if snapshot else None
    context = {
        "query": query,
        "problem": problem,
        "config": config,
        "snapshot": snapshot,
        "board": board,
        "scope_label": scope_label(query.scope),
        "scope_groups": group_scopes(_with(stored_scopes(), query.scope)),
        "interval_plot": plots.interval_plot(board.rows) if board else None,
        "heatmap": plots.heatmap([r.model for r in board.rows], board.pair) if board else None,
        "words": board_words(config.min_votes),
    }
    htmx = getattr(request, "htmx", None)
    template = "ratings/leaderboard.html"
    if htmx and htmx.target == "board-live":
        template += "#live"  # a filter change swaps the filters and the board together
    return render(request, template, context, status=400 if problem else 200)


def _with(scopes: list[str], scope: str) -> list[str]:
    """The picker lists the asked scope even before it has a snapshot."""
    return scopes if scope in scopes else [*scopes, scope]


@require_GET
def model_detail(request: HttpRequest, name: str) -> HttpResponse:
    model: LanguageModel = get_object_or_404(LanguageModel, name=name, is_public=True)
    config = RatingsSettings.current()
    records = head_to_head(model)
    context = {
        "model": model,
        "config": config,
        "ratings": scope_ratings(model, public_models(), config.min_votes),
        "words": board_words(config.min_votes),
        "records": records,
        "totals": {
            field: sum(getattr(r, field) for r in records)
            for field in ("battles", "wins", "losses", "ties", "both_bad")
        },
    }
    return render(request, "ratings/model.html", context)
