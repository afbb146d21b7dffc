"""The API's edges that once answered 500 (issue 13): a lone surrogate in a JSON string, a body nested deeper
than any real request, and an Idempotency-Key that another village already used. Each is a 4xx in the one
error shape and stores nothing; every operation that takes a key scopes it the same way."""

import json

import pytest
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import LedgerEntry, Product, Redemption, Wish
from lovemart.services import users
from lovemart.web.security import MAX_JSON_DEPTH
from tests.factories import make_user, make_village
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product


@pytest.fixture
def world(app):
    """Villages a and b, each with a carded household, a rule, rice in stock and an administrator."""
    with app.app_context():
        ids = {}
        for code, prefix in (("a", "A"), ("b", "B")):
            village = make_village(code, card_prefix=prefix)
            household, _ = carded_household(village, head=f"{code}村户主")
            ids[code] = {
                "village": village,
                "household": household,
                "rule": make_rule(village, "义务劳动", "volunteer", 10),
                "rice": make_product(village, "大米", 5, stock=20),
                "card": f"{prefix}00001",
            }
            make_user(f"{code}-admin", Role.ADMIN, code)
        db.session.remove()
    return ids


@pytest.fixture
def auth(app, world):
    def make(username: str, key: str | None = None) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"} | ({"Idempotency-Key": key} if key else {})

    return make


def count(app, model) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(model))
        finally:
            db.session.remove()


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) <= {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def _zone(world) -> int:
    from lovemart.services import inventory

    return next(
        z.id for z in inventory.zones(db.session, village_id=world["a"]["village"]) if z.name == "粮油区"
    )


def product_body(zone: int, escaped_name: str) -> str:
    """A product's JSON with its name written as given (JSON escapes included)."""
    body = json.dumps({"name": "NAME", "zone_id": zone, "unit": "袋", "points_price": 5, "low_stock": 0})
    return body.replace('"NAME"', f'"{escaped_name}"')


@pytest.mark.parametrize("text", ["\\ud800", "米\\udfff", "\\udc00\\ud800", "\\u0000"])
def test_a_lone_surrogate_or_nul_in_any_json_string_is_a_400(app, client, world, auth, text):
    with app.app_context():
        zone = _zone(world)
        db.session.remove()
    before = count(app, Product)
    raw = product_body(zone, text)
    response = client.post(
        "/api/v1/products/", data=raw, content_type="application/json", headers=auth("a-admin")
    )
    assert_error(response, 400, "control_character")
    # in a key, inside a list, in a wish's text: the same
    for body in ('{"\\ud800": 1}', '{"household_id": 1, "text": ["\\ud800"], "category": "daily"}'):
        answer = client.post(
            "/api/v1/wishes/", data=body, content_type="application/json", headers=auth("a-admin")
        )
        assert_error(answer, 400, "control_character")
    assert count(app, Product) == before


def test_a_surrogate_pair_is_a_character_like_any_other(app, client, world, auth):
    with app.app_context():
        zone = _zone(world)
        db.session.remove()
    raw = product_body(zone, "\\ud83c\\udf5a 米饭")
    response = client.post(
        "/api/v1/products/", data=raw, content_type="application/json", headers=auth("a-admin")
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["name"] == "🍚 米饭"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_a_body_nested_deeper_than_the_bound_is_a_400(client, world, auth, depth):
    for opening, closing in (("[", "]"), ('{"a":', "}")):
        raw = opening * depth + "1" + closing * depth
        response = client.post(
            "/api/v1/wishes/", data=raw, content_type="application/json", headers=auth("a-admin")
        )
        assert_error(response, 400, "too_deep")


def test_brackets_inside_strings_do_not_count_as_nesting(client, world, auth):
    body = {"household_id": world["a"]["household"], "text": "[[[[" * 40 + "{" * 40, "category": "daily"}
    response = client.post("/api/v1/wishes/", json=body, headers=auth("a-admin"))
    assert response.status_code == 201, response.get_data(as_text=True)
    nested = json.dumps({"household_id": [[[[1]]]], "text": "x", "category": "daily"})
    assert (
        client.post(
            "/api/v1/wishes/", data=nested, content_type="application/json", headers=auth("a-admin")
        ).status_code
        == 422
    )  # shallow enough to reach the schema, which refuses it


def _wish(world, village):
    return "/api/v1/wishes/", {
        "household_id": world[village]["household"],
        "text": "想要化肥",
        "category": "farming",
    }


def _award(world, village):
    return f"/api/v1/households/{world[village]['household']}/points", {"rule_id": world[village]["rule"]}


def _redeem(world, village):
    return "/api/v1/redemptions/", {
        "card_number": world[village]["card"],
        "lines": [{"product_id": world[village]["rice"], "quantity": 1}],
    }


KEYED = [(_wish, Wish), (_award, LedgerEntry), (_redeem, Redemption)]


@pytest.mark.parametrize(("operation", "model"), KEYED, ids=["postWish", "awardPoints", "redeem"])
def test_a_key_another_village_used_is_a_422_and_stores_nothing(app, client, world, auth, operation, model):
    url, body = operation(world, "a")
    first = client.post(url, json=body, headers=auth("a-admin", "shared-key-1"))
    assert first.status_code in (201, 202), first.get_data(as_text=True)
    stored = count(app, model)
    url, body = operation(world, "b")
    assert_error(
        client.post(url, json=body, headers=auth("b-admin", "shared-key-1")), 422, "idempotency_conflict"
    )
    assert count(app, model) == stored
    # the same key again from village a is a replay; with another body a conflict
    again = client.post(
        *operation(world, "a")[:1], json=operation(world, "a")[1], headers=auth("a-admin", "shared-key-1")
    )
    assert again.status_code == first.status_code and again.get_json() == first.get_json()
    assert count(app, model) == stored


def test_a_key_names_one_operation_the_same_key_elsewhere_is_its_own(app, client, world, auth):
    """Scoped by village and operation: one key for a wish and for an award are two requests."""
    for operation in (_wish, _award, _redeem):
        url, body = operation(world, "a")
        response = client.post(url, json=body, headers=auth("a-admin", "one-key"))
        assert response.status_code in (201, 202), (url, response.get_data(as_text=True))


def test_every_keyed_operation_takes_the_same_header(client):
    document = client.get("/api/v1/openapi.json").get_json()
    headers = {
        operation["operationId"]: parameter["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    }
    assert set(headers) == {
        "postWish",
        "awardPoints",
        "proposePoints",
        "reverseEntry",
        "raiseObjection",
        "redeem",
    }
    assert {(schema["type"], schema["pattern"]) for schema in headers.values()} == {
        ("string", r"^[\x21-\x7e]{1,64}$")
    }
