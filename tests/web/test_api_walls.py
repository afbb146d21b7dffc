"""`postWish` and `listWishes`."""

import pytest

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.services import users
from tests.factories import make_household, make_user, make_village


@pytest.fixture
def api(app):
    with app.app_context():
        a, b = make_village("a"), make_village("b")
        household = make_household(a)
        b_household = make_household(b)
        make_user("a-admin", Role.ADMIN, "a")
        make_user("a-leader", Role.LEADER, "a")
        headers = {}
        with unit_of_work() as session:
            for name in ("a-admin", "a-leader"):
                token = users.create_api_token(session, actor=None, user=users.by_username(session, name))
                headers[name] = {"Authorization": f"Bearer {token}"}
        db.session.remove()
    return {"household": household, "b_household": b_household, "headers": headers}


def test_post_then_list(client, api):
    body = {"household_id": api["household"], "text": "想要一袋化肥", "category": "farming"}
    headers = api["headers"]["a-admin"] | {"Idempotency-Key": "w-1"}
    first = client.post("/api/v1/wishes/", json=body, headers=headers)
    again = client.post("/api/v1/wishes/", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"] and first.json["status"] == "pending"
    listed = client.get("/api/v1/wishes/?status=pending", headers=api["headers"]["a-leader"]).json
    assert [w["text"] for w in listed["items"]] == ["想要一袋化肥"] and listed["meta"]["total"] == 1
    assert client.get("/api/v1/wishes/?status=open", headers=api["headers"]["a-leader"]).json["items"] == []


def test_bad_input_and_other_villages_are_refused(client, api):
    headers = api["headers"]["a-admin"]
    bad = client.post(
        "/api/v1/wishes/",
        json={"household_id": api["household"], "text": "", "category": "x"},
        headers=headers,
    )
    assert bad.status_code == 422 and set(bad.json["error"]["details"]["json"]) == {"text", "category"}
    other = client.post(
        "/api/v1/wishes/",
        json={"household_id": api["b_household"], "text": "x", "category": "daily"},
        headers=headers,
    )
    assert other.status_code == 404 and other.json["error"]["code"] == "not_found"
    leader = client.post(
        "/api/v1/wishes/",
        json={"household_id": api["household"], "text": "x", "category": "daily"},
        headers=api["headers"]["a-leader"],
    )
    assert leader.status_code == 403
