"""Who is rating: the signed-in user's rater, else the one a signed cookie names. One
lookup for pages and websockets alike. A rater is created only when someone acts (starts
a first battle, having agreed to the terms), never for a page view."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from arena.raters.models import ConsentTerms, Rater

COOKIE_NAME = "arena_rater"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
_NEW_RATER = "_arena_new_rater"  # the request attribute the middleware reads


class ConsentNeeded(Exception):
    """The first battle needs the rater's agreement to the terms."""


def _signer() -> signing.Signer:
    return signing.get_cookie_signer(salt=f"arena.raters.{COOKIE_NAME}")


def rater_uuid_from(cookies: Mapping[str, str]) -> str | None:
    """The rater the cookie names, if its signature is ours (a forged one names nobody)."""
    value = cookies.get(COOKIE_NAME)
    if not value:
        return None
    try:
        return _signer().unsign(value)
    except signing.BadSignature:
        return None


def known_rater(user: Any, cookies: Mapping[str, str]) -> Rater | None:
    """The rater behind a user and a cookie, if there is one yet. A cookie names only an
    anonymous rater: once its browser made it an account's, it is that account's alone
    (signed out, the browser is anonymous again and starts afresh)."""
    if user is not None and user.is_authenticated:
        return Rater.objects.filter(user=user).first()
    rater_uuid = rater_uuid_from(cookies)
    if not rater_uuid:
        return None
    return Rater.objects.filter(uuid=rater_uuid, user__isnull=True).first()


def claim_anonymous_rater(user: Any, cookies: Mapping[str, str]) -> Rater | None:
    """On sign-up or sign-in: the browser's anonymous rater becomes the account's, with
    its consent, battles and votes, unless the account has a rater already (one rater per
    account: the other browser's history then stays with that browser's cookie)."""
    anonymous = known_rater(None, cookies)
    if anonymous is None or Rater.objects.filter(user=user).exists():
        return None
    Rater.objects.filter(pk=anonymous.pk, user__isnull=True).update(user=user)
    anonymous.refresh_from_db()
    return anonymous


def request_rater(request: HttpRequest) -> Rater | None:
    """The rater behind this request, never created: for pages that only read."""
    return known_rater(getattr(request, "user", None), request.COOKIES)


def needs_consent(rater: Rater | None) -> bool:
    return rater is None or rater.consented_at is None


def rater_for_request(request: HttpRequest, *, consent: bool) -> Rater:
    """The rater behind this request, created (or its consent recorded) when it acts for
    the first time with `consent` given. Call inside a transaction: if the action fails,
    the new rater goes with it, and no cookie names it."""
    user = getattr(request, "user", None)
    rater = request_rater(request)
    if not needs_consent(rater):
        assert rater is not None
        return rater
    if not consent:
        raise ConsentNeeded("Please read the terms below and tick the box to start.")
    fields = {"consented_at": timezone.now(), "consent_text": ConsentTerms.current_text()}
    if rater is not None:
        Rater.objects.filter(pk=rater.pk).update(**fields)
        rater.refresh_from_db()
        return rater
    if user is not None and user.is_authenticated:
        return Rater.objects.update_or_create(user=user, defaults=fields)[0]
    rater = Rater.objects.create(**fields)
    setattr(request, _NEW_RATER, rater)
    return rater


def cookie_value(rater: Rater) -> str:
    return _signer().sign(str(rater.uuid))


def remember_rater(response: HttpResponse, rater: Rater) -> None:
    response.set_cookie(
        COOKIE_NAME,
        cookie_value(rater),
        max_age=COOKIE_MAX_AGE_S,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


class RaterCookieMiddleware:
    """Sends the cookie of a rater this request created, if the action that created it
    was kept (a refused one rolled the rater back)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        rater = getattr(request, _NEW_RATER, None)
        if isinstance(rater, Rater) and Rater.objects.filter(pk=rater.pk).exists():
            remember_rater(response, rater)
        return response
