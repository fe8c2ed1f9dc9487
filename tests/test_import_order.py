"""Every module of the project imports on its own, as the first of the project's modules a
process loads.

Why: a process starts from whichever module its entry point names (``civicwatch worker`` runs
the migrations, and alembic loads a migration file that imports ``service.reject_reasons``
before anything else), so an import cycle between two modules breaks only the processes that
happen to start on one side of it. The suite, which imports the app first, passed while
``civicwatch worker`` could not start. Each module is imported in a child forked from a process
that holds only the third-party packages, so the project's own import order is the module's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("civicwatch", "detector", "service")

# Runs in one fresh interpreter: load the heavy third-party packages once, then fork a child per
# project module (as many at once as there are cores) so each starts with no project module
# loaded. Prints "name: error" per failure.
CHECKER = r"""
import importlib, importlib.util, os, sys, traceback
for shared in ("numpy", "cv2", "sqlalchemy", "fastapi", "pydantic", "alembic", "onnx", "onnxruntime",
               "av", "PIL.Image", "yaml", "scipy.optimize", "scipy.sparse", "cryptography.x509",
               "argon2", "httpx", "jinja2", "celery", "kombu", "shapely", "pydantic_settings",
               "prometheus_client", "statistics", "argparse", "tarfile"):
    try:  # loaded once here, not once per child; an optional package may be missing
        importlib.import_module(shared)
    except ImportError:
        pass
assert not any(m.split(".")[0] in ("civicwatch", "detector", "service") for m in sys.modules)
failed = 0
running = set()
for name in sys.argv[1:] + [None] * os.cpu_count():
    while running and (name is None or len(running) >= os.cpu_count()):
        pid, status = os.wait()  # as many children at once as there are cores
        running.discard(pid)
        failed += status != 0
    if name is None:
        continue
    pid = os.fork()
    if pid == 0:
        try:
            if name.endswith(".py"):  # a migration file, loaded by path as alembic loads it
                spec = importlib.util.spec_from_file_location("migration", name)
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            else:
                importlib.import_module(name)
        except BaseException:
            print(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}", flush=True)
            os._exit(1)
        os._exit(0)
    running.add(pid)
sys.exit(1 if failed else 0)
"""


def _project_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO)
            if "versions" in relative.parts:  # migration files are no package: loaded by path
                names.append(str(path))
                continue
            if relative.parts[-1] == "env.py" and "migrations" in relative.parts:
                continue  # alembic's env.py runs only inside alembic's context
            parts = relative.with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_first_in_a_fresh_process():
    modules = _project_modules()
    assert "service.reject_reasons" in modules and any(m.endswith(".py") for m in modules)
    result = subprocess.run([sys.executable, "-c", CHECKER, *modules], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
