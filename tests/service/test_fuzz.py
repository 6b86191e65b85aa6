"""Property-based API fuzzing with schemathesis against ``/openapi.json``, with **every**
check schemathesis has (server errors, status codes, content types, headers, response
schemas, negative data rejected, positive data accepted, methods, auth, ...), positive and
negative data. Bounded examples so it runs in CI; ``EQUIGRID_FUZZ_EXAMPLES`` raises the
bound for a longer campaign by hand.

The schema states the rules across fields that JSON Schema can (the grid's two forms, the
value range of the chosen units); schema-valid requests may still be refused where a rule
it can only describe applies (bbox order, duplicate stations, grid cells x limits, the
estimated work), with the 413 or 422 it documents for them: positive data must get 200,
413 or 422. Negative data must be refused with 400 (not JSON), 422 (invalid) or 413 (a
schema-violating array longer than ``maxItems`` can be refused by the body-size limit
before it is parsed): statuses the routes document, no broader set.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

load_all_checks()
ALL_CHECKS = CHECKS.get_all()
CONFIG = """
[checks]
positive_data_acceptance.expected-statuses = ["200", "413", "422"]
negative_data_rejection.expected-statuses = ["400", "413", "422"]

[generation]
mode = "all"
"""
EXAMPLES = int(os.environ.get("EQUIGRID_FUZZ_EXAMPLES", "25"))
REPORT = os.environ.get("EQUIGRID_FUZZ_REPORT")  # a file: one "METHOD PATH STATUS" per request

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> schemathesis.BaseSchema:
    config = SchemathesisConfig.from_str(CONFIG)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_fuzz(case: schemathesis.Case) -> None:
    response = case.call_and_validate(checks=ALL_CHECKS)
    if REPORT:
        with open(REPORT, "a") as f:
            f.write(f"{case.method} {case.path} {response.status_code}\n")
