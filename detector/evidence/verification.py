"""One check for everything ``civicwatch verify`` accepts: an analysis folder or a case export zip.

Both carry ``manifest.json`` (every file's SHA-256) and ``manifest.sig`` (an Ed25519 signature
over the manifest). The hashes say the files are the ones listed; the signature, checked with a
key the checker trusts, says the list is the one the installation wrote. Either failing is a
problem. A zip is read into a temporary folder and checked strictly: a file nobody signed for
has no business in an export.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from detector.evidence.manifest import MANIFEST, VerifyResult, verify_report
from detector.signing import SIGNATURE, SignatureCheck, check_signature


@dataclass
class EvidenceReport:
    target: str
    kind: str  # "folder" | "zip"
    hashes: VerifyResult
    signature: SignatureCheck
    allow_unsigned: bool = False
    archive_problems: list[str] = field(default_factory=list)
    strict: bool = True  # unlisted files are problems (always for zips)

    @property
    def manifest_error(self) -> str | None:
        return self.hashes.manifest_error

    @property
    def signature_accepted(self) -> bool:
        # ``allow_unsigned`` is for analysis folders written before signing. Every export zip is
        # signed (its manifest.json came with manifest.sig): one without had its signature taken out.
        return self.signature.ok or (self.allow_unsigned and self.kind == "folder"
                                     and self.signature.status == "unsigned")

    @property
    def problems(self) -> list[str]:
        named = {p.split(": ", 1)[1].split(" (", 1)[0] for p in self.archive_problems}  # not "missing" too
        out = list(self.archive_problems)
        out += [p for p in self.hashes.problems if not (p.startswith("missing: ") and p[9:] in named)]
        if not self.signature_accepted and SIGNATURE not in _damaged_members(self.archive_problems):
            # a damaged manifest.sig is named above: it is not "no manifest.sig"
            why = ("; every case export is signed, and --allow-unsigned is for analysis folders written before "
                   "signing / 导出的案件包都有签名" if self.kind == "zip" and self.signature.status == "unsigned" else "")
            out.append(f"signature: {self.signature.detail}{why}")
        return out

    @property
    def ok(self) -> bool:
        return self.manifest_error is None and not self.problems

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.signature.status == "unsigned" and self.allow_unsigned and self.kind == "folder":
            notes.append("unsigned (accepted with --allow-unsigned): the hashes show the files match this manifest, "
                         "not who wrote it / 未签名：仅校验了哈希")
        if not self.strict and self.hashes.unlisted:
            # Without --strict a file put in the folder afterwards (a made-up case, say) was passed
            # over in silence, and "OK" read as if it were vouched for too.
            shown = ", ".join(self.hashes.unlisted[:10]) + (" ..." if len(self.hashes.unlisted) > 10 else "")
            notes.append(f"{len(self.hashes.unlisted)} file(s) not in the manifest, so not vouched for "
                         f"(--strict refuses them; annotated.mp4 from `render` is one): {shown} "
                         "/ 清单未列出的文件未经校验")
        return notes


# Room left on the disk after unpacking: the checker often runs on the review server, whose
# uploads, evidence and database share that disk.
UNPACK_RESERVE_BYTES = 256 * 1024 * 1024


class ZipTooLarge(Exception):
    """The zip's members would not fit on the disk it is unpacked to (a zip bomb, or no room)."""


def _check_room(zf: zipfile.ZipFile, dest: Path) -> None:
    """Refuse, before writing a byte, a zip whose members would fill the disk. A few megabytes of
    zeros (or members that share their compressed bytes) can unpack to terabytes; each member's
    declared size bounds what ``zipfile`` will produce for it, so their sum is what unpacking needs."""
    need = sum(i.file_size for i in zf.infolist() if not i.is_dir())
    free = shutil.disk_usage(dest).free
    if need > free - UNPACK_RESERVE_BYTES:
        raise ZipTooLarge(f"its files would take {need} bytes unpacked, and only {free} bytes are free where it "
                          f"is unpacked ({UNPACK_RESERVE_BYTES} kept free); set TMPDIR to a folder on a larger disk")


def _extract(zip_path: Path, dest: Path) -> list[str]:
    """Unpack ``zip_path`` into ``dest``; returns the members that could not be read intact."""
    problems: list[str] = []
    seen: set[tuple[str, ...]] = set()
    with zipfile.ZipFile(zip_path) as zf:
        _check_room(zf, dest)
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            parts = PurePosixPath(name).parts
            if not name or name.startswith("/") or "\\" in name or ".." in parts:
                problems.append(f"unsafe name in zip: {name!r}")
                continue
            # A second member of one name (``a/x.jpg``, ``a//x.jpg``) would overwrite the first
            # here, while a viewer may show the first: one zip, two contents. An export writes
            # each file once, so a repeated name is a problem, never a choice between them.
            if parts in seen:
                problems.append(f"duplicate name in zip: {'/'.join(parts)} (given more than once)")
                continue
            seen.add(parts)
            target = dest.joinpath(*parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                out = open(target, "wb")
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                # ``a.jpg`` and ``a.jpg/x``: no export writes a name that is both. Named, not the
                # "File exists" of the checker's temporary folder (exit 2, as an unreadable zip).
                problems.append(f"unsafe name in zip: {name} (both a file and a folder in this zip)")
                continue
            with out:
                why = _copy_member(zf, info, out)
            if why is not None:
                target.unlink(missing_ok=True)
                problems.append(f"corrupt in zip: {name} ({why})")
    return problems


# What reading one member raises when its bytes are damaged: a bad header or CRC, a bad deflate
# stream, data cut short, an offset before the start of the file (bytes cut out ahead of it:
# EINVAL on the seek), a method or an encryption this checker cannot read.
_MEMBER_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, out) -> str | None:  # noqa: ANN001
    """Copy one member into ``out``; why it could not be read, or None. Only reading is caught: a
    write that fails (a full disk) is the checker's problem, not the zip's."""
    try:
        src = zf.open(info)
    except _MEMBER_READ_ERRORS as err:
        return _why(err)
    with src:
        while True:
            try:
                chunk = src.read(1024 * 1024)
            except _MEMBER_READ_ERRORS as err:
                return _why(err)
            if not chunk:
                return None
            out.write(chunk)


def _why(err: BaseException) -> str:
    if isinstance(err, OSError):  # the zip's own errors are not OSErrors: a seek or read of the file failed
        return "its data is not where the zip's list of files says: bytes are missing from the zip"
    return str(err)


def _damaged_members(archive_problems: list[str]) -> dict[str, str]:
    """{member name: the problem} for members the zip holds but that could not be read."""
    prefix = "corrupt in zip: "
    return {p[len(prefix):].split(" (", 1)[0]: p for p in archive_problems if p.startswith(prefix)}


def looks_like_cut_zip(path: Path) -> bool:
    """A file that starts as a zip does (a member's local header) but that ``zipfile`` cannot
    open: its end, the list of members, is missing (a download or copy cut short)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def verify_evidence(path: Path, key: Ed25519PublicKey | None, *, source: Path | None = None,
                    strict: bool = False, allow_unsigned: bool = False) -> EvidenceReport:
    """Hashes and signature of the folder or zip at ``path``, checked with ``key`` (None: none known)."""
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="civicwatch-verify-") as tmp:
            try:
                archive_problems = _extract(path, Path(tmp))
            except ZipTooLarge as err:
                return EvidenceReport(str(path), "zip", VerifyResult(manifest_error=f"zip not unpacked: {err}"),
                                      SignatureCheck("unreadable", "zip not unpacked"), allow_unsigned)
            except (zipfile.BadZipFile, OSError) as err:
                return EvidenceReport(str(path), "zip", VerifyResult(manifest_error=f"unreadable zip ({err})"),
                                      SignatureCheck("unreadable", "zip unreadable"), allow_unsigned)
            hashes = verify_report(Path(tmp), source=source, strict=True)
            damaged = _damaged_members(archive_problems).get(MANIFEST)
            if hashes.manifest_error is not None and damaged is not None:
                hashes.manifest_error = damaged  # in the zip, but unreadable: not "missing"
            signature = check_signature(Path(tmp), key)
            return EvidenceReport(str(path), "zip", hashes, signature, allow_unsigned, archive_problems)
    hashes = verify_report(path, source=source, strict=strict)
    return EvidenceReport(str(path), "folder", hashes, check_signature(path, key), allow_unsigned, strict=strict)
