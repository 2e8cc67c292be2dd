"""Schemathesis against our own OpenAPI document, over HTTP on a real server: generated requests for every operation
(bounded examples) must never produce a server error, and every response must match what the document promises
(status codes, content types, the response schemas including the one error shape)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from indexer.build import BuildResult
from tests.serving import running_server

MAX_EXAMPLES = 25  # per operation: about a minute for the whole API on two cores


@pytest.fixture(scope="module")
def fuzz_server(built_index: BuildResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"ATLAS_INDEX_DIR": str(built_index.path.parent.parent),
           "ATLAS_FEEDBACK_DB": str(tmp_path_factory.mktemp("fuzz") / "feedback.sqlite3"),
           "ATLAS_FEEDBACK_RATE": "100000/minute"}  # the fuzzer posts many; the limit itself is tested elsewhere
    with running_server(env) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(fuzz_server: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json")


def test_every_operation_keeps_its_promises(api_schema: schemathesis.BaseSchema) -> None:
    # Schemathesis' pytest plugin does not run under pytest 9 yet, so each operation's strategy is driven directly.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/search", "POST /api/chat", "POST /api/feedback", "GET /api/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        # derandomize: the same requests on every run, so CI is reproducible (a new finding comes with a new version
        # of hypothesis/schemathesis or a change of the document, never by chance)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()
