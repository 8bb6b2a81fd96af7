from __future__ import annotations

import uuid

from csp.decorators import csp_exempt
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget
from django_htmx.middleware import HtmxDetails

from arena.battles.models import Battle, SuggestedPrompt
from arena.battles.selectors import battle_for_rater, battle_view
from arena.battles.services import (
    FEEDBACK_CHOICES,
    FEEDBACK_DIMENSIONS,
    BattleError,
    battle_start,
    parse_feedback,
    response_rerun,
    turn_add,
    vote_record,
)
from arena.llms.models import LanguageModel
from arena.raters.services import rater_for_request, request_rater
from arena.runs.models import Artifact
from arena.runs.serving import artifact_response
from arena.vocabulary import WINNER_LABELS


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    return _home(request)


def _home(
    request: HtmxHttpRequest, *, error: str = "", prompt: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "suggestions": SuggestedPrompt.objects.filter(is_active=True).order_by("?")[:8],
        "demo_models": LanguageModel.objects.filter(is_active=True, provider="replay").exists(),
        "error": error,
        "prompt": prompt,
        "max_chars": settings.PROMPT_MAX_CHARS,
    }
    template = "battles/home.html#new-battle-form" if request.htmx else "battles/home.html"
    return render(request, template, context, status=status)


@require_POST
def battle_new(request: HtmxHttpRequest) -> HttpResponse:
    rater = rater_for_request(request)
    prompt = request.POST.get("prompt", "")
    try:
        battle = battle_start(
            rater=rater, prompt=prompt, category=request.POST.get("category", "")[:50]
        )
    except BattleError as error:
        return _home(request, error=str(error), prompt=prompt[:100_000], status=400)
    url = battle.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponse(status=303, headers={"Location": url})


@require_GET
def battle_detail(request: HtmxHttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    battle = _own_battle(request, battle_id)
    return render(request, "battles/battle.html", {"view": battle_view(battle.pk)})


@require_http_methods(["GET", "POST"])
def battle_vote(request: HtmxHttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    """GET: the optional details step for a chosen winner. POST: record the vote."""
    battle = _own_battle(request, battle_id)
    try:
        if request.method == "GET":
            return _vote_details(request, battle, request.GET.get("winner", ""))
        feedback = parse_feedback(request.POST)
        vote_record(battle=battle, winner=request.POST.get("winner", ""), feedback=feedback)
    except BattleError as error:
        return _message(request, str(error), status=400)
    if not request.htmx:
        return HttpResponse(status=303, headers={"Location": battle.get_absolute_url()})
    return render(request, "battles/battle.html#after-vote", {"view": battle_view(battle.pk)})


def _vote_details(request: HtmxHttpRequest, battle: Battle, winner: str) -> HttpResponse:
    view = battle_view(battle.pk)
    if view.vote_blocker:
        raise BattleError(view.vote_blocker)
    if winner not in WINNER_LABELS:
        raise BattleError("Unknown choice; pick A, B, Tie or Both are bad.")
    context = {
        "view": view,
        "winner": winner,
        "winner_label": WINNER_LABELS[winner],  # type: ignore[index]  # checked just above
        "dimensions": FEEDBACK_DIMENSIONS.items(),
        "dimension_choices": FEEDBACK_CHOICES.items(),
    }
    return render(request, "battles/battle.html#vote-details", context)


@require_POST
def battle_follow_up(request: HtmxHttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    battle = _own_battle(request, battle_id)
    try:
        turn_add(battle=battle, prompt=request.POST.get("prompt", ""))
    except BattleError as error:
        return _message(request, str(error), status=400)
    return render(request, "battles/battle.html#after-follow-up", {"view": battle_view(battle.pk)})


@require_POST
def battle_rerun(request: HtmxHttpRequest, battle_id: uuid.UUID, response_id: int) -> HttpResponse:
    battle = _own_battle(request, battle_id)
    try:
        response_rerun(
            battle=battle,
            response_id=response_id,
            code=request.POST.get("code", ""),
            language=request.POST.get("language", ""),
            stdin=request.POST.get("stdin", ""),
        )
    except BattleError as error:
        return _message(request, str(error), status=400)
    if request.htmx:
        return HttpResponse(status=204)  # the websocket brings the new run
    return HttpResponse(status=303, headers={"Location": battle.get_absolute_url()})


@csp_exempt()  # type: ignore[arg-type]  # django-csp types views as request-only
@require_GET
def run_artifact(request: HttpRequest, battle_id: uuid.UUID, artifact_id: int) -> HttpResponse:
    battle = _viewable_battle(request, battle_id)
    item = Artifact.objects.filter(pk=artifact_id, execution__response__turn__battle=battle).first()
    if item is None:
        raise Http404("Not found.")
    return artifact_response(item)


def _own_battle(request: HttpRequest, battle_id: uuid.UUID) -> Battle:
    """The battle of the rater behind this request, or 404 (see battle_for_rater)."""
    battle = battle_for_rater(battle_id, request_rater(request))
    if battle is None:
        raise Http404("No such battle.")
    return battle


def _viewable_battle(request: HttpRequest, battle_id: uuid.UUID) -> Battle:
    """What its programs made is also open to staff, who investigate battles."""
    if request.user.is_staff:
        battle = Battle.objects.filter(pk=battle_id).first()
        if battle is None:
            raise Http404("No such battle.")
        return battle
    return _own_battle(request, battle_id)


def _message(request: HtmxHttpRequest, text: str, *, status: int) -> HttpResponse:
    response = render(request, "battles/battle.html#flash", {"message": text}, status=status)
    if request.htmx:
        response = reswap(retarget(response, "#flash"), "outerHTML")
    return response
