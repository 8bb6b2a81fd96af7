"""Prometheus metrics: defined once here, recorded where things happen, served by
`/metrics` (arena/observability.py). Each process counts what it does; a service
scrapes the web processes and every worker (METRICS_PORT), embedded mode has one.

A bottom-layer module like logging: it imports only prometheus_client.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds, from a fast sandbox run to a slow model answer.
_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

EXECUTIONS = Counter(
    "arena_executions_total", "Sandbox runs finished, by outcome.", ["status", "language"]
)
EXECUTION_SECONDS = Histogram(
    "arena_execution_seconds", "Wall time of a sandbox run, start to stored.", buckets=_BUCKETS
)
GENERATIONS = Counter(
    "arena_generations_total", "Model answers finished, by outcome.", ["provider", "status"]
)
FIRST_TOKEN_SECONDS = Histogram(
    "arena_first_token_seconds", "Model latency to the first token.", ["provider"], buckets=_BUCKETS
)
GENERATION_SECONDS = Histogram(
    "arena_generation_seconds", "Model answer time, start to end.", ["provider"], buckets=_BUCKETS
)
VOTES = Counter("arena_votes_total", "Votes recorded.", ["winner"])
JOBS = Counter("arena_jobs_total", "Jobs run in this process, by outcome.", ["job", "outcome"])
WEBSOCKETS = Gauge("arena_websocket_connections", "Battle pages connected to this process.")
