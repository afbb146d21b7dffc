"""`redeem`, `getRedemption`, `cancelRedemption`: 201 with the receipt's figures, replays by Idempotency-Key,
409 refusal codes that write nothing, 422 for a missing key or a reused one, 404 across villages."""

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import PointsAccount, Product, Redemption
from lovemart.services import cards, households, inventory, points, users
from tests.factories import make_two_villages
from tests.points_helpers import carded_household
from tests.shop_helpers import make_product

URL = "/api/v1/redemptions/"


@pytest.fixture
def shop(app):
    with app.app_context():
        ids = make_two_villages()
        ids["household"], _ = carded_household(ids["a"], head="王建华")
        ids["b_carded"], _ = carded_household(ids["b"], head="李四")
        ids["rice"] = make_product(ids["a"], "大米", 30, stock=20)
        ids["soap"] = make_product(ids["a"], "洗洁精", 5, stock=10, zone="洗化区", unit="瓶")
        ids["b_rice"] = make_product(ids["b"], "大米", 30, stock=20)
        for key, village, household in (("card", "a", "household"), ("b_card", "b", "b_carded")):
            card = cards.active_card(db.session, village_id=ids[village], household_id=ids[household])
            ids[key], ids[f"{key}_number"] = card.id, card.number
        db.session.remove()
    return ids


@pytest.fixture
def token(app, shop):
    """`token(username, key=None)` → headers with a new bearer token (and an Idempotency-Key if given)."""

    def make(username: str, key: str | None = None) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        headers = {"Authorization": f"Bearer {plain}"}
        return headers | ({"Idempotency-Key": key} if key else {})

    return make


def body(shop, number=None, **quantities) -> dict:
    return {
        "card_number": number or shop["card_number"],
        "lines": [{"product_id": shop[name], "quantity": q} for name, q in quantities.items()],
    }


def state(app, shop) -> tuple[int, int, int, int]:
    with app.app_context():
        balance = db.session.scalar(
            select(PointsAccount.balance).where(PointsAccount.household_id == shop["household"])
        )
        result = (
            balance,
            db.session.get(Product, shop["rice"]).stock,
            db.session.get(Product, shop["soap"]).stock,
            db.session.scalar(select(func.count()).select_from(Redemption)),
        )
        db.session.remove()
        return result


def post(client, payload, headers, url=URL):
    return client.post(url, json=payload, headers=headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    return error


def test_redeem_answers_201_with_the_receipt_figures(app, client, shop, token):
    headers = token("a-admin", "key-1")
    response = client.post(URL, json=body(shop, rice=2, soap=1), headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert set(created) == {
        "id",
        "receipt_no",
        "card_number",
        "points_charged",
        "balance_after",
        "created_at",
    }
    assert created["receipt_no"] == "A-000001"
    assert (created["points_charged"], created["balance_after"]) == (65, 35)
    assert created["card_number"] == shop["card_number"]
    assert response.headers["Location"].endswith(f"/api/v1/redemptions/{created['id']}")
    assert state(app, shop) == (35, 18, 9, 1)
    with app.app_context():
        assert points.verify(db.session) == [] and inventory.verify(db.session) == []


def test_same_key_same_body_replays_the_first_answer(app, client, shop, token):
    headers = token("a-admin", "key-1")
    first = client.post(URL, json=body(shop, rice=2, soap=1), headers=headers)
    # the same request again, even spelled differently (lower case, spaces, lines in another order)
    again = client.post(
        URL,
        json={
            "card_number": f" {shop['card_number'].lower()} ",
            "lines": [
                {"product_id": shop["soap"], "quantity": 1},
                {"product_id": shop["rice"], "quantity": 2},
            ],
        },
        headers=headers,
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_data() == first.get_data()
    assert state(app, shop) == (35, 18, 9, 1)


def test_same_key_with_another_body_is_refused_with_422(app, client, shop, token):
    headers = token("a-admin", "key-1")
    assert client.post(URL, json=body(shop, rice=1), headers=headers).status_code == 201
    assert_error(post(client, body(shop, rice=2), headers), 422, "idempotency_conflict")
    assert state(app, shop) == (70, 19, 10, 1)


def test_the_same_key_in_another_village_is_refused(app, client, shop, token):
    assert client.post(URL, json=body(shop, rice=1), headers=token("a-admin", "shared")).status_code == 201
    response = client.post(
        URL,
        json={"card_number": shop["b_card_number"], "lines": [{"product_id": shop["b_rice"], "quantity": 1}]},
        headers=token("b-admin", "shared"),
    )
    assert_error(response, 422, "idempotency_conflict")


def test_missing_or_empty_idempotency_key_is_422_and_writes_nothing(app, client, shop, token):
    error = assert_error(post(client, body(shop, rice=1), token("a-admin")), 422, "invalid_input")
    assert "Idempotency-Key" in str(error.get("details"))
    assert_error(post(client, body(shop, rice=1), token("a-admin", "")), 422, "invalid_input")
    assert state(app, shop) == (100, 20, 10, 0)


@pytest.mark.parametrize(
    "payload",
    [
        {"card_number": "A00001", "lines": []},
        {"card_number": "A00001"},
        {"lines": [{"product_id": 1, "quantity": 1}]},
        {"card_number": "A00001", "lines": [{"product_id": 1, "quantity": 0}]},
        {"card_number": "A00001", "lines": [{"product_id": 1, "quantity": "2"}]},
        {"card_number": "A00001", "lines": [{"product_id": 1, "quantity": 1000}]},
    ],
)
def test_malformed_bodies_are_422(app, client, shop, token, payload):
    assert_error(post(client, payload, token("a-admin", "k")), 422, "invalid_input")
    assert state(app, shop) == (100, 20, 10, 0)


def test_household_that_moved_out_is_409_household_inactive(app, client, shop, token):
    with app.app_context(), unit_of_work() as session:
        households.set_active(
            session, actor=None, village_id=shop["a"], household_id=shop["household"], active=False
        )
    assert_error(post(client, body(shop, rice=1), token("a-admin", "k")), 409, "household_inactive")
    assert state(app, shop) == (100, 20, 10, 0)


def test_unknown_product_is_422(app, client, shop, token):
    payload = {"card_number": shop["card_number"], "lines": [{"product_id": shop["b_rice"], "quantity": 1}]}
    assert_error(post(client, payload, token("a-admin", "k")), 422, "invalid_input")
    assert state(app, shop) == (100, 20, 10, 0)


def test_refusals_are_409_with_their_codes_and_write_nothing(app, client, shop, token):
    assert_error(post(client, body(shop, rice=4), token("a-admin", "k1")), 409, "insufficient_points")
    assert_error(post(client, body(shop, soap=11), token("a-admin", "k2")), 409, "out_of_stock")
    assert state(app, shop) == (100, 20, 10, 0)

    with app.app_context(), unit_of_work() as session:  # an account frozen while its card is still active
        account = session.scalar(select(PointsAccount).where(PointsAccount.household_id == shop["household"]))
        points.set_frozen(session, account=account, frozen=True)
    assert_error(post(client, body(shop, rice=1), token("a-admin", "k3")), 409, "account_frozen")
    with app.app_context(), unit_of_work() as session:
        account = session.scalar(select(PointsAccount).where(PointsAccount.household_id == shop["household"]))
        points.set_frozen(session, account=account, frozen=False)
        cards.reissue(session, actor=None, village_id=shop["a"], card_id=shop["card"])
    assert_error(post(client, body(shop, rice=1), token("a-admin", "k4")), 409, "card_inactive")
    assert state(app, shop) == (100, 20, 10, 0)
    # a refused key is not spent: the same key works once the cart is right
    assert (
        client.post(
            URL, json=body(shop, rice=1, number=_new_number(app, shop)), headers=token("a-admin", "k1")
        ).status_code
        == 201
    )


def _new_number(app, shop) -> str:
    with app.app_context():
        number = cards.active_card(db.session, village_id=shop["a"], household_id=shop["household"]).number
        db.session.remove()
        return number


def test_get_redemption_shows_lines_and_status(app, client, shop, token):
    created = client.post(URL, json=body(shop, rice=2, soap=1), headers=token("a-admin", "k")).get_json()
    response = client.get(f"{URL}{created['id']}", headers=token("a-supervisor"))
    assert response.status_code == 200
    found = response.get_json()
    assert {k: found[k] for k in created} == created
    assert found["status"] == "completed" and found["household_id"] == shop["household"]
    lines = [(li["product_name"], li["quantity"], li["unit_points"], li["points"]) for li in found["lines"]]
    assert lines == [("大米", 2, 30, 60), ("洗洁精", 1, 5, 5)]
    assert found["cancelled_at"] is None and found["cancel_reason"] == ""


def test_cancel_redemption_restores_points_and_stock(app, client, shop, token):
    created = client.post(URL, json=body(shop, rice=2, soap=1), headers=token("a-admin", "k")).get_json()
    cancel = f"{URL}{created['id']}/cancel"
    assert_error(post(client, {}, token("a-admin"), cancel), 422, "invalid_input")
    assert_error(post(client, {"reason": "  "}, token("a-admin"), cancel), 422, "invalid_input")
    assert state(app, shop) == (35, 18, 9, 1)

    response = client.post(cancel, json={"reason": "拿错了"}, headers=token("a-admin"))
    assert response.status_code == 200
    cancelled = response.get_json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "拿错了")
    assert cancelled["cancelled_at"]
    assert state(app, shop) == (100, 20, 10, 1)
    assert_error(post(client, {"reason": "再退"}, token("a-admin"), cancel), 409, "redemption_cancelled")
    assert state(app, shop) == (100, 20, 10, 1)

    # the original request replayed: the same 201 body, and nothing is sold again
    replay = client.post(URL, json=body(shop, rice=2, soap=1), headers=token("a-admin", "k"))
    assert replay.status_code == 201 and replay.get_json() == created
    assert state(app, shop) == (100, 20, 10, 1)


def test_permissions_and_village_isolation(app, client, shop, token):
    created = client.post(URL, json=body(shop, rice=1), headers=token("a-admin", "k")).get_json()
    rid = created["id"]
    assert_error(post(client, body(shop, rice=1), {"Idempotency-Key": "x"}), 401, "unauthorized")
    assert_error(post(client, body(shop, rice=1), token("a-supervisor", "s")), 403, "forbidden")
    assert_error(post(client, {"reason": "x"}, token("a-supervisor"), f"{URL}{rid}/cancel"), 403, "forbidden")
    assert client.get(f"{URL}{rid}", headers=token("county")).status_code == 200

    # village b knows nothing of village a's card or redemption
    assert_error(post(client, body(shop, rice=1), token("b-admin", "b1")), 404, "not_found")
    assert_error(client.get(f"{URL}{rid}", headers=token("b-admin")), 404, "not_found")
    assert_error(post(client, {"reason": "x"}, token("b-admin"), f"{URL}{rid}/cancel"), 404, "not_found")
    assert state(app, shop) == (70, 19, 10, 1)


def test_operations_are_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    by_id = {
        op["operationId"]: (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert by_id["redeem"][:2] == ("/api/v1/redemptions/", "post")
    assert by_id["getRedemption"][:2] == ("/api/v1/redemptions/{redemption_id}", "get")
    assert by_id["cancelRedemption"][:2] == ("/api/v1/redemptions/{redemption_id}/cancel", "post")
    redeem = by_id["redeem"][2]
    (header,) = [p for p in redeem["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert {"201", "409", "422", "404"} <= set(redeem["responses"])
