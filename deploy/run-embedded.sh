#!/usr/bin/env bash
# Set up and serve the arena in embedded mode: SQLite, in-process jobs, the
# bubblewrap sandbox and the offline demo models. Nothing else to install.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
# Previews are served on their own origins, one per side of a battle: two more ports of
# the same server (PREVIEW_PORT and the one after it).
export PREVIEW_PORT="${PREVIEW_PORT:-$((PORT + 1))}"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
. .venv/bin/activate
pip install -q --disable-pip-version-check -e .
python -m executors setup
python manage.py migrate -v0
python manage.py seed_demo
python manage.py seed_auto_arena
echo "Code Arena is running on http://$HOST:$PORT/ (previews on ports $PREVIEW_PORT and $((PREVIEW_PORT + 1)); Ctrl-C stops it)"
exec daphne -b "$HOST" -p "$PORT" -e "tcp:port=$PREVIEW_PORT:interface=$HOST" \
  -e "tcp:port=$((PREVIEW_PORT + 1)):interface=$HOST" arena.asgi:application
