#!/usr/bin/env bash
# The test command: sets up .venv, starts the services the tests need, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
exec .venv/bin/python -m pytest "$@"
