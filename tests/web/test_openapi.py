"""The OpenAPI 3 document at /api/v1/openapi.json, generated from the code by flask-smorest."""

import re

import pytest

from lovemart.db import unit_of_work
from lovemart.services import users
from tests.factories import make_two_villages

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")  # public: no token needed to read the contract
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(spec, ref: str) -> dict:
    assert ref.startswith("#/")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_document_is_openapi_3_with_info_and_paths(spec):
    assert re.fullmatch(r"3\.\d+\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])


def test_household_operations_are_documented_with_their_ids(spec):
    by_id = {op["operationId"]: (path, method) for path, method, op in operations(spec)}
    assert by_id["listHouseholds"] == ("/api/v1/households/", "get")
    assert by_id["createHousehold"] == ("/api/v1/households/", "post")
    assert by_id["getHousehold"] == ("/api/v1/households/{household_id}", "get")


def test_every_operation_has_a_unique_operation_id_and_responses(spec):
    ids = []
    for path, method, operation in operations(spec):
        assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
        assert re.fullmatch(r"[a-z][A-Za-z0-9]+", operation["operationId"]), operation["operationId"]
        assert operation.get("responses"), f"{method.upper()} {path} documents no response"
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))


def test_bearer_security_scheme_applies_to_every_operation(spec):
    schemes = spec["components"]["securitySchemes"]
    (name,) = [n for n, s in schemes.items() if s == {"type": "http", "scheme": "bearer"}]
    for path, method, operation in operations(spec):
        security = operation.get("security", spec.get("security"))
        assert security and {name: []} in security, f"{method.upper()} {path} is not bearer-protected"


def test_every_reference_resolves(spec):
    refs = list(_refs(spec))
    assert refs
    for ref in refs:
        assert isinstance(resolve(spec, ref), dict), ref


def test_schemas_describe_the_household_and_page_bodies(spec):
    schemas = spec["components"]["schemas"]
    household = schemas["Household"]
    assert {"number", "group_id", "members"} <= set(household["required"])
    assert household["properties"]["status"]["enum"] == ["poor", "lifted", "general"]
    assert household["properties"]["id"]["readOnly"] is True
    member = resolve(spec, household["properties"]["members"]["items"]["$ref"])
    assert "head" in member["properties"]["relation"]["enum"]

    list_op = spec["paths"]["/api/v1/households/"]["get"]
    params = {p["name"]: p for p in list_op["parameters"]}
    assert {"page", "per_page", "q", "group_id", "status", "active", "village"} <= set(params)
    assert params["per_page"]["schema"]["maximum"] == 200
    page = resolve(spec, list_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert set(page["properties"]) == {"items", "meta"}

    create_op = spec["paths"]["/api/v1/households/"]["post"]
    assert "201" in create_op["responses"]
    assert create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Household")


def _documented_error_shape(spec) -> dict:
    response = resolve(spec, spec["paths"]["/api/v1/households/"]["get"]["responses"]["default"]["$ref"])
    body = resolve(spec, response["content"]["application/json"]["schema"]["$ref"])
    error = body["properties"]["error"]
    error = resolve(spec, error["$ref"]) if "$ref" in error else error
    return {
        "body": set(body["properties"]),
        "error": {k: v.get("type") for k, v in error["properties"].items()},
    }


def test_documented_error_body_is_the_one_the_api_sends(app, client, spec):
    documented = _documented_error_shape(spec)
    assert documented == {
        "body": {"error"},
        "error": {"code": "string", "message": "string", "details": "object"},
    }

    with app.app_context():
        make_two_villages()
        with unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    sent = client.get(
        "/api/v1/households/?per_page=0", headers={"Authorization": f"Bearer {plain}"}
    ).get_json()
    assert set(sent) == documented["body"]
    assert set(sent["error"]) <= set(documented["error"])
    assert isinstance(sent["error"]["code"], str) and isinstance(sent["error"]["details"], dict)


def test_422_response_is_documented_for_operations_that_validate_input(spec):
    for operation_id in ("listHouseholds", "createHousehold"):
        (operation,) = [op for _, _, op in operations(spec) if op["operationId"] == operation_id]
        assert "422" in operation["responses"], operation_id
