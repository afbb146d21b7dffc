"""The offline counter's pages: registering this browser as a counter device, switching it on, the snapshot,
the sync endpoint the page's script calls, the service worker, and the supervisor's queue."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lovemart.db import db, utcnow
from lovemart.models import AuditEvent, CounterDevice, OfflineRedemption, PointsAccount, Redemption
from lovemart.services import cards
from lovemart.services.audit import AuditTag
from lovemart.web.offline import DEVICE_COOKIE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household
from tests.shop_helpers import make_product


@pytest.fixture
def shop(app):
    with app.app_context():
        ids = make_two_villages()
        ids["household"], _ = carded_household(ids["a"], head="王建华")
        ids["rice"] = make_product(ids["a"], "大米", 30, stock=20)
        ids["number"] = cards.active_card(
            db.session, village_id=ids["a"], household_id=ids["household"]
        ).number
        db.session.remove()
    return ids


@contextmanager
def reading(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def registered(app, client, name="柜台手机", enable=True):
    """Register this client's browser as a device; returns the device's id."""
    answer = client.post("/counter/devices", data={"name": name})
    assert answer.status_code == 302
    cookie = client.get_cookie(DEVICE_COOKIE, path="/counter")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    with reading(app) as session:
        device_id = session.scalar(select(CounterDevice.id).where(CounterDevice.token == cookie.value))
    if enable:
        assert client.post(f"/counter/devices/{device_id}/offline", data={"enabled": "y"}).status_code == 302
    return device_id


def balance_of(session, shop) -> int:
    return session.scalar(
        select(PointsAccount.balance).where(PointsAccount.household_id == shop["household"])
    )


def batch(number, rice, *seqs, total=30, quantity=1):
    now = utcnow()
    taken = (now - timedelta(minutes=30)).isoformat()
    return {
        "sent_at": now.isoformat(),
        "records": [
            {
                "seq": seq,
                "key": f"k-{seq}",
                "card": number,
                "lines": [[rice, quantity]],
                "total": total,
                "provisional_no": f"离线-{seq}",
                "client_at": (now - timedelta(minutes=20 - seq)).isoformat(),
                "snapshot_taken_at": taken,
                "snapshot_age": 600,
            }  # fmt: skip
            for seq in seqs
        ],
    }


def test_the_administrator_registers_this_browser_and_switches_it_on(app, login, shop):
    admin = login("a-admin")
    page = admin.get("/counter/devices").get_data(as_text=True)
    assert "登记本设备" in page and "还没有登记设备" in page
    device_id = registered(app, admin)
    page = admin.get("/counter/devices").get_data(as_text=True)
    assert "本设备已登记为“柜台手机”" in page and "已允许" in page
    with reading(app) as session:
        tags = session.scalars(select(AuditEvent.tag).where(AuditEvent.subject_type == "CounterDevice")).all()
    assert tags == [AuditTag.COUNTER_DEVICE_REGISTER, AuditTag.COUNTER_DEVICE_UPDATE]
    assert admin.post(f"/counter/devices/{device_id}/offline", data={}).status_code == 302
    with reading(app) as session:
        assert session.get(CounterDevice, device_id).offline_enabled is False
    assert "请填写设备名称" in admin.post(
        "/counter/devices", data={"name": " "}, follow_redirects=True
    ).get_data(as_text=True)


def test_the_snapshot_is_the_villages_own_and_never_cached(app, login, shop):
    admin = login("a-admin")
    registered(app, admin)
    answer = admin.get("/counter/snapshot")
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert [(c["number"], c["spendable"]) for c in body["cards"]] == [(shop["number"], 100)]
    assert [p["name"] for p in body["products"]] == ["大米"]
    assert body["device"]["enabled"] is True and body["cap_points"] == 100 and body["csrf_token"]


def test_sync_books_each_record_once_and_names_the_receipt(app, login, shop):
    admin = login("a-admin")
    registered(app, admin)
    first = admin.post("/counter/sync", json=batch(shop["number"], shop["rice"], 1, 2))
    assert first.status_code == 200
    results = first.get_json()["results"]
    assert [(r["seq"], r["status"]) for r in results] == [(1, "applied"), (2, "applied")]
    assert results[0]["receipt_no"].endswith("000001")
    again = admin.post("/counter/sync", json=batch(shop["number"], shop["rice"], 1, 2))  # the reply was lost
    assert again.get_json()["results"] == results
    with reading(app) as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 2
        assert balance_of(session, shop) == 40


def test_sync_reports_gaps_wrong_clocks_and_conflicts(app, login, shop):
    admin = login("a-admin")
    registered(app, admin)
    body = batch(shop["number"], shop["rice"], 1, 4)
    body["sent_at"] = (utcnow() + timedelta(minutes=9)).isoformat()
    answer = admin.post("/counter/sync", json=body).get_json()
    assert answer["missing"] == [2, 3] and answer["clock_wrong"] is True
    other = batch(shop["number"], shop["rice"], 1, quantity=2, total=60)  # number 1 again, another sale
    assert admin.post("/counter/sync", json=other).get_json()["results"][0]["status"] == "refused"
    with reading(app) as session:
        assert session.scalar(select(func.count()).select_from(OfflineRedemption)) == 2


@pytest.mark.parametrize(
    "body, field",
    [({"records": "x"}, "records"), ({"sent_at": "now", "records": []}, "sent_at")],
)
def test_a_malformed_batch_is_refused_in_json(app, login, shop, body, field):
    admin = login("a-admin")
    registered(app, admin)
    answer = admin.post("/counter/sync", json=body)
    assert answer.status_code == 422 and answer.get_json()["error"]["details"]["field"] == field


def test_a_device_not_switched_on_cannot_sync(app, login, shop):
    admin = login("a-admin")
    registered(app, admin, enable=False)
    answer = admin.post("/counter/sync", json=batch(shop["number"], shop["rice"], 1))
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "offline_not_allowed"
    assert (
        login("a-admin").post("/counter/sync", json=batch(shop["number"], shop["rice"], 1)).status_code == 409
    )


def test_the_supervisor_settles_what_could_not_be_booked(app, login, shop):
    admin = login("a-admin")
    registered(app, admin)
    admin.post("/counter/sync", json=batch(shop["number"], shop["rice"], 1, quantity=4, total=120))
    with reading(app) as session:
        record = session.scalar(select(OfflineRedemption))
    assert record.status == "pending" and "离线兑换限额" in record.problem
    supervisor = login("a-supervisor")
    signals = supervisor.get("/audit/signals").get_data(as_text=True)
    assert "1 笔离线兑换联网后无法入账" in signals
    queue = supervisor.get("/counter/offline/queue").get_data(as_text=True)
    assert "离线-1" in queue and "离线兑换限额" in queue
    assert admin.post(f"/counter/offline/{record.id}/settle", data={"decision": "accept"}).status_code == 403
    refused = supervisor.post(
        f"/counter/offline/{record.id}/settle", data={"decision": "accept", "reason": ""}
    )
    with reading(app) as session:
        assert session.get(OfflineRedemption, record.id).status == "pending" and refused.status_code == 302
    done = supervisor.post(
        f"/counter/offline/{record.id}/settle",
        data={"decision": "accept", "reason": "东西已拿走"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "监督员准予入账" in done and "没有待处理的离线兑换" in done
    with reading(app) as session:
        assert balance_of(session, shop) == -20


def test_the_offline_page_and_its_worker(login, shop, client):
    admin = login("a-admin")
    page = admin.get("/counter/offline")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'data-text-waiting="%(n)s 笔待同步"' in html and "<script>" not in html
    worker = client.get("/counter/sw.js")  # public: the worker itself holds nothing of the village
    assert worker.status_code == 200 and worker.headers["Content-Type"].startswith("text/javascript")
    assert "/counter/offline" in worker.get_data(as_text=True)
    counter = admin.get("/counter/").get_data(as_text=True)
    assert "data-offline-sync" in counter and "离线收银台" in counter
    assert "data-logout" in counter and "outbox-guard.js" in counter
    assert "outbox-guard.js" not in login("a-supervisor").get("/").get_data(as_text=True)


def test_another_villages_device_is_not_this_villages(app, login, shop):
    admin = login("a-admin")
    registered(app, admin)
    token = admin.get_cookie(DEVICE_COOKIE, path="/counter").value
    other = login("b-admin")
    other.set_cookie(DEVICE_COOKIE, token, path="/counter")
    assert other.get("/counter/snapshot").get_json()["device"] is None
    assert other.post("/counter/sync", json=batch("B-0001", 1, 1)).status_code == 409
