#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian 12 machine, then run it.
# Idempotent: what is already there is left alone. Services run for real: the
# suite talks to PostgreSQL, Redis, a Celery worker, the sandbox and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
  missing=()
  for pkg in bubblewrap chromium chromium-driver golang-go socat; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  # Node.js may come from elsewhere with its own npm (Debian's npm would conflict with it).
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== apt: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
. .venv/bin/activate
echo "== pip install -e .[dev]"
pip install -q --disable-pip-version-check -e '.[dev]'
echo "== sandbox runtime"
python -m executors setup

# PostgreSQL and Redis: start them if they are down (commands of this machine kind).
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "== starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 1; done
fi

# A real Docker-API engine (rootful Podman) and the sandbox image, cached between runs:
# the executor suite runs on it as well as on bubblewrap.
if [ "$(id -u)" = 0 ]; then
  echo "== Docker-API engine and sandbox image"
  eval "$(bash deploy/engine/start.sh)"
  echo "== compose file validates against the engine"
  docker-compose -H "$DOCKER_HOST" -f deploy/compose.yaml --env-file deploy/env.example config -q
fi

export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/arena}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export SECRET_KEY="test-only-secret-key-not-for-production"
# The arena's tests keep bubblewrap; the executor suite names both backends itself.
export EXECUTOR_BACKEND="${EXECUTOR_BACKEND:-bwrap}"
export ARENA_FORBID_SKIPS=1  # a skipped service, sandbox or browser test is a failure here
echo "== pytest"
python -m pytest "$@"
if [ $# -eq 0 ]; then
  # The whole suite ran in service configuration; the fuzzers run once more embedded
  # (SQLite, memory caches and limits, jobs in the process), the other mode.
  echo "== pytest: the fuzzers in embedded mode"
  env -u DATABASE_URL -u REDIS_URL python -m pytest tests/web/test_fuzz.py -q
fi
