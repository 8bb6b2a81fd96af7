"""What an operator watches: `/healthz` (database, Redis, workers) and `/metrics`
(Prometheus: this process's counters, plus the depth of every job queue)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from arena import jobs

WORKER_PING_SECONDS = 1.0


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part answers, 503 with the failing part named otherwise (for load
    balancers and compose health checks). Says nothing secret: part names and timings."""
    checks = {"database": _check(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _check(_redis_ping)
    if settings.JOBS_MODE == "celery":
        checks["workers"] = _check(_workers)
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _check(probe: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = probe()
    except Exception as error:  # any failure is the answer: this part is down
        return {"ok": False, "error": type(error).__name__, "ms": _ms_since(started)}
    return {"ok": True, "ms": _ms_since(started), **(detail or {})}


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _redis_ping() -> None:
    with _redis() as client:
        client.ping()


def _workers() -> dict[str, Any]:
    replies = current_app.control.ping(timeout=WORKER_PING_SECONDS) or []
    if not replies:
        raise RuntimeError("no worker answered")
    return {"count": len(replies)}


class QueueDepth(Collector):
    """Jobs waiting per queue, read from the broker at scrape time (service mode)."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering asks for the metric's name; without this it would call collect(),
        # which reads settings, at import time.
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = self._family()
        if settings.JOBS_MODE == "celery":
            with _redis() as client:
                for queue in jobs.QUEUES:
                    depth.add_metric([queue], int(client.llen(queue)))
        yield depth

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "arena_queue_depth", "Jobs waiting in each Celery queue.", labels=["queue"]
        )


REGISTRY.register(QueueDepth())


def serve_worker_metrics() -> None:
    """A Celery worker's own counters on METRICS_PORT (off when 0)."""
    if settings.METRICS_PORT:
        start_http_server(settings.METRICS_PORT)
