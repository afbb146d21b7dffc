"""`createProduct`, `listProducts`, `stockIn`: bearer tokens, stock levels, refusals in the one error shape
(401, 403, 404, 422), village isolation, and the OpenAPI document naming the operations."""

import pytest
from sqlalchemy import func, select

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Product, StockMovement
from lovemart.services import inventory, users
from tests.web.shop_web import books_balance, fresh_session, shop_villages, stock

PRODUCTS = "/api/v1/products/"
STOCK_INS = "/api/v1/stock-ins/"


@pytest.fixture
def ids(app):
    return shop_villages(app)


@pytest.fixture
def token(app, ids):
    def make(username: str) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"}

    return make


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "details"}
    return body["error"]


def product_count(app) -> int:
    with fresh_session(app) as session:
        return session.scalar(select(func.count()).select_from(Product))


def new_product(ids, **changes) -> dict:
    return {
        "name": "食用油",
        "zone_id": ids["grain_zone"],
        "unit": "桶",
        "points_price": 40,
        "barcode": "6901",
        "low_stock": 3,
    } | changes


# ---- authentication and permissions ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}])
def test_every_operation_needs_a_valid_token(client, ids, headers):
    for response in (
        client.get(PRODUCTS, headers=headers),
        client.post(PRODUCTS, json=new_product(ids), headers=headers),
        client.post(
            STOCK_INS,
            json={"lines": [{"product_id": ids["rice"], "quantity": 1}], "note": "x"},
            headers=headers,
        ),
    ):
        assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("username", ["a-supervisor", "a-leader", "county"])
def test_read_only_roles_may_list_but_not_write(app, client, ids, token, username):
    headers = token(username)
    assert client.get(PRODUCTS, headers=headers).status_code == 200
    assert_error(client.post(PRODUCTS, json=new_product(ids), headers=headers), 403, "forbidden")
    assert_error(
        client.post(
            STOCK_INS,
            json={"lines": [{"product_id": ids["rice"], "quantity": 1}], "note": "x"},
            headers=headers,
        ),
        403,
        "forbidden",
    )
    assert product_count(app) == 3 and stock(app, ids["rice"]) == 4


# ---- listProducts ---------------------------------------------------------------------------------------


def test_list_products_gives_stock_levels_of_the_callers_village(client, ids, token):
    response = client.get(PRODUCTS, headers=token("a-admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"] == {"page": 1, "per_page": 30, "total": 2, "pages": 1}
    by_name = {item["name"]: item for item in body["items"]}
    assert set(by_name) == {"大米", "肥皂"}
    assert by_name["大米"] | {} == {
        "id": ids["rice"],
        "name": "大米",
        "zone_id": ids["grain_zone"],
        "unit": "袋",
        "points_price": 30,
        "barcode": None,
        "low_stock": 5,
        "active": True,
        "stock": 4,
        "is_low": True,
    }
    assert by_name["肥皂"]["stock"] == 10 and by_name["肥皂"]["is_low"] is False


def test_list_products_filters_and_pages(app, client, ids, token):
    headers = token("a-admin")
    assert [i["name"] for i in client.get(f"{PRODUCTS}?q=米", headers=headers).get_json()["items"]] == [
        "大米"
    ]
    assert [
        i["name"]
        for i in client.get(f"{PRODUCTS}?zone_id={ids['grain_zone']}", headers=headers).get_json()["items"]
    ] == ["大米"]
    page = client.get(f"{PRODUCTS}?per_page=1&page=2", headers=headers).get_json()
    assert page["meta"]["pages"] == 2 and len(page["items"]) == 1
    with app.app_context(), unit_of_work() as session:
        rice = inventory.get_product(session, village_id=ids["a"], product_id=ids["rice"])
        rice.active = False
    assert len(client.get(PRODUCTS, headers=headers).get_json()["items"]) == 1
    assert len(client.get(f"{PRODUCTS}?include_inactive=true", headers=headers).get_json()["items"]) == 2
    details = assert_error(client.get(f"{PRODUCTS}?per_page=0", headers=headers), 422, "invalid_input")[
        "details"
    ]
    assert "per_page" in details["query"]


def test_county_user_lists_a_chosen_village_and_not_one_outside_the_county(client, ids, token):
    headers = token("county")
    names = [
        i["name"] for i in client.get(f"{PRODUCTS}?village={ids['b']}", headers=headers).get_json()["items"]
    ]
    assert names == ["大米"]
    assert_error(client.get(f"{PRODUCTS}?village=99999", headers=headers), 404, "not_found")


# ---- createProduct --------------------------------------------------------------------------------------


def test_create_product_answers_201_with_the_product_at_zero_stock(app, client, ids, token):
    response = client.post(PRODUCTS, json=new_product(ids), headers=token("a-admin"))
    assert response.status_code == 201
    body = response.get_json()
    assert body | {"id": 0} == {
        "id": 0,
        "name": "食用油",
        "zone_id": ids["grain_zone"],
        "unit": "桶",
        "points_price": 40,
        "barcode": "6901",
        "low_stock": 3,
        "active": True,
        "stock": 0,
        "is_low": True,
    }
    with fresh_session(app) as session:
        assert session.get(Product, body["id"]).village_id == ids["a"]
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tag == "shop:product:create", AuditEvent.subject_id == body["id"])
            )
            == 1
        )


def test_create_product_refusals(app, client, ids, token):
    headers = token("a-admin")
    error = assert_error(
        client.post(PRODUCTS, json=new_product(ids, name="大米"), headers=headers), 422, "invalid_input"
    )
    assert error["message"] == "已有同名商品。"
    details = assert_error(client.post(PRODUCTS, json={"name": ""}, headers=headers), 422, "invalid_input")[
        "details"
    ]
    assert {"name", "zone_id", "unit", "points_price"} <= set(details["json"])
    details = assert_error(
        client.post(PRODUCTS, json=new_product(ids, points_price=0, stock=99), headers=headers),
        422,
        "invalid_input",
    )["details"]
    assert set(details["json"]) == {"points_price", "stock"}  # stock is read-only: it only moves by movements
    assert_error(
        client.post(PRODUCTS, json=new_product(ids, zone_id=ids["b_zone"]), headers=headers), 404, "not_found"
    )
    assert product_count(app) == 3


# ---- stockIn ------------------------------------------------------------------------------------------


def test_stock_in_answers_201_with_the_movements(app, client, ids, token):
    response = client.post(
        STOCK_INS,
        headers=token("a-admin"),
        json={
            "note": "乡镇调拨",
            "lines": [
                {"product_id": ids["soap"], "quantity": 5},
                {"product_id": ids["rice"], "quantity": 20, "use_by": "2027-06-30"},
            ],
        },
    )
    assert response.status_code == 201
    movements = response.get_json()["movements"]
    assert [
        (m["product_id"], m["quantity"], m["stock_after"], m["kind"], m["use_by"]) for m in movements
    ] == [(ids["rice"], 20, 24, "stock_in", "2027-06-30"), (ids["soap"], 5, 15, "stock_in", None)]
    assert (stock(app, ids["rice"]), stock(app, ids["soap"])) == (24, 15)
    listed = {
        i["name"]: i["stock"] for i in client.get(PRODUCTS, headers=token("a-admin")).get_json()["items"]
    }
    assert listed == {"大米": 24, "肥皂": 15}
    with fresh_session(app) as session:
        notes = session.scalars(
            select(StockMovement.note).where(StockMovement.product_id == ids["rice"])
        ).all()
        assert notes[-1] == "乡镇调拨"
    assert books_balance(app)


def test_stock_in_refusals(app, client, ids, token):
    headers = token("a-admin")
    details = assert_error(
        client.post(
            STOCK_INS,
            headers=headers,
            json={"note": "x", "lines": [{"product_id": ids["rice"], "quantity": 0}]},
        ),
        422,
        "invalid_input",
    )["details"]
    assert "lines" in details["json"]
    details = assert_error(client.post(STOCK_INS, headers=headers, json={"lines": []}), 422, "invalid_input")[
        "details"
    ]
    assert {"lines", "note"} <= set(details["json"])
    assert_error(
        client.post(
            STOCK_INS,
            headers=headers,
            json={
                "note": "x",
                "lines": [
                    {"product_id": ids["rice"], "quantity": 1},
                    {"product_id": ids["b_rice"], "quantity": 1},
                ],
            },
        ),
        404,
        "not_found",
    )
    assert_error(
        client.post(
            STOCK_INS, headers=headers, json={"note": "x", "lines": [{"product_id": 999999, "quantity": 1}]}
        ),
        404,
        "not_found",
    )
    assert (stock(app, ids["rice"]), stock(app, ids["b_rice"])) == (4, 7)  # all or nothing


# ---- the contract -------------------------------------------------------------------------------------


def test_operations_are_documented_with_their_ids(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    found = {
        op["operationId"]: (path, method)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert found["listProducts"] == (PRODUCTS, "get")
    assert found["createProduct"] == (PRODUCTS, "post")
    assert found["stockIn"] == (STOCK_INS, "post")
    product = spec["components"]["schemas"]["Product"]
    assert product["properties"]["stock"]["readOnly"] is True
    assert {"name", "zone_id", "unit", "points_price"} <= set(product["required"])
    for path, method in ((PRODUCTS, "post"), (STOCK_INS, "post"), (PRODUCTS, "get")):
        assert "422" in spec["paths"][path][method]["responses"], (path, method)
