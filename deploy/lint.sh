#!/usr/bin/env bash
# Static checks CI runs after the tests: style, formatting, types and the layer contracts.
# Needs the .venv that deploy/test.sh creates.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
echo "== ruff check" && ruff check .
echo "== ruff format --check" && ruff format --check .
echo "== mypy" && mypy
echo "== lint-imports" && lint-imports
