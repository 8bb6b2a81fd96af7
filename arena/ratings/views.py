from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from arena.llms.models import LanguageModel
from arena.ratings.models import LeaderboardSnapshot
from arena.ratings.snapshots import OVERALL, latest_snapshot


@require_GET
def leaderboard(request: HttpRequest) -> HttpResponse:
    scope = request.GET.get("scope", OVERALL)[:100]
    snapshot = latest_snapshot(scope)
    scopes = sorted(set(LeaderboardSnapshot.objects.values_list("scope", flat=True)))
    rows = snapshot.data.get("models", []) if snapshot else []
    models = {m.name: m for m in LanguageModel.objects.filter(name__in=[r["model"] for r in rows])}
    hidden = {name for name, m in models.items() if not m.is_public}
    context = {
        "snapshot": snapshot,
        "scope": scope,
        "scopes": scopes,
        "rows": [
            {**row, "info": models.get(row["model"])} for row in rows if row["model"] not in hidden
        ],  # fmt: skip
    }
    return render(request, "ratings/leaderboard.html", context)
