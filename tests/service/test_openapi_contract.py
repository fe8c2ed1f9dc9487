"""The OpenAPI document is the service's contract: every route says what it answers (a response
model, or the media type of the file it sends), which errors it can give and in what shape, how
callers authenticate, and what body it reads. Real answers of the service validate against it.

The defects this guards against, each once true: a 422's ``detail`` documented as an array while
the service sends a sentence, 401/403/404/409/413/415 undocumented, no security schemes, upload
and camera forms undocumented (the routes read them by hand), ``Allow`` naming one route's
methods only on a 405, ``/metrics`` documented as JSON.
"""

from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest

from detector.evidence.case_record import CaseRecord, check_record
from service.api.case_schema import CaseDetail
from service.reject_reasons import REJECT_REASONS
from service.security import DISPLAY_COOKIE, SESSION_COOKIE

from .conftest import upload_clip
from .helpers import ORIGIN, SCENE_YAML, SHORT_CLIP

JSON = "application/json"
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def spec(env) -> dict:
    r = env.anon.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def success(op: dict) -> tuple[str, dict]:
    codes = [c for c in op["responses"] if c.startswith("2")]
    assert len(codes) == 1, codes
    return codes[0], op["responses"][codes[0]]


def named(schema: dict) -> bool:
    """A schema that is a named model (or a list / choice of named models), not a bare object."""
    if "$ref" in schema:
        return schema["$ref"].startswith("#/components/schemas/")
    if schema.get("type") == "array":
        return named(schema["items"])
    if "anyOf" in schema:
        return all(named(s) for s in schema["anyOf"])
    return False


def template_of(spec: dict, method: str, url: str) -> str:
    """The document's path template that ``url`` is an instance of."""
    path = url.split("?")[0]
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if method.lower() in item and re.match(pattern, path):
            return template
    raise AssertionError(f"{method} {path} is not in the document")


def conforms(spec: dict, response, method: str, url: str) -> dict | None:
    """Assert that a real answer is one the document promises: its status is documented for the
    operation, its media type too, and a JSON body validates against the documented schema."""
    op = spec["paths"][template_of(spec, method, url)][method.lower()]
    status = str(response.status_code)
    assert status in op["responses"], (
        f"{method} {url}: {status} is not documented: {sorted(op['responses'])}"
    )
    documented = op["responses"][status].get("content", {})
    if response.status_code == 204:
        assert not documented and not response.content
        return None
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in documented, (
        f"{method} {url}: {status} {media_type} is not documented: {list(documented)}"
    )
    if media_type != JSON:
        return None
    body = response.json()
    schema = {**documented[JSON]["schema"], "components": spec["components"]}
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in jsonschema_rs.validator_for(schema).iter_errors(body)
    ]
    assert not errors, (
        f"{method} {url} {status}: the body does not match its schema:\n"
        + "\n".join(errors[:10])
    )
    return body


# ---- (a) every route has a documented answer ---------------------------------------------------------


def test_every_operation_has_a_response_schema(spec):
    missing = []
    for method, path, op in operations(spec):
        status, response = success(op)
        content = response.get("content", {})
        if status == "204":
            assert not content, path
            continue
        if not content:
            missing.append(f"{method} {path}: {status} has no content")
        files = any(
            t != JSON for t in content
        )  # a file route (tracks.json is one of its files)
        for media_type, entry in content.items():
            schema = entry.get("schema", {})
            if media_type == JSON and not files and not named(schema):
                missing.append(
                    f"{method} {path}: {status} JSON is not a named model: {schema}"
                )
            elif (media_type != JSON or files) and not (
                named(schema) or schema.get("type") in ("string", "object")
            ):
                missing.append(f"{method} {path}: {status} {media_type} has no schema")
    assert not missing, "\n".join(missing)
    assert len(list(operations(spec))) >= 55


def test_non_json_answers_are_documented_as_what_they_are(spec):
    def content(method: str, path: str) -> dict:
        return success(spec["paths"][path][method])[1]["content"]

    assert list(content("get", "/metrics")) == ["text/plain"]
    assert list(content("get", "/api/audit/export")) == ["text/csv"]
    assert list(content("post", "/api/cases/export")) == ["application/zip"]
    assert set(content("get", "/api/signing-key")) == {JSON, "application/x-pem-file"}
    assert "video/mp4" in content("get", "/api/public/cases/{ref}/media/{kind}")
    assert {"video/mp4", "image/jpeg", JSON} <= set(
        content("get", "/api/cases/{case_id}/evidence/{kind}")
    )
    assert "image/jpeg" in content("get", "/api/cameras/{camera_id}/reference")


def test_the_case_is_one_schema(spec):
    """The case detail is built on the pipeline's record: the same parts, the same schemas."""
    schemas = spec["components"]["schemas"]
    for part in (
        "KeyFrame",
        "Clock",
        "Flight",
        "SourceMetadata",
        "TrackPoint",
        "PlateRead",
    ):
        assert part in schemas, part
        assert CaseRecord.model_fields[_field_of(part)].annotation is not None
    detail = schemas["CaseDetail"]["properties"]
    assert json.dumps(detail["key_frame"]).count("#/components/schemas/KeyFrame") == 1
    assert (
        json.dumps(detail["offender_track"]).count("#/components/schemas/TrackPoint")
        == 1
    )
    assert json.dumps(detail["clock"]).count("#/components/schemas/Clock") == 1
    assert set(CaseDetail.model_fields) >= set(
        spec["components"]["schemas"]["CaseSummary"]["properties"]
    )


def test_reject_reasons_are_one_list_of_codes(spec):
    """The reject body takes the codes the case schema gives back and the statistics count."""
    schemas = spec["components"]["schemas"]

    def codes(prop: dict) -> list[str]:
        (choice,) = [s for s in prop["anyOf"] if s.get("type") != "null"]
        return choice["enum"]

    for model in ("RejectIn", "BulkIn", "CaseSummary"):
        assert codes(schemas[model]["properties"]["reason_code"]) == list(REJECT_REASONS), model
    assert "reason_code" not in schemas["ReasonIn"]["properties"]  # withdraw: words only


def _field_of(part: str) -> str:
    return {
        "KeyFrame": "key_frame",
        "Clock": "clock",
        "Flight": "flight",
        "SourceMetadata": "source_metadata",
        "TrackPoint": "offender_track",
        "PlateRead": "plate",
    }[part]


def test_the_pipeline_writes_the_record_the_api_describes(evidence_template):
    records = json.loads((evidence_template / "cases.json").read_text(encoding="utf-8"))
    records = records["cases"] if isinstance(records, dict) else records
    assert len(records) == 2
    for record in records:
        check_record(record)  # every field named by the model, of its type
    with pytest.raises(ValueError, match="extra"):
        check_record({**records[0], "unnamed_field": 1})
    with pytest.raises(ValueError, match="key_frame"):
        check_record({**records[0], "key_frame": {"t": "soon"}})


# ---- (b) the errors the service gives are documented, in the shape it gives them ----------------------


def test_errors_are_documented_in_the_shape_the_service_sends(spec):
    schemas = spec["components"]["schemas"]
    assert (
        "HTTPValidationError" not in schemas
    )  # FastAPI's 422, whose detail is an array
    error = schemas["ErrorBody"]
    assert error["properties"]["detail"]["type"] == "string"
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"detail", "code"}
    problems = []
    for method, path, op in operations(spec):
        codes = set(op["responses"])
        want = {"422", "503", "507"}
        if op.get("security"):
            want |= {"401"} | ({"403"} if path != "/api/me" else set())
        if "{" in path:
            want.add("404")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            want.add(
                "403"
            )  # the cross-site check answers any write made with the session cookie
            want.add("413")  # a body past its cap (service.body_limit)
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
            want |= {"400", "413", "415"}
        if missing := want - codes:
            problems.append(f"{method} {path}: {sorted(missing)} undocumented")
        for code in (
            codes - {"200", "201", "204"} - ({"503"} if path == "/healthz" else set())
        ):
            ref = (
                op["responses"][code]
                .get("content", {})
                .get(JSON, {})
                .get("schema", {})
                .get("$ref")
            )
            if ref != "#/components/schemas/ErrorBody":
                problems.append(f"{method} {path}: {code} is not an ErrorBody: {ref}")
    for method, path, codes in (
        ("POST", "/api/auth/login", {"401", "429"}),
        ("POST", "/api/cases/{case_id}/approve", {"409"}),
        ("PATCH", "/api/uploads/sessions/{session_id}", {"400", "409", "413", "415"}),
        ("POST", "/api/uploads/sessions", {"409", "413"}),
        ("GET", "/api/public/cases/{ref}/media/{kind}", {"409", "416"}),
    ):
        if missing := codes - set(spec["paths"][path][method.lower()]["responses"]):
            problems.append(f"{method} {path}: {sorted(missing)} undocumented")
    assert not problems, "\n".join(problems)


def test_security_schemes(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["session"] == {
        **schemes["session"],
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
    }
    assert schemes["apiToken"] == {
        **schemes["apiToken"],
        "type": "http",
        "scheme": "bearer",
    }
    assert schemes["pairedScreen"] == {
        **schemes["pairedScreen"],
        "type": "apiKey",
        "in": "cookie",
        "name": DISPLAY_COOKIE,
    }

    def security(method: str, path: str) -> set[str]:
        return {
            name
            for req in spec["paths"][path][method].get("security", [])
            for name in req
        }

    assert security("get", "/api/cases") == {
        "session"
    }  # reviewers and admins: users only
    assert security("post", "/api/uploads") == {
        "session",
        "apiToken",
    }  # operators: drones have tokens
    assert security("get", "/api/public/cases") == {
        "session",
        "apiToken",
        "pairedScreen",
    }
    assert security("get", "/api/me") == {"session", "apiToken", "pairedScreen"}
    for public in (
        ("post", "/api/auth/login"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("post", "/api/public/pair"),
        ("get", "/api/signing-key"),
    ):
        assert security(*public) == set(), public
    unprotected = [
        f"{m} {p}" for m, p, op in operations(spec) if not op.get("security")
    ]
    assert sorted(unprotected) == sorted(
        [
            "POST /api/auth/login",
            "POST /api/auth/logout",
            "POST /api/public/pair",
            "POST /api/public/unpair",
            "GET /healthz",
            "GET /metrics",
            "GET /api/signing-key",
        ]
    )


def test_request_bodies_read_by_hand_are_documented(spec):
    def body(method: str, path: str) -> dict:
        return spec["paths"][path][method]["requestBody"]["content"]

    upload = body("post", "/api/uploads")["multipart/form-data"]["schema"]
    assert upload["properties"]["file"] == {
        **upload["properties"]["file"],
        "type": "string",
        "format": "binary",
    }
    assert set(upload["required"]) == {"file", "camera"}
    assert {"started_at", "drone_id", "pilot", "place"} <= set(upload["properties"])
    for method, path in (("post", "/api/cameras"), ("put", "/api/cameras/{camera_id}")):
        form = body(method, path)["multipart/form-data"]["schema"]
        assert form["required"] == ["scene"] and "reference" in form["properties"], path
    assert body("put", "/api/cameras/{camera_id}/reference")["multipart/form-data"][
        "schema"
    ]["required"] == ["reference"]
    chunk = spec["paths"]["/api/uploads/sessions/{session_id}"]["patch"]
    assert list(chunk["requestBody"]["content"]) == ["application/offset+octet-stream"]
    assert any(
        p["name"] == "Upload-Offset" and p["in"] == "header" and p["required"]
        for p in chunk["parameters"]
    )


# ---- (c) real answers validate against the document ---------------------------------------------------


def test_real_answers_match_the_document(env, spec, cases, footage_dir, fast_redaction):
    case_id = cases[0]
    calls = [
        (env.reviewer, "GET", "/api/cases", {}),
        (env.reviewer, "GET", f"/api/cases/{case_id}", {}),
        (env.reviewer, "POST", f"/api/cases/{case_id}/approve", {"json": {}}),
        (
            env.reviewer,
            "POST",
            f"/api/cases/{case_id}/approve",
            {"json": {}},
        ),  # 409: already approved
        (env.reviewer, "GET", f"/api/public/preview/{case_id}", {}),
        (env.reviewer, "POST", f"/api/cases/{case_id}/publish", {"json": {}}),
        (env.display, "GET", "/api/public/cases", {}),
        (
            env.reviewer,
            "POST",
            f"/api/cases/{cases[1]}/reject",
            {"json": {"reason_code": "bad_weather"}},
        ),  # 422: no such reason
        (
            env.reviewer,
            "POST",
            f"/api/cases/{cases[1]}/reject",
            {"json": {"reason": "not an offence"}},
        ),
        (env.reviewer, "POST", f"/api/cases/{cases[1]}/undo", {}),
        (
            env.reviewer,
            "POST",
            f"/api/cases/{cases[1]}/plate",
            {"json": {"text": "京A12345", "reason": "read it"}},
        ),
        (
            env.reviewer,
            "POST",
            "/api/cases/bulk",
            {"json": {"ids": [cases[1], "nope"], "action": "reject", "reason_code": "duplicate"}},
        ),
        (env.reviewer, "GET", f"/api/cases/{case_id}/evidence/tracks", {}),
        (env.reviewer, "GET", "/api/cases/nope", {}),  # 404
        (env.operator, "GET", "/api/cases", {}),  # 403
        (env.anon, "GET", "/api/cases", {}),  # 401
        (
            env.reviewer,
            "GET",
            "/api/cases",
            {"params": {"limit": "many"}},
        ),  # 422 from request validation
        (
            env.reviewer,
            "GET",
            "/api/cases",
            {"params": {"state": "lost"}},
        ),  # 422 from the route
        (env.reviewer, "GET", "/api/cases", {"params": {"plate": "京A·123"}}),  # the plate search
        (env.reviewer, "GET", "/api/cases", {"params": {"plate": "A"}}),  # 422: too short a plate
        (env.reviewer, "GET", "/api/cases/a%00b", {}),  # 422: NUL
        (env.operator, "GET", "/api/jobs", {}),
        (env.operator, "GET", "/api/uploads", {}),
        (
            env.operator,
            "POST",
            "/api/uploads",
            {"content": b"not a form", "headers": {"Content-Type": "text/plain"}},
        ),
        (
            env.operator,
            "POST",
            "/api/uploads/sessions",
            {
                "json": {
                    "camera": "bj-overpass",
                    "filename": "a.mp4",
                    "size": 10**15,
                    "sha256": "a" * 64,
                }
            },
        ),  # 413
        (env.operator, "GET", "/api/cameras", {}),
        (env.operator, "GET", "/api/cameras/bj-overpass", {}),
        (env.operator, "GET", "/api/cameras/bj-overpass/versions", {}),
        (env.operator, "GET", "/api/cameras/bj-overpass/versions/1", {}),
        (
            env.admin,
            "PATCH",
            "/api/cameras/bj-overpass",
            {"json": {"place": "北京", "dry_run": True}},
        ),
        (env.admin, "PATCH", "/api/cameras/bj-overpass", {"json": {"place": "北京"}}),
        (
            env.admin,
            "PATCH",
            "/api/cameras/bj-overpass",
            {"json": {"scene_yaml": "camera: [1"}},
        ),  # 422 bad_scene
        (
            env.admin,
            "POST",
            "/api/cameras/bj-overpass/retire",
            {"json": {"reason": "moved"}},
        ),
        (env.admin, "POST", "/api/cameras/bj-overpass/unretire", {}),
        (env.admin, "GET", "/api/users", {}),
        (env.admin, "GET", "/api/tokens", {}),
        (
            env.admin,
            "POST",
            "/api/tokens",
            {"json": {"name": "drone 7", "role": "operator"}},
        ),
        (
            env.admin,
            "POST",
            "/api/users",
            {
                "json": {
                    "username": "rita",
                    "password": "Long-enough-9x",
                    "role": "reviewer",
                }
            },
        ),
        (env.admin, "GET", "/api/audit", {}),
        (env.admin, "GET", "/api/audit/export", {}),
        (env.reviewer, "GET", "/api/me", {}),
        (env.display, "GET", "/api/me", {}),
        (
            env.anon,
            "POST",
            "/api/auth/login",
            {"json": {"username": "rita", "password": "wrong"}},
        ),
        (env.anon, "GET", "/healthz", {}),
        (env.anon, "GET", "/metrics", {}),
        (env.anon, "GET", "/api/signing-key", {}),
        (env.anon, "GET", "/api/signing-key", {"params": {"format": "json"}}),
        (env.anon, "POST", "/api/public/unpair", {}),
    ]
    seen: dict[str, set[int]] = {}
    for client, method, url, kwargs in calls:
        r = client.request(method, url, **kwargs)
        assert r.status_code < 500, (method, url, r.status_code, r.text)
        conforms(spec, r, method, url)
        seen.setdefault(f"{method} {template_of(spec, method, url)}", set()).add(
            r.status_code
        )
    # the calls reached what they were meant to (else the conformance above proves little)
    assert seen["POST /api/cases/{case_id}/approve"] == {200, 409}
    assert seen["GET /api/cases"] == {200, 401, 403, 422}
    assert seen["GET /api/cases/{case_id}"] == {200, 404, 422}
    assert seen["POST /api/uploads"] == {415} and seen[
        "POST /api/uploads/sessions"
    ] == {413}
    assert seen["PATCH /api/cameras/{camera_id}"] == {200, 422}
    assert seen["POST /api/users"] == {409} and seen["POST /api/auth/login"] == {401}


def test_uploading_and_registering_answer_as_documented(env, spec, footage_dir):
    scene = SCENE_YAML.encode()
    r = env.admin.post(
        "/api/cameras", files={"scene": ("scene.yaml", scene, "application/x-yaml")}
    )
    assert (
        r.status_code == 201
        and conforms(spec, r, "POST", "/api/cameras")["changed"] is True
    )
    r = env.admin.post(
        "/api/cameras", files={"scene": ("scene.yaml", scene, "application/x-yaml")}
    )
    assert (
        r.status_code == 409
        and conforms(spec, r, "POST", "/api/cameras")["code"] == "conflict"
    )
    r = env.admin.post(
        "/api/cameras",
        files={"scene": ("scene.yaml", b"camera: x\nzones: 3\n", "application/x-yaml")},
    )
    body = conforms(spec, r, "POST", "/api/cameras")
    assert (
        r.status_code == 422
        and body["code"] == "bad_scene"
        and body["errors"][0]["loc"]
    )
    up = upload_clip(env.operator, footage_dir / SHORT_CLIP)
    for url in (f"/api/uploads/{up['upload_id']}", f"/api/jobs/{up['job_id']}"):
        conforms(spec, env.operator.get(url), "GET", url)
    r = env.operator.post(f"/api/jobs/{up['job_id']}/cancel")
    assert (
        r.status_code == 200
        and conforms(spec, r, "POST", f"/api/jobs/{up['job_id']}/cancel")["state"]
        == "cancelled"
    )
    with open(footage_dir / SHORT_CLIP, "rb") as fh:  # the same file again: 409
        r = env.operator.post(
            "/api/uploads",
            data={"camera": "bj-overpass"},
            files={"file": ("a.mp4", fh, "video/mp4")},
        )
    assert (
        r.status_code == 409
        and conforms(spec, r, "POST", "/api/uploads")["code"] == "duplicate_upload"
    )
    r = env.operator.post(
        "/api/uploads/sessions",
        json={
            "camera": "bj-overpass",
            "filename": "b.mp4",
            "size": 3,
            "sha256": "b" * 64,
        },
    )
    session = conforms(spec, r, "POST", "/api/uploads/sessions")["session_id"]
    url = f"/api/uploads/sessions/{session}"
    r = env.operator.patch(
        url,
        content=b"abc",
        headers={
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    )
    assert conforms(spec, r, "PATCH", url)["offset"] == 3
    r = env.operator.patch(
        url,
        content=b"abc",
        headers={"Content-Type": "text/plain", "Upload-Offset": "0"},
    )
    assert r.status_code == 415 and conforms(spec, r, "PATCH", url)
    conforms(spec, env.operator.get(url), "GET", url)
    r = env.operator.post(f"{url}/complete")
    assert (
        r.status_code == 422
        and conforms(spec, r, "POST", f"{url}/complete")["code"] == "hash_mismatch"
    )


def test_a_body_that_is_not_json_is_a_documented_422(env, spec):
    for content in (b"{not json", b"\xff\xfe{}"):
        r = env.admin.post(
            "/api/tokens", content=content, headers={"Content-Type": "application/json"}
        )
        body = conforms(spec, r, "POST", "/api/tokens")
        assert r.status_code == 422 and body["code"] == "invalid_input", r.text
        assert body["errors"][0]["type"] == "json_invalid" and "body" in body["detail"]
    assert (
        env.admin.get("/api/tokens").json()[-1]["name"] == "lobby screen"
    )  # nothing stored


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("POST", "/api/cameras/bj-overpass", "GET, PUT, PATCH, DELETE"),
        ("DELETE", "/api/cases/some-case", "GET"),
        ("GET", "/api/cases/some-case/approve", "POST"),
        ("PUT", "/api/uploads/sessions/abc", "GET, PATCH, DELETE"),
        ("POST", "/metrics", "GET"),
    ],
)
def test_405_names_every_method_of_the_path(env, method, url, allowed):
    r = env.admin.request(method, url)
    assert r.status_code == 405 and r.headers["allow"] == allowed, (
        r.headers.get("allow"),
        r.text,
    )
    assert r.json()["code"] == "method_not_allowed"
    for other in allowed.split(", "):  # and each method named is served there
        assert env.admin.request(other, url).status_code != 405, other


def test_static_files_keep_their_own_allow(env):
    r = env.anon.post("/docs-assets/swagger-ui.css", headers={"Origin": ORIGIN})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
