"""The running server fuzzed from its own OpenAPI schema (schemathesis, 50 examples per
operation): no 5xx, and every status code, content type and body is the one the schema
declares. JSON bodies and multipart uploads alike; the server is a real one over a tiny
trained digits MLP, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import make_project, run_recipe
from tests.recipe.serve_helpers import Server

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = make_project(tmp_path_factory.mktemp("fuzz") / "project")
    trained = run_recipe(
        ["train", "configs/digits.yaml", "trainer.max_epochs=1", "--run-dir", "runs/mlp"],
        project,
    )
    assert trained.returncode == 0, trained.stderr
    server = Server("runs/mlp", project, "--max-batch", "8")
    server.wait_ready()
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def api(server: Server):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same 50 examples each run
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema_under_fuzzing(case, server: Server) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=60)


def test_the_schema_documents_both_bodies_of_predict(server: Server) -> None:
    from tests.recipe.serve_helpers import request

    status, document = request("GET", server.url + "/openapi.json")
    assert status == 200
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert document["components"]["schemas"]["PredictRequest"]["additionalProperties"] is False
    assert set(document["paths"]["/predict"]["post"]["responses"]) >= {"200", "422", "503"}
