from __future__ import annotations

import uuid

from csp.decorators import csp_exempt
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    reswap,
    retarget,
    trigger_client_event,
)
from django_htmx.middleware import HtmxDetails

from arena.battles.models import Battle, SuggestedPrompt, Vote
from arena.battles.selectors import battle_for_rater, battle_view, rerun_message_id
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
from arena.edge import client_ip
from arena.llms.models import LanguageModel
from arena.raters.limits import Action, Limited, check_rate
from arena.raters.models import ConsentTerms, Rater
from arena.raters.services import ConsentNeeded, needs_consent, rater_for_request, request_rater
from arena.runs.models import Artifact
from arena.runs.serving import artifact_response
from arena.vocabulary import WINNER_LABELS

MY_VOTES_SHOWN = 500
VOTE_MSG, FOLLOW_UP_MSG = "vote-msg", "follow-up-msg"  # where refusals show
RESYNC_EVENT = "arena:resync"  # the page then asks its socket for everything (arena.js)


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
        "needs_consent": needs_consent(request_rater(request)),
        "terms": ConsentTerms.current_text(),
    }
    template = "battles/home.html#new-battle-form" if request.htmx else "battles/home.html"
    return render(request, template, context, status=status)


@require_POST
def battle_new(request: HtmxHttpRequest) -> HttpResponse:
    prompt = request.POST.get("prompt", "")
    try:
        with transaction.atomic():  # a refused first battle leaves no rater behind
            battle = battle_start(
                rater=_acting_rater(request),
                prompt=prompt,
                category=request.POST.get("category", "")[:50],
            )
    except Limited as error:
        return _limited(_home(request, error=str(error), prompt=prompt[:100_000]), error)
    except (BattleError, ConsentNeeded) as error:
        return _home(request, error=str(error), prompt=prompt[:100_000], status=400)
    url = battle.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return HttpResponse(status=303, headers={"Location": url})


def _acting_rater(request: HttpRequest) -> Rater:
    """The rater starting a battle, counted against the rates first; a new one also
    against the new raters of its address (a client that drops its cookie is one)."""
    ip = client_ip(request)
    if request_rater(request) is None:
        check_rate(Action.NEW_RATER, rater=None, ip=ip)
    rater = rater_for_request(request, consent=request.POST.get("consent") == "yes")
    check_rate(Action.BATTLE, rater=rater, ip=ip)  # a refusal rolls a new rater back
    return rater


@require_GET
def my_votes(request: HttpRequest) -> HttpResponse:
    """The votes of the rater behind this request, newest first (nobody else's)."""
    rater = request_rater(request)
    votes = (
        Vote.objects.filter(rater=rater).select_related("battle__model_a", "battle__model_b")
        if rater
        else Vote.objects.none()
    )
    return render(request, "battles/votes.html", {"votes": votes[:MY_VOTES_SHOWN]})


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
        check_rate(Action.VOTE, rater=battle.rater, ip=client_ip(request))
        vote_record(battle=battle, winner=request.POST.get("winner", ""), feedback=feedback)
    except Limited as error:
        return _limited(_message(request, str(error), status=429, target=VOTE_MSG), error)
    except BattleError as error:
        return _message(request, str(error), status=400, target=VOTE_MSG)
    if not request.htmx:
        return HttpResponse(status=303, headers={"Location": battle.get_absolute_url()})
    return _with_resync(
        render(request, "battles/battle.html#after-vote", {"view": battle_view(battle.pk)})
    )


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
        check_rate(Action.BATTLE, rater=battle.rater, ip=client_ip(request))
        turn_add(battle=battle, prompt=request.POST.get("prompt", ""))
    except Limited as error:
        return _limited(_message(request, str(error), status=429, target=FOLLOW_UP_MSG), error)
    except BattleError as error:
        return _message(request, str(error), status=400, target=FOLLOW_UP_MSG)
    return _with_resync(
        render(request, "battles/battle.html#after-follow-up", {"view": battle_view(battle.pk)})
    )


@require_POST
def battle_rerun(request: HtmxHttpRequest, battle_id: uuid.UUID, response_id: int) -> HttpResponse:
    battle = _own_battle(request, battle_id)
    beside_run = rerun_message_id(response_id)
    try:
        check_rate(Action.RUN, rater=battle.rater, ip=client_ip(request))
        response_rerun(
            battle=battle,
            response_id=response_id,
            code=request.POST.get("code", ""),
            language=request.POST.get("language", ""),
            stdin=request.POST.get("stdin", ""),
            packages=request.POST.get("packages", ""),
        )
    except Limited as error:
        return _limited(_message(request, str(error), status=429, target=beside_run), error)
    except BattleError as error:
        return _message(request, str(error), status=400, target=beside_run)
    if request.htmx:  # the websocket brings the new run; an earlier refusal goes away
        return _message(request, "", status=200, target=beside_run)
    return HttpResponse(status=303, headers={"Location": battle.get_absolute_url()})


@csp_exempt()  # type: ignore[arg-type]  # django-csp types views as request-only
@require_GET
def run_artifact(request: HttpRequest, battle_id: uuid.UUID, artifact_id: int) -> HttpResponse:
    battle = _viewable_battle(request, battle_id)
    item = Artifact.objects.filter(pk=artifact_id, execution__response__turn__battle=battle).first()
    if item is None:
        raise Http404("Not found.")
    return artifact_response(item)


def _with_resync(response: HttpResponse) -> HttpResponse:
    """This answer swaps in parts the page's socket also sends, as they were when it was
    rendered. The socket sends only what changed since its own last message, so a newer
    state it already sent would never come again: once the answer has settled, the page
    asks its socket for everything anew (arena.js)."""
    return trigger_client_event(response, RESYNC_EVENT, after="settle")


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


def _message(
    request: HtmxHttpRequest, text: str, *, status: int, target: str = "flash"
) -> HttpResponse:
    """A refusal, shown beside the control that caused it (`target`, an element id)."""
    context = {"message": text, "message_id": target}
    response = render(request, "battles/battle.html#flash", context, status=status)
    if request.htmx:
        response = reswap(retarget(response, f"#{target}"), "outerHTML")
    return response


def _limited(response: HttpResponse, error: Limited) -> HttpResponse:
    """429 with the page's own message, the wait, and a toast wherever the swap lands."""
    response.status_code = 429
    response["Retry-After"] = str(error.retry_after_s)
    trigger_client_event(response, "arena:limited", {"message": str(error)})
    return response
