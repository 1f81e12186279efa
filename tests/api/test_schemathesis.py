"""Property-based tests of the HTTP API from its own OpenAPI document (Schemathesis).

Schemathesis reads ``/api/v1/openapi.json`` from the app and generates requests for every
operation, valid and invalid, on a database seeded with a system and a release. Whatever
it sends, the API must not answer with a server error, and what it answers must match the
document (status codes, content types and bodies).

Runs are bounded and deterministic: a fixed number of examples per operation, derandomized
Hypothesis, no example database. ``CHARTER_FUZZ_EXAMPLES`` sets the number of examples per
operation as admin (default 12, kept small for CI's time budget; raise it for a deeper run).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from tests.api.support import API, SYSTEM

from charter.api.app import create_app
from charter.services.context import Charter
from charter.store.db import Database

#: The checks every response must pass. Not `negative_data_rejection`: the API's text
#: fields accept anything within their lengths, so "invalid" data by the document's
#: reading is often valid, and a 2xx for it is right.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def _schema_only_app():
    """An app to read the OpenAPI document from (building it touches no database)."""
    return create_app(Charter(Database("sqlite://")))


# Loaded at import: `schemathesis.pytest.from_fixture` would load it per test, but it fails
# on pytest 9 (it sets `Function._nodeid`, which pytest 9 no longer has). Each test passes
# its own app, on its own seeded database, with `app=` instead.
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _schema_only_app())

#: Hypothesis runs many examples inside one test, so the function-scoped fixtures (the
#: database and the app) are deliberately shared by an operation's examples.
BOUNDED = settings(
    max_examples=int(os.environ.get("CHARTER_FUZZ_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@schema.parametrize()
@BOUNDED
# Schemathesis cannot generate bodies of binary media types (Arrow streams) and warns that
# it skipped those cases; the JSON forms of the same operations are still exercised.
@pytest.mark.filterwarnings(
    "ignore:Skipped test cases with unsupported payload media types:UserWarning"
)
def test_any_request_as_admin(case, app, auth, release) -> None:
    # `release` seeds the database (a system and a release) so lookups can succeed.
    case.call_and_validate(app=app, headers=auth("admin"), checks=CHECKS)


@schema.include(method="POST", path_regex="/decisions$").parametrize()
@schema.given(on_seeded_release=st.booleans())
@BOUNDED
def test_decisions_as_approver(case, on_seeded_release, app, auth, release) -> None:
    # Often aim at the real release, so that the generated bodies reach the decision logic.
    if on_seeded_release:
        case.path_parameters = {"name": SYSTEM, "digest": release[:12]}
    case.call_and_validate(app=app, headers=auth("approver"), checks=CHECKS)


@schema.include(method="POST", path_regex="/systems/{name}/releases$").parametrize()
@BOUNDED
def test_release_creation_as_developer_on_the_seeded_system(case, app, auth, release) -> None:
    case.path_parameters = {"name": SYSTEM}
    case.call_and_validate(app=app, headers=auth("developer"), checks=CHECKS)


#: Every other role's token on each generated request: authorization and the
#: separation-of-duties refusals must be 4xx answers, never a server error. Each example is
#: sent once per role (one database per operation keeps the run short); three examples per
#: operation, since the authorization matrix already sends a valid request of every route
#: as every role.
OTHER_ROLES = ("risk_engineer", "developer", "approver", "auditor", "service", "approver2")
FEW = settings(BOUNDED, max_examples=3)

#: The same document without Schemathesis's coverage phase (boundary and negative values of
#: every parameter, dozens of cases per operation): the admin test above sends those; here
#: each would be sent six times over, which cost more than half of the fuzzing's time.
schema_without_coverage = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _schema_only_app())
schema_without_coverage.config.phases.coverage.enabled = False


@schema_without_coverage.parametrize()
@FEW
@pytest.mark.filterwarnings(
    "ignore:Skipped test cases with unsupported payload media types:UserWarning"
)
def test_any_request_as_every_role(case, app, auth, release) -> None:
    for role in OTHER_ROLES:
        case.call_and_validate(app=app, headers=auth(role), checks=CHECKS)
