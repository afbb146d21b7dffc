"""`listNotices`, `getNotice`, `raiseObjection`: the notice with its verifiable content, an objection recorded
for a household by the supervisor's token (replayed by Idempotency-Key), refusals in the one error shape, and
another village's notices answering 404."""

import hashlib
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import Objection
from lovemart.services import notices, points, users
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule

TODAY = datetime.now(VILLAGE_TIMEZONE).date()
START, END = notices.month_period(TODAY)
AFTER_MONTH = datetime.combine(END + timedelta(days=2), time(9), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)
URL = "/api/v1/notices/"


@pytest.fixture
def world(app, monkeypatch):
    """Village a: 张三 and 李四 with an award each, the month's notice published and the next one a draft."""
    monkeypatch.setattr(notices, "utcnow", lambda: AFTER_MONTH)
    with app.app_context():
        ids = make_two_villages()
        a = ids["a"]
        ids["zhang"], _ = carded_household(a, head="张三", number="0101")
        ids["li"], _ = carded_household(a, head="李四", number="0102")
        rule = make_rule(a, "义务劳动", "volunteer", 10)
        with unit_of_work() as session:
            award = points.award
            ids["entry"] = award(
                session, actor=None, village_id=a, household_id=ids["zhang"], rule_id=rule
            ).entry.id
            ids["li_entry"] = award(
                session, actor=None, village_id=a, household_id=ids["li"], rule_id=rule
            ).entry.id
            month = notices.compile(session, actor=None, village_id=a, period_start=START, period_end=END)
            ids["notice"] = notices.publish(session, actor=None, village_id=a, notice_id=month.id).id
            before = notices.last_month(START)
            ids["draft"] = notices.compile(
                session, actor=None, village_id=a, period_start=before[0], period_end=before[1]
            ).id
        db.session.remove()
    return ids


@pytest.fixture
def token(app, world):
    """`token(username, key=None)` → headers with a new bearer token (and an Idempotency-Key if given)."""

    def make(username: str, key: str | None = None) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"} | ({"Idempotency-Key": key} if key else {})

    return make


def objections(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Objection))
        db.session.remove()
    return count


def test_list_notices_pages_and_filters_by_status(client, world, token):
    headers = token("a-leader")
    body = client.get(URL, headers=headers).get_json()
    assert [n["id"] for n in body["items"]] == [world["notice"], world["draft"]]  # newest period first
    assert body["meta"]["total"] == 2
    published, draft = body["items"]
    assert published["status"] == "published" and len(published["digest"]) == 64
    assert re.fullmatch(r"http://localhost/n/[A-Za-z0-9_-]{43}", published["public_url"])
    assert draft["public_url"] is None and draft["digest"] is None and draft["published_at"] is None
    only = client.get(f"{URL}?status=draft", headers=headers).get_json()
    assert [n["id"] for n in only["items"]] == [world["draft"]]
    bad = client.get(f"{URL}?status=secret", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_input"
    assert client.get(URL, headers=token("b-supervisor")).get_json()["meta"]["total"] == 0


def test_get_notice_gives_the_content_its_digest_verifies(client, world, token):
    body = client.get(f"{URL}{world['notice']}", headers=token("a-admin")).get_json()
    assert hashlib.sha256(body["content"].encode("utf-8")).hexdigest() == body["digest"]
    assert body["chain_seq"] == 4 and len(body["chain_head"]) == 64  # two base entries, two awards
    assert '"head":"张三"' in body["content"]
    missing = client.get(f"{URL}{world['notice']}", headers=token("b-admin"))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_the_supervisor_records_an_objection_for_a_household_once(app, client, world, token):
    url = f"{URL}{world['notice']}/objections"
    body = {"household_id": world["zhang"], "entry_id": world["entry"], "text": "电话反映：那天没参加劳动"}
    first = client.post(url, json=body, headers=token("a-supervisor", key="call-1"))
    assert first.status_code == 201, first.get_json()
    created = first.get_json()
    assert (created["status"], created["entry_id"], created["claim_id"]) == ("open", world["entry"], None)
    again = client.post(url, json=body, headers=token("a-supervisor", key="call-1"))
    assert again.status_code == 201 and again.get_json()["id"] == created["id"]
    assert objections(app) == 1
    twice = client.post(url, json=body, headers=token("a-supervisor"))
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_objected"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"entry_id": "li_entry"}, 422, "line_not_in_notice"),  # another household's line
        ({"claim_id": 1}, 422, "invalid_input"),  # both an entry and a claim
        ({"text": ""}, 422, "invalid_input"),
    ],
)
def test_raise_objection_refusals(app, client, world, token, change, status, code):
    body = {"household_id": world["zhang"], "entry_id": world["entry"], "text": "不对"}
    body |= {k: world.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    response = client.post(f"{URL}{world['notice']}/objections", json=body, headers=token("a-supervisor"))
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    assert objections(app) == 0


def test_raise_objection_needs_a_published_notice_in_its_period_and_the_supervisor(
    app, client, world, token, monkeypatch
):
    body = {"household_id": world["zhang"], "entry_id": world["entry"], "text": "不对"}
    draft = client.post(f"{URL}{world['draft']}/objections", json=body, headers=token("a-supervisor"))
    assert draft.status_code == 404
    other = client.post(f"{URL}{world['notice']}/objections", json=body, headers=token("b-supervisor"))
    assert other.status_code == 404
    assert (
        client.post(f"{URL}{world['notice']}/objections", json=body, headers=token("a-admin")).status_code
        == 403
    )
    assert client.post(f"{URL}{world['notice']}/objections", json=body).status_code == 401
    monkeypatch.setattr(notices, "utcnow", lambda: AFTER_MONTH + timedelta(days=7))
    late = client.post(f"{URL}{world['notice']}/objections", json=body, headers=token("a-supervisor"))
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "objection_period_over"
    assert objections(app) == 0


def test_the_operations_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    ids = {
        op["operationId"] for path in spec["paths"].values() for op in path.values() if "operationId" in op
    }
    assert {"listNotices", "getNotice", "raiseObjection"} <= ids
