"""/openapi.json: a valid OpenAPI 3.1 document, shipped in the package, true to the real responses.

The document is checked by openapi-spec-validator; then real answers of the
app (successes and errors, every documented route) are validated with
jsonschema against the response schema the document gives for that route
and status, so a field renamed in the code or in the document fails here.
"""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from helpers import ROOT

DOC_URI = "urn:article-search:openapi"
TOLERANCE_ID = 500001


@pytest.fixture(scope="module")
def client(sample_index: Path) -> Any:
    from webapp import create_app

    return create_app({"INDEX_DIR": str(sample_index), "CORS_ORIGINS": "*"}).test_client()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(resources.files("webapp").joinpath("openapi.json").read_text("utf-8"))


def response_schema(document: dict[str, Any], route: str, status: int) -> dict[str, Any]:
    """The JSON schema the document promises for ``GET route`` answering ``status`` (or its default)."""
    responses = document["paths"][route]["get"]["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses["default"]
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rpartition("/")[2]]
    return response["content"]["application/json"]["schema"]


def assert_matches(document: dict[str, Any], route: str, response: Any) -> dict[str, Any]:
    """Validate a real response's body against the document; return the body."""
    assert response.mimetype == "application/json", route
    body = response.get_json()
    registry: Registry = Registry().with_resource(DOC_URI, Resource(document, specification=DRAFT202012))
    schema = response_schema(document, route, response.status_code)
    # Resolve the schema's $refs inside the whole document, as an OpenAPI tool does.
    wrapper = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": DOC_URI + "-check", **schema}
    if "$ref" in schema:
        wrapper["$ref"] = DOC_URI + schema["$ref"]
    errors = sorted(Draft202012Validator(wrapper, registry=registry).iter_errors(body), key=str)
    assert not errors, f"{route} {response.status_code}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    if response.status_code >= 400:
        assert body["status"] == response.status_code
    return body


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate_openapi(document)  # raises, naming the offending part, when the document is not OpenAPI 3.1


def test_served_as_shipped_with_cors(client: Any, document: dict[str, Any]) -> None:
    response = client.get("/openapi.json", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == document
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    wrong = client.post("/openapi.json")
    assert wrong.status_code == 405
    assert wrong.get_json()["ok"] is False


def test_shipped_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "openapi.json" in config["tool"]["setuptools"]["package-data"]["webapp"]


def test_every_api_route_is_documented(client: Any, document: dict[str, Any]) -> None:
    """A route added to the API blueprint without its description fails here."""
    routes = {
        rule.rule.replace("<article_id>", "{id}")
        for rule in client.application.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == set(document["paths"])


def test_documented_limits_are_the_code_limits(document: dict[str, Any]) -> None:
    from indexer.search.service import MAX_PAGE, MAX_PER_PAGE
    from webapp.api import MAX_SUGGESTIONS

    parameters = document["components"]["parameters"]
    assert parameters["page"]["schema"]["maximum"] == MAX_PAGE
    assert parameters["per_page"]["schema"]["maximum"] == MAX_PER_PAGE
    assert parameters["limit"]["schema"]["maximum"] == MAX_SUGGESTIONS


@pytest.mark.parametrize(
    ("route", "url", "status"),
    [
        ("/api/search", "/api/search?q=drug+tolerance&per_page=5", 200),
        ("/api/search", "/api/search?q=drug&subject=Medicine&page=2&per_page=3", 200),
        ("/api/search", "/api/search?q=tolerence", 200),  # a suggestion
        ("/api/search", "/api/search?q=", 200),  # nothing to search
        ("/api/search", "/api/search?q=drug&page=999", 200),  # past the end
        ("/api/search", "/api/search?q=drug&page=0", 400),
        ("/api/search", "/api/search?q=drug&per_page=51", 400),
        ("/api/suggest", "/api/suggest?q=dru", 200),
        ("/api/suggest", "/api/suggest?q=", 200),
        ("/api/suggest", "/api/suggest?q=dru&limit=1000", 400),
        ("/api/articles/{id}", f"/api/articles/{TOLERANCE_ID}", 200),
        ("/api/articles/{id}", "/api/articles/999999999", 404),
        ("/api/articles/{id}", "/api/articles/abc", 404),
        ("/healthz", "/healthz", 200),
    ],
)
def test_real_responses_match_the_document(client: Any, document: dict[str, Any], route: str, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert_matches(document, route, response)


def test_every_search_field_is_exercised(client: Any, document: dict[str, Any]) -> None:
    """A full answer, so every Hit property the document lists is present and of its type."""
    body = assert_matches(document, "/api/search", client.get("/api/search?q=drug+tolerance"))
    hit_schema = document["components"]["schemas"]["Hit"]
    assert body["results"] and set(hit_schema["required"]) <= set(body["results"][0])
    assert body["facets"]["subject"]


@pytest.mark.parametrize("url", ["/api/search?q=drug", "/api/suggest?q=dru", f"/api/articles/{TOLERANCE_ID}", "/healthz"])
def test_missing_index_is_the_documented_503(tmp_path: Path, document: dict[str, Any], url: str) -> None:
    from webapp import create_app

    client = create_app({"INDEX_DIR": str(tmp_path / "nothing-built")}).test_client()
    response = client.get(url)
    assert response.status_code == 503
    route = "/api/articles/{id}" if url.startswith("/api/articles/") else url.partition("?")[0]
    assert_matches(document, route, response)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_wrong_method_is_the_documented_envelope(client: Any, document: dict[str, Any], method: str) -> None:
    response = client.open("/api/search?q=x", method=method)
    assert response.status_code == 405
    assert_matches(document, "/api/search", response)
