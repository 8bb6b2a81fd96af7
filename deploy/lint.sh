#!/usr/bin/env bash
# Static checks CI runs after the tests: style, formatting, types, the layer contracts and
# a dependency audit.
# Needs the .venv that deploy/test.sh creates.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
echo "== ruff check" && ruff check .
echo "== ruff format --check" && ruff format --check .
echo "== mypy" && mypy
echo "== lint-imports" && lint-imports
# Known vulnerabilities in the installed dependencies (asks PyPI's advisory data: needs network).
echo "== pip-audit" && pip-audit --skip-editable --progress-spinner off
