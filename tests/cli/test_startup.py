"""``civicwatch --help`` starts fast because no command loads the heavy libraries up front."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("onnxruntime", "onnx", "cv2", "av", "torch", "sqlalchemy", "fastapi", "cryptography", "rapidocr")


def test_building_the_parser_imports_no_heavy_library():
    # In a fresh interpreter: the test session itself has imported everything already.
    code = (
        "import sys, civicwatch.cli as c; c.build_parser(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_demo_default_data_dir_matches_the_demo_runner():
    from civicwatch.commands.demo import DEFAULT_DATA_DIR
    from civicwatch.demo.run import DEFAULT_DATA_DIR as RUNNER_DEFAULT

    assert DEFAULT_DATA_DIR == RUNNER_DEFAULT


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "civicwatch.cli", "--help"], capture_output=True, text=True, check=True)
    for name in ("analyze", "verify", "render", "eval", "models", "serve", "users", "demo"):
        assert name in out.stdout
