"""The API fuzzed against its own OpenAPI schema (schemathesis): for every operation, a
bounded number of generated requests, sent without credentials, with a shopper's token
and with a superuser's, in process through the WSGI app. No 5xx, every status documented, every body
matching its schema, content types and headers as documented.

Not checked: that every input the schema forbids is refused (schemathesis'
``negative_data_rejection``). The API coerces as DRF does (``0`` for ``false``, a number
where a string is asked) and ignores ``X-Device-Id`` from signed-in callers; docs/api.md
lists these leniencies.

Bounded (``FUZZ_EXAMPLES`` per operation and caller, default 12) so the suite stays
fast; raise it locally to dig (``FUZZ_EXAMPLES=200 pytest tests/shop/api/test_fuzz.py``).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.factories import EventFactory, UserFactory

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
]


@pytest.fixture
def tokens(db, catalogue):
    """A shopper's access token, and a superuser's (the staff endpoints past their
    permission checks). A started training run never runs: the test's transaction is
    never committed, so the task is never sent."""
    shopper = UserFactory(username="fuzz-shopper")
    EventFactory(user=shopper, product=catalogue["red"])
    staff = UserFactory(username="fuzz-staff", is_staff=True, is_superuser=True)
    return [str(RefreshToken.for_user(user).access_token) for user in (shopper, staff)]


@pytest.fixture
def keep_connections():
    """As Django's test client does: a request must not close the database connection,
    which holds the test's transaction (the WSGI app sends request_started and
    request_finished, and close_old_connections closes a connection inside a
    transaction; SQLite's in-memory test database ignores it, Postgres does not)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(db, keep_connections, catalogue, settings):
    """The live schema, loaded through the app, with a small shop behind it."""
    settings.API_THROTTLE_RATES = {scope: "100000/min" for scope in settings.API_THROTTLE_RATES}
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_matches_its_schema(case, tokens):
    case.call_and_validate(checks=CHECKS)
    for token in tokens:
        case.call_and_validate(checks=CHECKS, headers={"Authorization": f"Bearer {token}"})
