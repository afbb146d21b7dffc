"""Balances that agree (issue 15 item 2): with 公示后入账 on, every page that shows a household's balance —
the counter, the household page, the statement, the passbook, the .xlsx, the ledger, the receipts, and the
API's `getAccount` — shows the spendable points and, beside them, the points 公示中 as the villager's phone
does ("另有 15 分公示中"); nothing about 公示中 when nothing is held. And each outcome of an award is told in
its own words: credited, held for the notice, waiting for the supervisor."""

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import PointsClaim, Village
from lovemart.models.points import ClaimStatus
from lovemart.services import cards, points, users, villages
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product
from tests.villager import page as villager_page

#: The line every staff page shows for the household of the fixture once 15 points are held.
LINE = "可用 100 分 · 另有 15 分公示中"


@pytest.fixture
def ids(app):
    """Village a with 公示后入账 on: 王大山 (card, 100 points), 李小河 (card), rules, rice; users per role."""
    with app.app_context():
        ids = make_two_villages()
        a = ids["a"]
        with unit_of_work() as session:
            session.get(Village, a).credit_after_notice = True
        ids["h1"], ids["token"] = carded_household(a, head="王大山", number="01001", group="一组")
        ids["h2"], _ = carded_household(a, head="李小河", number="01002", group="一组")
        ids["labour"] = make_rule(a, "义务劳动", "volunteer", 15)
        ids["litter"] = make_rule(a, "乱倒垃圾", "deduction", -5)
        ids["honour"] = make_rule(a, "五好家庭", "honour", 30, requires_approval=True)
        ids["rice"] = make_product(a, "大米", 10, stock=20)
        card = cards.active_card(db.session, village_id=a, household_id=ids["h1"])
        ids["card"], ids["card_number"] = card.id, card.number
        ids["group1"] = next(g.id for g in villages.groups(db.session, a) if g.name == "一组")
        db.session.remove()
    return ids


@pytest.fixture
def admin(cached_login, ids):
    return cached_login("a-admin")


def award(app, ids, rule, household="h1"):
    with app.app_context(), unit_of_work() as session:
        return points.award(
            session, actor=None, village_id=ids["a"], household_id=ids[household], rule_id=ids[rule]
        ).outcome


def hold_off(app, ids):
    with app.app_context(), unit_of_work() as session:
        session.get(Village, ids["a"]).credit_after_notice = False


def shown(response) -> str:
    """The page's text as read: tags dropped, runs of white space one space."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash flash-success"[^>]*>([^<]*)<', html)


def receipt(admin, ids) -> int:
    response = admin.post(
        f"/counter/cards/{ids['card']}/redeem", data={"idempotency_key": "k-1", f"q-{ids['rice']}": "1"}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.fullmatch(r"/counter/receipts/(\d+)", response.headers["Location"]).group(1))


STAFF_PAGES = {
    "counter": lambda ids: f"/counter/cards/{ids['card']}",
    "household": lambda ids: f"/households/{ids['h1']}",
    "statement": lambda ids: f"/statements/{ids['h1']}",
    "ledger": lambda ids: "/points/?q=01001",
}


# ---- the pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", STAFF_PAGES)
def test_each_staff_page_shows_spendable_and_held_as_the_villager_sees_them(app, admin, ids, client, where):
    assert award(app, ids, "labour") == points.Outcome.HELD
    page = shown(admin.get(STAFF_PAGES[where](ids)))
    assert LINE in page, page
    villager = shown(villager_page(client, ids["token"]))
    assert "100 分" in villager and "另有 15 分公示中" in villager  # the figure the villager reads


@pytest.mark.parametrize("where", STAFF_PAGES)
def test_nothing_about_held_points_when_none_are_held(app, admin, ids, where):
    hold_off(app, ids)
    assert award(app, ids, "labour") == points.Outcome.CREDITED
    page = shown(admin.get(STAFF_PAGES[where](ids)))
    assert "可用 115 分" in page and "公示中" not in page and "待审核" not in page


def test_pending_points_are_shown_beside_the_balance_too(app, admin, ids):
    hold_off(app, ids)
    assert award(app, ids, "honour") == points.Outcome.PENDING
    assert "可用 100 分 · 另有 30 分待审核" in shown(admin.get(f"/households/{ids['h1']}"))


def test_the_ledger_names_the_villages_held_points_beside_its_balances(app, admin, ids):
    award(app, ids, "labour")
    award(app, ids, "labour", household="h2")
    award(app, ids, "honour", household="h2")
    page = shown(admin.get("/points/"))
    assert "另有 2 户共 30 分公示中 · 另有 1 户共 30 分待审核（未入账，不在下表余额中）" in page
    assert "可用 100 分" not in page  # no one household's line on the whole village's ledger


def test_the_receipts_say_what_is_held_when_printed(app, admin, ids):
    award(app, ids, "labour")
    redemption = receipt(admin, ids)
    for paper in ("", "?paper=a4"):
        page = shown(admin.get(f"/counter/receipts/{redemption}{paper}"))
        assert "兑换后余额90 分" in page  # the <dt> and its <dd>
        assert "打印时另有 15 分公示中，公示期满无异议后入账，暂不能使用。" in page


def test_a_receipt_says_nothing_of_held_points_when_none_are_held(app, admin, ids):
    page = shown(admin.get(f"/counter/receipts/{receipt(admin, ids)}"))
    assert "兑换后余额90 分" in page and "公示中" not in page


def test_the_passbook_and_the_xlsx_show_the_held_points(app, admin, ids):
    award(app, ids, "labour")
    passbook = shown(admin.get(f"/statements/{ids['h1']}/print"))
    assert "打印时另有 15 分公示中，公示期满无异议后入账，暂不能使用。" in passbook
    response = admin.get(f"/statements/{ids['h1']}/statement.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data), read_only=True).active.iter_rows(values_only=True))
    assert rows[4][:4] == ("当前可用", 100, "另有公示中（未入账）", 15)
    hold_off(app, ids)
    with app.app_context(), unit_of_work() as session:
        held = session.scalar(select(PointsClaim.id).where(PointsClaim.status == ClaimStatus.PUBLICIZING))
        points.credit_publicized(session, actor=None, village_id=ids["a"], claim_id=held)
    assert "公示中" not in shown(admin.get(f"/statements/{ids['h1']}/print"))
    response = admin.get(f"/statements/{ids['h1']}/statement.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data), read_only=True).active.iter_rows(values_only=True))
    assert rows[4][:2] == ("当前可用", 115) and len([c for c in rows[4] if c is not None]) == 2


def test_get_account_gives_held_and_pending_beside_the_balance(app, ids, client):
    award(app, ids, "labour")
    award(app, ids, "honour")
    with app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/accounts?household={ids['h1']}", headers=headers).get_json()
    assert (body["balance"], body["yuan"], body["held"], body["pending"]) == (100, 300, 15, 30)
    assert client.get(f"/api/v1/accounts?card={ids['card_number']}", headers=headers).get_json() == body
    spec = client.get("/api/v1/openapi.json").get_json()
    fields = spec["components"]["schemas"]["Account"]["properties"]
    assert "公示中" in fields["held"]["description"] and "待审核" in fields["pending"]["description"]


# ---- what the award form says ---------------------------------------------------------------------------


def post_award(admin, ids, rule, key):
    admin.post("/points/award", data={"household_id": ids["h1"], "rule_id": ids[rule], "request_key": key})
    return flashes(admin.get("/points/award").get_data(as_text=True))


def test_a_held_award_says_it_waits_for_the_notice_not_for_review(app, admin, ids):
    assert post_award(admin, ids, "labour", "a-1") == [
        "01001 王大山：已记录 15 分，公示中：将列入下一期公示，公示期满无异议后入账。"
        "现可用 100 分，另有 15 分公示中"
    ]
    assert "本村实行“公示后入账”" in admin.get("/points/award").get_data(as_text=True)


def test_a_deduction_under_credit_after_notice_is_credited_at_once(app, admin, ids):
    assert post_award(admin, ids, "litter", "d-1") == ["01001 王大山：已记入 -5 分，余额 95 分"]


def test_an_award_awaiting_review_says_so_and_what_follows(app, admin, ids):
    assert post_award(admin, ids, "honour", "h-1") == [
        "01001 王大山：已记录 30 分，该细则需监督员审核，已提交待审，"
        "审核通过后列入公示，公示期满无异议后入账。现可用 100 分，另有 30 分待审核"
    ]


def test_without_credit_after_notice_an_award_is_credited_and_says_nothing_of_notices(app, admin, ids):
    hold_off(app, ids)
    assert post_award(admin, ids, "labour", "a-1") == ["01001 王大山：已记入 15 分，余额 115 分"]
    assert "本村实行“公示后入账”" not in admin.get("/points/award").get_data(as_text=True)


def test_a_held_award_sent_again_after_its_notice_says_it_was_credited(app, admin, ids):
    post_award(admin, ids, "labour", "a-1")
    with app.app_context(), unit_of_work() as session:
        held = session.scalar(select(PointsClaim.id).where(PointsClaim.status == ClaimStatus.PUBLICIZING))
        points.credit_publicized(session, actor=None, village_id=ids["a"], claim_id=held)
    assert post_award(admin, ids, "labour", "a-1") == ["01001 王大山：已记入 15 分，余额 115 分"]


def post_batch(admin, ids, rule, key):
    response = admin.post(
        "/points/batch",
        data={
            "group_id": ids["group1"],
            "households": [ids["h1"], ids["h2"]],
            "rule_id": ids[rule],
            "request_key": key,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return flashes(admin.get("/points/").get_data(as_text=True))


def test_a_held_batch_says_how_many_households_wait_for_the_notice(app, admin, ids):
    assert post_batch(admin, ids, "labour", "b-1") == [
        "2 户的加分共 30 分公示中，列入下一期公示，公示期满无异议后入账。"
    ]
    page = admin.get(f"/points/batch?group={ids['group1']}").get_data(as_text=True)
    assert shown_text(page).count("余额 100 分 · 另有 15 分公示中") == 2


def test_a_batch_awaiting_review_and_a_batch_credited(app, admin, ids):
    assert post_batch(admin, ids, "honour", "b-1") == ["2 户的记分需监督员审核，已提交待审。"]
    hold_off(app, ids)
    assert post_batch(admin, ids, "labour", "b-2") == ["已为 2 户记入积分，共 30 分。"]


def shown_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


# ---- the queues and the API's writes ----------------------------------------------------------------------


def test_approving_under_credit_after_notice_says_the_points_are_held(app, ids, cached_login):
    award(app, ids, "honour")
    with app.app_context():
        claim_id = db.session.scalar(select(PointsClaim.id))
        db.session.remove()
    supervisor = cached_login("a-supervisor")
    supervisor.post(f"/points/claims/{claim_id}/approve")
    assert flashes(supervisor.get("/points/approvals").get_data(as_text=True)) == [
        "已审核通过；30 分公示中，列入下一期公示，公示期满无异议后入账。"
    ]


def test_accepting_an_application_under_credit_after_notice_says_the_points_are_held(app, admin, ids):
    with app.app_context(), unit_of_work() as session:
        claim_id = points.apply(
            session, village_id=ids["a"], household_id=ids["h1"], rule_id=ids["labour"], note="扫雪"
        ).id
    admin.post(f"/points/claims/{claim_id}/accept")
    assert flashes(admin.get("/points/applications").get_data(as_text=True)) == [
        "已受理；15 分公示中，列入下一期公示，公示期满无异议后入账。"
    ]


def test_the_api_answers_a_held_award_and_a_held_approval_with_the_claim(app, ids, client):
    with app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-supervisor"))
        admin_token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    held = client.post(
        f"/api/v1/households/{ids['h1']}/points",
        json={"rule_id": ids["labour"]},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert held.status_code == 202 and held.get_json()["status"] == "publicizing"
    pending = client.post(
        f"/api/v1/households/{ids['h1']}/points",
        json={"rule_id": ids["honour"]},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert pending.status_code == 202 and pending.get_json()["status"] == "pending"
    approved = client.post(
        f"/api/v1/claims/{pending.get_json()['id']}/approval", headers={"Authorization": f"Bearer {token}"}
    )
    assert approved.status_code == 202, approved.get_data(as_text=True)
    assert approved.get_json()["status"] == "publicizing"
