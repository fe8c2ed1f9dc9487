"""``civicwatch verify DIR_OR_ZIP [--key PUBKEY]``: re-hash an analysis output folder or a case
export zip against its manifest, and check the manifest's Ed25519 signature.

The signature is checked with ``--key`` (the public key the service publishes at
``/api/signing-key``, or any installation's public key PEM) or else this machine's own key
(``$CIVICWATCH_SIGNING_KEY`` or ``~/.config/civicwatch/signing-key.pem``); never with the key the
folder itself carries. Exit 0 when every listed file is intact and the signature verifies, 1
naming each problem (a changed or missing file, an unsigned or wrongly signed manifest), 2 when
there is nothing to verify against (no readable manifest) or the key cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _key(args: argparse.Namespace):  # noqa: ANN202 - Ed25519PublicKey | None, imported lazily
    from detector.signing import default_key_path, load_public_key

    if args.key is not None:
        return load_public_key(args.key)
    local = default_key_path()
    return load_public_key(local) if local.is_file() else None


def run(args: argparse.Namespace) -> int:
    import zipfile

    from detector.signing import SigningKeyError
    from detector.evidence.verification import looks_like_cut_zip, verify_evidence

    target = Path(args.dir)
    if not target.exists():  # else "missing: manifest.json", as for a folder that lacks one
        print(f"ERROR: {args.dir}: no such folder or zip file", file=sys.stderr)
        return 2
    if target.is_file() and not zipfile.is_zipfile(target):
        why = ("a damaged or truncated zip: its end, the list of its files, is missing (copy or download it again) "
               "/ zip 文件不完整或已损坏，请重新复制或下载" if looks_like_cut_zip(target)
               else "neither an output folder nor a zip file")
        print(f"ERROR: {args.dir}: {why}", file=sys.stderr)
        return 2
    if args.source is not None and not args.source.is_file():
        why = "a folder, not a video file" if args.source.is_dir() else "no such file"
        print(f"ERROR: --source {args.source}: {why}", file=sys.stderr)
        return 2
    try:
        key = _key(args)
    except SigningKeyError as err:
        print(f"ERROR: key: {err}", file=sys.stderr)
        return 2
    report = verify_evidence(target, key, source=args.source, strict=args.strict,
                             allow_unsigned=args.allow_unsigned)
    if report.manifest_error:
        print(f"ERROR: {args.dir}: {report.manifest_error}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(f"NOTE: {note}")
    checked = report.hashes.files_checked
    if report.problems:
        for problem in report.problems:
            print(f"FAIL: {problem}")
        print(f"{len(report.problems)} problem(s) in {checked} file(s) checked")
        return 1
    signed = f", {report.signature.detail}" if report.signature.ok else ", unsigned"
    print(f"OK: {checked} files verified{signed}")
    if args.source is not None:
        h = report.hashes
        print(f"OK: source matches; {h.originals_copied} clip(s) hold its packets byte for byte"
              + (f", {h.originals_transcoded} transcoded from it" if h.originals_transcoded else ""))
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "verify", help="check an analysis output folder or case export zip against its signed manifest",
        description="Re-hash an analysis output folder (or a case export zip) against its manifest.json and "
                    "check the manifest's signature (manifest.sig).")
    parser.add_argument("dir", metavar="DIR_OR_ZIP", help="output folder holding manifest.json, or an export zip")
    parser.add_argument("--key", type=Path, default=None, metavar="PUBKEY",
                        help="public key PEM to check the signature with (e.g. saved from the service's "
                             "/api/signing-key); default: this machine's own signing key")
    parser.add_argument("--source", type=Path, default=None, help="also check this source video's hash, and that stream-copied clips hold its packets")
    parser.add_argument("--strict", action="store_true",
                        help="also report files the manifest does not list (always on for zips)")
    parser.add_argument("--allow-unsigned", action="store_true",
                        help="accept a folder written before manifests were signed (hashes only; not a zip: "
                             "every export is signed)")
    parser.set_defaults(func=run)
    return parser
