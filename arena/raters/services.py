"""Who is rating: the signed-in user's rater, else the browser session's. One lookup
for pages and websockets alike."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone

from arena.raters.models import Rater

SESSION_KEY = "rater_uuid"


def known_rater(user: Any, session: SessionBase | None) -> Rater | None:
    """The rater behind a user and a session, if there is one yet."""
    if user is not None and user.is_authenticated:
        return Rater.objects.filter(user=user).first()
    rater_uuid = session.get(SESSION_KEY) if session is not None else None
    return Rater.objects.filter(uuid=rater_uuid).first() if rater_uuid else None


def request_rater(request: HttpRequest) -> Rater | None:
    """The rater behind this request, never created: for pages that only read."""
    return known_rater(getattr(request, "user", None), request.session)


def rater_for_request(request: HttpRequest) -> Rater:
    """The rater behind this request, created on first need: for requests that act."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Rater.objects.get_or_create(user=user)[0]
    rater = known_rater(None, request.session)
    if rater is None:
        rater = Rater.objects.create(consented_at=timezone.now())
        request.session[SESSION_KEY] = str(rater.uuid)
    return rater
