"""Schemathesis over the service's own OpenAPI document, once per role (anonymous, display,
operator, reviewer, admin): generated requests for every operation, state-changing ones included,
against the app in this process on a throwaway data folder with a camera, an upload and two real
cases in it.

Every answer must be no server error, carry a status the document declares for the operation, a
declared media type and a body that validates against the declared schema. Half of the examples
are aimed at real objects (the seeded case, camera, job, ...) so the successful answers are
checked too, not only the 404s.

Bounded: ``CIVICWATCH_FUZZ_EXAMPLES`` examples per generator, operation and role (default 3), fixed seed
(``derandomize``), no shrinking; the whole test takes well under two minutes on a 2-core machine.
A failure lists each operation with what went wrong and the request that shows it.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .helpers import ORIGIN

ROLES = ("anonymous", "display", "operator", "reviewer", "admin")
EXAMPLES = int(os.environ.get("CIVICWATCH_FUZZ_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Ends the caller's session: run it after everything else.
LAST = "POST /api/auth/logout"
# A resumable upload's chunk is raw bytes (tus's media type).
schemathesis.serializer.alias(
    "application/offset+octet-stream", "application/octet-stream"
)


class NoLifespan:
    """The app without its lifespan: the fixture's client already started it (migrations, the
    runner); Schemathesis would start it a second time."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError(
                "lifespan is run by the test fixture"
            )  # before any message: "not supported"
        await self.app(scope, receive, send)


def credentials(env, role: str) -> dict[str, dict[str, str]]:
    """The role's session cookie or API token, fixed in every generated request (left to
    Schemathesis, it would send made-up ones and reach 401s only; anonymous gets those)."""
    if role == "anonymous":
        return {}
    if role == "display":
        return {"headers": {"Authorization": f"Bearer {env.display_token}"}}
    client = {"operator": env.operator, "reviewer": env.reviewer, "admin": env.admin}[
        role
    ]
    return {"cookies": {"cw_session": client.cookies.get("cw_session")}}


def known_values(env, cases: list[str]) -> dict[str, str | int]:
    """Path values that name real objects of the seeded data folder (else Schemathesis would
    almost only ever reach 404s)."""
    jobs = env.admin.get("/api/jobs").json()
    users = {u["username"]: u["id"] for u in env.admin.get("/api/users").json()}
    tokens = env.admin.get("/api/tokens").json()
    return {
        "case_id": cases[0],
        "camera_id": "bj-overpass",
        "job_id": jobs[0]["id"],
        "upload_id": jobs[0]["upload_id"],
        "user_id": users[
            "olga"
        ],  # never the caller: a changed password would end the run's own session
        "token_id": tokens[0]["id"],
        "number": 1,
        "kind": "snapshot",
        "ref": cases[0],
    }


def describe(case, response, err: Exception) -> str:
    text = str(err).strip().splitlines()
    body = response.text[:300] if response is not None else ""
    return (
        f"{case.operation.label}: {' / '.join(line for line in text[:6] if line)}\n"
        f"    {case.as_curl_command()}\n    -> {getattr(response, 'status_code', '?')} {body}"
    )


def fuzz(
    label: str,
    strategies: list,
    session: ASGIClient,
    statuses: set[int],
    failures: dict[str, str],
) -> int:
    """Send the examples of one operation; the first failure is recorded under ``label``.
    Returns the number of requests sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES * len(strategies),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case) -> None:
        nonlocal sent
        if label in failures:
            return  # one report per operation is enough
        response = None
        try:
            sent += 1
            response = case.call(session=session)
            statuses.add(response.status_code)
            case.validate_response(response, checks=CHECKS)
        except (Failure, BaseExceptionGroup) as err:
            failures[label] = describe(case, response, err)

    run()
    return sent


@pytest.mark.parametrize("role", ROLES)
def test_openapi_fuzz(role, env, cases, fast_redaction):
    app = NoLifespan(env.app)
    spec = env.anon.get("/openapi.json").json()
    if role != "anonymous":
        # The role's own credentials go in every request; left in, the security schemes would have
        # Schemathesis add made-up ones too (a random bearer token beats the session cookie: 401).
        # Anonymous keeps them: made-up credentials must get a 401, never a 5xx.
        for operation in (o for item in spec["paths"].values() for o in item.values()):
            operation.pop("security", None)
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    session = ASGIClient(app)
    session.headers["Origin"] = (
        ORIGIN  # as a browser sends: writes with the session cookie pass the cross-site check
    )
    auth = credentials(env, role)
    known = known_values(env, cases)

    operations = sorted(
        (r.ok() for r in schema.get_all_operations()),
        key=lambda op: (op.label == LAST, op.label),
    )
    assert len(operations) >= 50, [op.label for op in operations]
    failures: dict[str, str] = {}
    statuses: dict[str, set[int]] = {op.label: set() for op in operations}
    calls = 0

    for op in operations:
        names = set(re.findall(r"{([^}:]+)", op.path))
        fixed = {k: v for k, v in known.items() if k in names}
        strategies = [
            op.as_strategy(schemathesis.GenerationMode.POSITIVE, **auth),
            op.as_strategy(schemathesis.GenerationMode.NEGATIVE, **auth),
        ]
        if fixed:
            strategies.append(
                op.as_strategy(
                    schemathesis.GenerationMode.POSITIVE, path_parameters=fixed, **auth
                )
            )

        calls += fuzz(op.label, strategies, session, statuses[op.label], failures)

    assert calls >= len(operations) * EXAMPLES // 2
    # the role was really that role: not a run of 401s because the credentials went missing
    assert statuses["GET /api/me"] == ({401} if role == "anonymous" else {200}), (
        statuses["GET /api/me"]
    )
    answered = sorted(
        label for label, codes in statuses.items() if any(200 <= c < 300 for c in codes)
    )
    print(
        f"{role}: {calls} requests; 2xx from {len(answered)} of {len(operations)} operations: {answered}"
    )
    assert not failures, (
        f"{len(failures)} operation(s) answered {role} against the document:\n\n"
        + "\n\n".join(failures.values())
    )
