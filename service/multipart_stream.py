"""Stream a multipart/form-data body to disk as it arrives.

Starlette's ``request.form()`` spools files through the system temp dir and only then hands them
over; for multi-GB drone files we want the bytes to go straight into the data folder, the size
limit to stop the transfer early, and the hash to be computed on the way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from service.errors import ApiError

MAX_FIELD_BYTES = 64 * 1024
# All of a form's text fields together, held in memory. Each is capped above, but their number was
# not, and the body may be as large as the file limit: gigabytes of text in memory, 64 KiB per field
# name. (A part's header lines are capped by python-multipart, and forgotten at the next part.)
MAX_FORM_TEXT_BYTES = MAX_FIELD_BYTES * 16


@dataclass
class StreamedFile:
    field_name: str
    filename: str
    path: Path
    size: int = 0
    sha256: str = ""


@dataclass
class StreamedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, StreamedFile] = field(default_factory=dict)

    def cleanup(self) -> None:
        for f in self.files.values():
            f.path.unlink(missing_ok=True)


class _TooLarge(Exception):
    pass


def _too_large(max_file_bytes: int) -> ApiError:
    """The 413 of an upload over the limit, carrying ``limit_bytes`` as the resumable route's does,
    so a client (the upload page, a script) can say the limit without parsing the message."""
    return ApiError(413, f"upload larger than the limit of {max_file_bytes} bytes", limit_bytes=max_file_bytes)


async def stream_form(request: Request, tmp_dir: Path, max_file_bytes: int) -> StreamedForm:
    """Parse the body; files land in ``tmp_dir`` (caller moves or deletes them)."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPException(415, "expected a multipart/form-data body")
    # The whole body may hold the file plus a few short fields. A declared length over that is refused
    # before reading; the same cap is enforced on the bytes as they arrive (below), because a chunked
    # body has no Content-Length and a declared one may be smaller than what is sent.
    max_body = max_file_bytes + MAX_FIELD_BYTES * 16
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise _too_large(max_file_bytes)

    form = StreamedForm()
    state: dict = {"headers": {}, "field": None, "name": None, "file": None, "fh": None, "hash": None, "buf": bytearray(), "hdr": b"", "val": b""}
    tmp_dir.mkdir(parents=True, exist_ok=True)

    def on_part_begin() -> None:
        state["headers"] = {}
        state["buf"] = bytearray()

    def count_text(n: int) -> None:
        state["text"] = state.get("text", 0) + n
        if state["text"] > MAX_FORM_TEXT_BYTES:
            raise HTTPException(413, f"the form's text fields are longer than {MAX_FORM_TEXT_BYTES} bytes in all: "
                                     "send the video as the file part and only the few short fields")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hdr"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["val"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["hdr"].decode("latin-1").lower()] = state["val"]
        state["hdr"], state["val"] = b"", b""

    def on_headers_finished() -> None:
        _, disp = parse_options_header(state["headers"].get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        state["name"] = name
        if filename is not None:
            import secrets
            if name in form.files:  # a second part would replace (and orphan) the first one's file
                raise HTTPException(422, f"{name}: sent more than once; send one file per field")
            path = tmp_dir / f"form-{secrets.token_hex(8)}.part"
            sf = StreamedFile(name, filename.decode("utf-8", "replace"), path)
            form.files[name] = sf
            state["file"], state["fh"], state["hash"] = sf, open(path, "wb"), hashlib.sha256()
        else:
            state["file"] = None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        sf = state["file"]
        if sf is not None:
            sf.size += len(chunk)
            if sf.size > max_file_bytes:
                raise _TooLarge()
            state["fh"].write(chunk)
            state["hash"].update(chunk)
        else:
            count_text(len(chunk))
            state["buf"] += chunk
            if len(state["buf"]) > MAX_FIELD_BYTES:
                # most likely a file sent as a text field (curl -F 'file=<clip.mp4' instead of 'file=@clip.mp4')
                raise HTTPException(413, f"form field {state['name']!r} is longer than {MAX_FIELD_BYTES} bytes: "
                                         "a file must be sent as a file part, with a filename")

    def on_part_end() -> None:
        sf = state["file"]
        if sf is not None:
            state["fh"].close()
            state["fh"] = None
            sf.sha256 = state["hash"].hexdigest()
        else:
            form.fields[state["name"]] = bytes(state["buf"]).decode("utf-8", "replace")

    def on_end() -> None:  # the closing boundary: without it the body was cut off
        state["ended"] = True

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end, "on_end": on_end,
    })
    received = 0
    try:
        async for chunk in request.stream():
            # Without this, a body with no (or a lying) Content-Length could carry any number of file
            # parts, each just under the per-file limit, and fill the data disk before it is refused.
            received += len(chunk)
            if received > max_body:
                raise _TooLarge()
            parser.write(chunk)
        parser.finalize()
    except _TooLarge:
        _abort(state, form)
        raise _too_large(max_file_bytes) from None
    except HTTPException:
        _abort(state, form)
        raise
    except OSError:  # our disk, not the client's body (ENOSPC: 507 from service.errors)
        _abort(state, form)
        raise
    except Exception as err:  # noqa: BLE001 - malformed body from the client
        _abort(state, form)
        raise HTTPException(400, f"malformed multipart body: {err}") from None
    if state["fh"] is not None:  # body ended inside a file part
        _abort(state, form)
        raise HTTPException(400, "multipart body ended before the file was complete")
    if not state.get("ended"):  # ended inside a field after the file (python-multipart drops that part)
        _abort(state, form)
        raise HTTPException(400, "multipart body ended before its closing boundary (cut off in transfer?); "
                                 "nothing was stored, send it again")
    return form


def _abort(state: dict, form: StreamedForm) -> None:
    if state.get("fh") is not None:
        state["fh"].close()
        state["fh"] = None
    form.cleanup()
