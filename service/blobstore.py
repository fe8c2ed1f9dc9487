"""Where case evidence and published media live: the data folder (default) or an S3-compatible bucket.

A *key* is a path relative to the data folder, POSIX style (``jobs/3/run-1/cases/c1/clip.mp4``,
``published/J3-c1/ab12cd/published.mp4``): the very strings the database has always kept in
``Case.out_dir``, ``Case.evidence`` and ``Case.published_dir``, so switching stores rewrites no
row and ``LocalStore`` keeps the folder layout of every earlier version.

Writing: the pipeline, PyAV and OpenCV write files, so every writer (a job's run folder, published
media, a rendered annotated clip) still writes into the local data folder first and then hands
the folder over with ``commit_tree``: nothing to do for ``LocalStore`` (the files already are where
they live); ``S3Store`` uploads every file and removes the local copy, so a worker on another
machine leaves its evidence in the bucket and nothing on its own disk.

Reading: ``open`` gives one consistent version of an object (a local file opened once without
following symlinks; one S3 GET, which never mixes two versions of an object), which is what the
hash check on serve needs: what is hashed is what is sent (``service.verified_serve``). Code
that needs a file for a library (redaction, rendering, thumbnails) asks ``local_copy`` /
``local_tree``: the file itself for ``LocalStore``, a temporary download for ``S3Store``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from service.safe_files import servable

log = logging.getLogger(__name__)


class BadKey(ValueError):
    """A key that would lead out of the store (absolute, ``..``, empty)."""


def check_key(key: str) -> str:
    """``key`` as a clean relative POSIX path, or ``BadKey``: keys come from database rows, and a
    row edited to ``../../etc/passwd`` must not become a read outside the store."""
    p = PurePosixPath(str(key).replace("\\", "/"))
    if not str(key) or p.is_absolute() or any(part in ("..", "") for part in p.parts) or str(p) == ".":
        raise BadKey(f"not a store key: {key!r}")
    return p.as_posix()


def join(*parts: str) -> str:
    """Keys joined with ``/`` (``join(case.out_dir, rel)``)."""
    return check_key("/".join(str(p).strip("/") for p in parts if str(p).strip("/")))


class DeleteRefused(RuntimeError):
    """The store kept objects it was asked to delete (the message names some of them)."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    # Changes whenever the content may have: (size, mtime, ctime, inode, device) of a file, or
    # (ETag, Last-Modified, size, version) of an object. ``service.hash_cache`` keys digests on it.
    version: tuple
    mtime: float = 0.0  # seconds since the epoch: last written (the janitor's age of an orphan)


class BlobReader(Protocol):
    """One version of one object, read front to back."""

    size: int

    def read_at(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset`` (b"" at the end); S3 readers only read forwards."""

    def close(self) -> None: ...


class BlobStore(Protocol):
    kind: str  # "local" | "s3"

    def info(self, key: str) -> BlobInfo | None: ...
    def open(self, key: str) -> BlobReader | None: ...
    def put_file(self, key: str, path: Path) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def list(self, prefix: str) -> Iterator[BlobInfo]: ...
    def commit_tree(self, prefix: str, local_dir: Path, *, keep_local: bool = False) -> int: ...
    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]: ...
    def local_tree(self, prefix: str, names: list[str]) -> contextlib.AbstractContextManager[Path]: ...


# ---- reading helpers over any store ---------------------------------------------------------

def read_bytes(store: BlobStore, key: str, limit: int = 64 * 1024 * 1024) -> bytes | None:
    """The whole object (small ones: manifests, ``cases.json``), or None when it is not there."""
    reader = store.open(key)
    if reader is None:
        return None
    try:
        if reader.size > limit:
            raise ValueError(f"{key}: {reader.size} bytes is too large to read whole")
        out, pos = bytearray(), 0
        while chunk := reader.read_at(pos, reader.size - pos or 1):
            out += chunk
            pos += len(chunk)
        return bytes(out)
    finally:
        reader.close()


def sha256(store: BlobStore, key: str, chunk_size: int = 1024 * 1024) -> str | None:
    """SHA-256 of every byte of the object as it is now, or None when it is not there."""
    reader = store.open(key)
    if reader is None:
        return None
    digest, pos = hashlib.sha256(), 0
    try:
        while chunk := reader.read_at(pos, chunk_size):
            digest.update(chunk)
            pos += len(chunk)
    finally:
        reader.close()
    return digest.hexdigest()


def iter_chunks(store: BlobStore, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """The object's bytes in pieces (the export zip streams them); FileNotFoundError if absent."""
    reader = store.open(key)
    if reader is None:
        raise FileNotFoundError(key)
    pos = 0
    try:
        while chunk := reader.read_at(pos, chunk_size):
            pos += len(chunk)
            yield chunk
    finally:
        reader.close()


@dataclass(frozen=True)
class BlobRef:
    """An object to stream into a response or an export zip (``service.api.zipstream``)."""

    store: Any
    key: str
    size: int


# ---- the data folder ------------------------------------------------------------------------

class FileReader:
    """A regular file opened once, never through a symlink; reads come from that descriptor."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size

    def read_at(self, offset: int, n: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def open_file(path: Path) -> FileReader | None:
    """``path`` opened for reading with O_NOFOLLOW (a symlink put in its place is not followed);
    None when it is missing or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        return None
    return FileReader(fd, st.st_size)


class LocalStore:
    """Keys are files under ``root`` (the data folder): the layout CivicWatch always had."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _safe(self, key: str) -> Path | None:
        try:
            path = self.path(key)
        except BadKey:
            return None
        return path if servable(path, self.root) else None

    def info(self, key: str) -> BlobInfo | None:
        path = self._safe(key)
        if path is None:
            return None
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            return None
        # ctime too: writing a file and setting its mtime back still moves its ctime
        return BlobInfo(key, st.st_size, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev),
                        st.st_mtime)

    def open(self, key: str) -> FileReader | None:
        path = self._safe(key)
        return open_file(path) if path is not None else None

    def put_file(self, key: str, path: Path) -> None:
        dest = self.path(key)
        if Path(path).resolve() == dest.resolve():
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # per thread too
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)

    def put_bytes(self, key: str, data: bytes) -> None:
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # per thread too
        tmp.write_bytes(data)
        os.replace(tmp, dest)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        target = self.path(prefix)
        if target.is_dir() and not target.is_symlink():
            n = sum(1 for p in target.rglob("*") if p.is_file())
            shutil.rmtree(target, ignore_errors=True)
            return n
        if target.is_file() or target.is_symlink():
            target.unlink(missing_ok=True)
            return 1
        return 0

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        base = self.path(prefix)
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in sorted(files):
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                found = self.info(key)
                if found is not None:
                    yield found

    def commit_tree(self, prefix: str, local_dir: Path, *, keep_local: bool = False) -> int:
        """The files already live here when they were written in place (every writer does that)."""
        dest = self.path(prefix)
        if Path(local_dir).resolve() == dest.resolve():
            return 0
        shutil.copytree(local_dir, dest, dirs_exist_ok=True, symlinks=True)
        if not keep_local:
            shutil.rmtree(local_dir, ignore_errors=True)
        return sum(1 for p in dest.rglob("*") if p.is_file())

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._safe(key)
        if path is None:
            raise FileNotFoundError(key)
        yield path

    @contextlib.contextmanager
    def local_tree(self, prefix: str, names: list[str]) -> Iterator[Path]:
        yield self.path(prefix)


# ---- an S3-compatible bucket ------------------------------------------------------------------

class S3Reader:
    """One GET of one object: its body read forwards (a single GET is a single object version)."""

    def __init__(self, body: Any, size: int) -> None:
        self.body, self.size, self.pos = body, size, 0

    def read_at(self, offset: int, n: int) -> bytes:
        if offset != self.pos:
            raise ValueError(f"an S3 body reads forwards only (at {self.pos}, asked {offset})")
        chunk = self.body.read(n)
        self.pos += len(chunk)
        return chunk

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.body.close()


class S3Store:
    """Keys are objects ``<prefix><key>`` in one bucket of an S3-compatible server (boto3)."""

    kind = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "", scratch: Path | None = None) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.scratch = scratch  # local folder for temporary downloads (None: the system's temp)

    @classmethod
    def from_settings(cls, settings: Any) -> "S3Store":
        import boto3
        from botocore.config import Config

        config = Config(s3={"addressing_style": settings.s3_addressing_style}, signature_version="s3v4",
                        retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.s3_endpoint_url, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id, aws_secret_access_key=settings.s3_secret_access_key,
            config=config)
        return cls(client, settings.s3_bucket, settings.s3_prefix, Path(settings.data_dir) / "cache" / "s3")

    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    @staticmethod
    def _missing(err: Exception) -> bool:
        code = str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _object(self, call: str, key: str) -> dict | None:
        """``head_object`` / ``get_object`` of ``key``; None when there is no such object (or the key
        could never name one)."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, call)(Bucket=self.bucket, Key=self._k(key))
        except ClientError as err:
            if self._missing(err):
                return None
            raise
        except BadKey:
            return None

    def info(self, key: str) -> BlobInfo | None:
        head = self._object("head_object", key)
        if head is None:
            return None
        size, when = int(head["ContentLength"]), head.get("LastModified")
        return BlobInfo(key, size, (head.get("ETag"), str(when), size, head.get("VersionId")),
                        when.timestamp() if when else 0.0)

    def open(self, key: str) -> S3Reader | None:
        got = self._object("get_object", key)
        if got is None:
            return None
        return S3Reader(got["Body"], int(got["ContentLength"]))

    def put_file(self, key: str, path: Path) -> None:
        # upload_file: multipart above 8 MiB, each part retried; long clips need no special case
        self.client.upload_file(str(path), self.bucket, self._k(key))

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``. Raises ``DeleteRefused`` when the bucket refuses
        any of them: DeleteObjects answers 200 and lists per-key failures (AccessDenied, a legal
        hold) in its body, so without this check a refused delete looked like a done one and the
        caller never learnt that objects stayed."""
        keys = [self.prefix + b.key for b in self.list(prefix)]
        refused: list[str] = []
        for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
            refused += [f"{e.get('Key', '?')}: {e.get('Code', '?')}" for e in answer.get("Errors", [])]
        if refused:
            raise DeleteRefused(f"the bucket refused to delete {len(refused)} of {len(keys)} objects under "
                                f"{prefix}: {'; '.join(refused[:3])}")
        return len(keys)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        full = self.prefix + check_key(prefix).rstrip("/") + "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                size, when = int(obj["Size"]), obj.get("LastModified")
                yield BlobInfo(obj["Key"][len(self.prefix):], size, (obj.get("ETag"), str(when), size, None),
                               when.timestamp() if when else 0.0)

    def commit_tree(self, prefix: str, local_dir: Path, *, keep_local: bool = False) -> int:
        """Upload every regular file under ``local_dir`` to ``prefix/<relative path>`` (symlinks are
        not evidence and are skipped), then remove the local folder unless ``keep_local``."""
        local_dir, n = Path(local_dir), 0
        for path in sorted(local_dir.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            self.put_file(join(prefix, path.relative_to(local_dir).as_posix()), path)
            n += 1
        if not keep_local:
            shutil.rmtree(local_dir, ignore_errors=True)
        return n

    def _tempdir(self) -> tempfile.TemporaryDirectory:
        if self.scratch is not None:
            self.scratch.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix="blob-", dir=self.scratch)

    def _download(self, key: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._k(key), str(dest))
        except ClientError as err:
            if self._missing(err):
                raise FileNotFoundError(key) from None
            raise

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with self._tempdir() as tmp:
            dest = Path(tmp) / PurePosixPath(check_key(key)).name  # the suffix tells decoders the type
            self._download(key, dest)
            yield dest

    @contextlib.contextmanager
    def local_tree(self, prefix: str, names: list[str]) -> Iterator[Path]:
        """A temporary folder holding ``prefix/<name>`` for each name that exists, as ``<name>``."""
        with self._tempdir() as tmp:
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    self._download(join(prefix, name), Path(tmp) / check_key(name))
            yield Path(tmp)


# ---- the store of a configuration -----------------------------------------------------------

_stores: dict[tuple, BlobStore] = {}
_stores_lock = threading.Lock()


def evidence_store(settings: Any) -> BlobStore:
    """The store ``settings`` name; one per configuration (a boto3 client is thread-safe and dear
    to make, so it is shared)."""
    if getattr(settings, "storage", "local") != "s3":
        return LocalStore(Path(settings.data_dir))
    ident = ("s3", str(settings.data_dir), settings.s3_bucket, settings.s3_endpoint_url, settings.s3_prefix,
             settings.s3_region, settings.s3_access_key_id, settings.s3_secret_access_key,
             settings.s3_addressing_style)
    with _stores_lock:
        store = _stores.get(ident)
        if store is None:
            store = _stores[ident] = S3Store.from_settings(settings)
        return store


def as_store(where: "BlobStore | Path | str") -> BlobStore:
    """A store from what older callers pass: a data folder path means the local store there."""
    return LocalStore(Path(where)) if isinstance(where, (str, os.PathLike)) else where
