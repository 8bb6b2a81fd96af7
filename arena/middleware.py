"""When the database is briefly out of reach (a restart, a full pool), a request gets a
clear 503 that says nothing was saved, not a 500: the transaction rolled back, so
retrying is safe, and a vote counted once is never counted twice."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from psycopg_pool import PoolTimeout

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "The arena is briefly unavailable. Nothing you sent was saved; please try again in a "
    "few seconds."
)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_outage(exception):
            return None  # a real bug: Django's 500 handling (and the log) take it
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        return HttpResponse(
            UNAVAILABLE,
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": "5"},
        )


def _is_outage(error: Exception) -> bool:
    # OperationalError also covers a lock timeout on SQLite: "try again" all the same.
    return isinstance(error, PoolTimeout | InterfaceError | OperationalError)
