"""`recordInspection` and `issueCard`: bearer tokens, 201 bodies, refusals as 409 JSON with their codes,
validation as 422, permissions, village isolation, and both operations in the OpenAPI document."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import Card, Inspection, LedgerEntry
from lovemart.models.inspections import CHECKS
from lovemart.services import users
from tests.factories import make_two_villages

ALL_CLEAN = {column: True for column, _ in CHECKS}


@pytest.fixture
def ids(app):
    with app.app_context():
        return make_two_villages()


@pytest.fixture
def token(app, ids):
    def make(username: str) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
def admin(token):
    return token("a-admin")


def inspections_url(household_id) -> str:
    return f"/api/v1/households/{household_id}/inspections"


def card_url(household_id) -> str:
    return f"/api/v1/households/{household_id}/card"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def count(app, model, **where) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return db.session.scalar(stmt)


# --- recordInspection ----------------------------------------------------------------------------------


def test_record_inspection_answers_201_with_the_result(app, client, ids, admin):
    body = ALL_CLEAN | {"inspected_on": "2026-11-03", "inspector": "王主任", "note": "好"}
    response = client.post(inspections_url(ids["a_household"]), json=body, headers=admin)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert data["passed"] is True and data["household_id"] == ids["a_household"]
    assert data["inspected_on"] == "2026-11-03" and data["inspector"] == "王主任" and data["note"] == "好"
    assert all(data[column] is True for column in ALL_CLEAN)
    assert isinstance(data["id"], int)


def test_record_inspection_defaults_to_today_and_the_caller(app, client, ids, admin):
    body = ALL_CLEAN | {"toilet_clean": False}
    data = client.post(inspections_url(ids["a_household"]), json=body, headers=admin).get_json()
    assert data["passed"] is False and data["toilet_clean"] is False
    assert data["inspected_on"] == datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert data["inspector"] == "a-admin"


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in ALL_CLEAN.items() if k != "yard_clean"},  # a check left out
        ALL_CLEAN | {"kitchen_clean": "maybe"},
        ALL_CLEAN | {"inspected_on": "yesterday"},
        ALL_CLEAN | {"inspector": ""},
    ],
)
def test_record_inspection_rejects_malformed_bodies_with_422(app, client, ids, admin, body):
    assert_error(
        client.post(inspections_url(ids["a_household"]), json=body, headers=admin), 422, "invalid_input"
    )
    assert count(app, Inspection) == 0


def test_record_inspection_refuses_a_future_date(app, client, ids, admin):
    response = client.post(
        inspections_url(ids["a_household"]), json=ALL_CLEAN | {"inspected_on": "2099-01-01"}, headers=admin
    )
    error = assert_error(response, 422, "invalid_input")
    assert error["message"] == "检查日期不能晚于今天。"
    assert count(app, Inspection) == 0


def test_record_inspection_needs_the_permission_and_the_village(app, client, ids, admin, token):
    assert_error(client.post(inspections_url(ids["a_household"]), json=ALL_CLEAN), 401, "unauthorized")
    for username in ("a-supervisor", "county"):
        assert_error(
            client.post(inspections_url(ids["a_household"]), json=ALL_CLEAN, headers=token(username)),
            403,
            "forbidden",
        )
    assert_error(
        client.post(inspections_url(ids["b_household"]), json=ALL_CLEAN, headers=admin), 404, "not_found"
    )
    assert_error(client.post(inspections_url(999999), json=ALL_CLEAN, headers=admin), 404, "not_found")
    assert count(app, Inspection) == 0


# --- issueCard -------------------------------------------------------------------------------------------


def test_issue_card_is_refused_with_409_until_the_inspection_passed(app, client, ids, admin):
    error = assert_error(
        client.post(card_url(ids["a_household"]), headers=admin), 409, "inspection_not_passed"
    )
    assert "尚未检查" in error["message"]
    client.post(inspections_url(ids["a_household"]), json=ALL_CLEAN | {"bedroom_clean": False}, headers=admin)
    error = assert_error(
        client.post(card_url(ids["a_household"]), headers=admin), 409, "inspection_not_passed"
    )
    assert "卧室净" in error["message"]
    assert count(app, Card) == 0


def test_issue_card_answers_201_with_the_number_and_the_villager_url(app, client, ids, admin):
    client.post(inspections_url(ids["a_household"]), json=ALL_CLEAN, headers=admin)
    response = client.post(card_url(ids["a_household"]), headers=admin)
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    with app.app_context():
        card = db.session.scalar(select(Card))
        assert data["number"] == card.number == "A00001"
        assert data["villager_url"] == f"http://localhost/c/{card.token}"
        assert db.session.scalars(select(LedgerEntry.points)).all() == [100]
    assert data["status"] == "active" and data["household_id"] == ids["a_household"]
    opened = client.get(data["villager_url"].removeprefix("http://localhost"), follow_redirects=True)
    assert "张三" in opened.get_data(as_text=True)

    again = assert_error(client.post(card_url(ids["a_household"]), headers=admin), 409, "already_has_card")
    assert "A00001" in again["message"]
    assert count(app, Card) == 1 and count(app, LedgerEntry) == 1


def test_issue_card_needs_the_permission_and_the_village(app, client, ids, admin, token):
    client.post(inspections_url(ids["a_household"]), json=ALL_CLEAN, headers=admin)
    assert_error(client.post(card_url(ids["a_household"])), 401, "unauthorized")
    assert_error(client.post(card_url(ids["a_household"]), headers=token("a-supervisor")), 403, "forbidden")
    client.post(inspections_url(ids["b_household"]), json=ALL_CLEAN, headers=token("b-admin"))
    assert_error(client.post(card_url(ids["b_household"]), headers=admin), 404, "not_found")
    assert count(app, Card) == 0


def test_both_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    by_id = {
        operation["operationId"]: (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    path, method, record = by_id["recordInspection"]
    assert (path, method) == ("/api/v1/households/{household_id}/inspections", "post")
    assert "201" in record["responses"] and "422" in record["responses"]
    body = record["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(ALL_CLEAN) <= set(spec["components"]["schemas"][body]["required"])
    path, method, issue = by_id["issueCard"]
    assert (path, method) == ("/api/v1/households/{household_id}/card", "post")
    assert {"201", "409"} <= set(issue["responses"])
    card = issue["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"number", "villager_url"} <= set(spec["components"]["schemas"][card]["properties"])
