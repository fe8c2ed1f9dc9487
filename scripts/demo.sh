#!/usr/bin/env bash
# The main job: set up .venv, build the demo footage, analyse it in the service and serve the
# review UI (SQLite, local files, in-process worker) on http://127.0.0.1:8000. Ctrl-C stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/civicwatch demo run "$@"
