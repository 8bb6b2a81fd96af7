from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from arena.raters.models import Rater

SESSION_KEY = "rater_uuid"


def rater_for_request(request: HttpRequest, *, create: bool = True) -> Rater | None:
    """The rater behind this browser: the signed-in user's, else the session's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Rater.objects.get_or_create(user=user)[0]
    rater_uuid = request.session.get(SESSION_KEY)
    known = Rater.objects.filter(uuid=rater_uuid).first() if rater_uuid else None
    if known is not None:
        return known
    if not create:
        return None
    rater = Rater.objects.create(consented_at=timezone.now())
    request.session[SESSION_KEY] = str(rater.uuid)
    return rater
