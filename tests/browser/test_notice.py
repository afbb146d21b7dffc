"""In a real browser, as the issue's "done when" says: the demo supervisor compiles the month's notice (公示),
reviews and publishes it, and opens the A4 copy to print; a villager on a 360 px phone objects to one of the
household's lines from the QR page, the supervisor answers, and the villager reads the answer.

The demo's entries are dated the day it was loaded; the notices service's clock is moved to the 2nd of next
month, so that this month is over and its notice can be compiled (the demo already published last month's).
"""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from lovemart.db import db
from lovemart.models import Notice, Objection, Village
from lovemart.services import cards, notices
from lovemart.services.totals import VILLAGE_TIMEZONE

pytestmark = pytest.mark.browser

MONTH_START, MONTH_END = notices.month_period(datetime.now(VILLAGE_TIMEZONE).date())


@pytest.fixture
def next_month(monkeypatch):
    moment = datetime.combine(MONTH_END + timedelta(days=2), time(9), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)
    monkeypatch.setattr(notices, "utcnow", lambda: moment)


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_supervisor_publishes_and_prints_the_notice_and_a_villager_objects(
    page, phone_page, sign_in, live_app, next_month, requests_seen
):
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="公示").click()
    page.wait_for_url("**/notices/")
    assert page.get_by_label("公示月份").input_value() == MONTH_START.strftime("%Y-%m")  # last month, by then
    page.get_by_role("button", name="生成草稿").click()
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert "已生成公示草稿" in page.locator(".flash-success").inner_text()
    assert "草稿" in page.locator("h1").inner_text()
    first_household = page.locator("table.notice-household caption strong").first.inner_text()

    page.get_by_role("link", name="发布", exact=True).click()
    page.wait_for_url(re.compile(r"/notices/\d+/publish$"))
    assert "发布后内容永久冻结" in page.content()
    page.get_by_role("button", name="确认发布").click()
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    notice_id = int(page.url.rsplit("/", 1)[1])
    assert "公示已发布" in page.locator(".flash-success").inner_text()
    assert "已发布" in page.locator("h1").inner_text()
    assert "内容与摘要一致" in page.content() and "台账链头吻合" in page.content()

    page.get_by_role("link", name="打印公示").click()
    page.wait_for_url(f"**/notices/{notice_id}/print")
    with live_app.app_context():
        notice = db.session.get(Notice, notice_id)
        digest, head, token = notice.digest, notice.chain_head, notice.token
        # the first household with a line a villager may object to (a redemption is not one)
        household_id, entry_id = next(
            (section["household"], line["entry"])
            for section in notices.document(notice)["households"]
            for line in reversed(section["lines"])
            if line["kind"] in notices.OBJECTABLE_KINDS
        )
        village_id = db.session.scalar(select(Village.id).where(Village.code == "adao"))
        card_token = cards.active_card(db.session, village_id=village_id, household_id=household_id).token
        db.session.remove()
    sheet = page.locator("article.notice-paper").inner_text()
    assert digest in sheet and head in sheet and first_household in sheet
    assert page.locator(".notice-qr svg").count() == 2  # the public page's link and the checkpoint
    assert page.locator(".notice-seal .fingerprint").is_visible()
    assert page.get_by_role("button", name="打印").is_visible()
    assert requests_seen.off_host() == []

    # The villager scans the card, objects to the household's newest line of the notice.
    phone = phone_page
    phone.goto(f"/c/{card_token}")
    phone.get_by_role("link", name="积分公示").click()
    phone.wait_for_url("**/me/notices")
    assert _fits_the_screen(phone)
    phone.locator(f'a[href$="objection?entry={entry_id}"]').click()
    phone.wait_for_url(re.compile(r"/me/notices/[\w-]+/objection\?entry=\d+$"))
    assert _fits_the_screen(phone)
    phone.get_by_label("异议理由").fill("这条记错了，那天我家没人参加")
    phone.get_by_role("button", name="提交异议").click()
    phone.wait_for_url("**/me/objections")
    assert "异议已提交" in phone.content() and "待答复" in phone.content()

    # The supervisor answers it from the objection queue.
    page.goto("/notices/objections")
    mine = page.locator("li.claim").filter(has_text="这条记错了，那天我家没人参加")
    mine.get_by_role("link", name="核实并答复").click()
    page.wait_for_url(re.compile(r"/notices/objections/\d+$"))
    page.get_by_label("异议不成立：维持原记录").check()
    page.get_by_label("答复（村民会看到）").fill("经核对签到表，您家当天有人参加，维持原记录。")
    page.get_by_role("button", name="提交答复").click()
    page.wait_for_url("**/notices/objections")
    assert "已答复" in page.locator(".flash-success").inner_text()

    phone.reload()
    answer = phone.locator("ol.lines li").first.inner_text()
    assert "异议不成立" in answer and "经核对签到表" in answer
    assert _fits_the_screen(phone)
    phone.goto(f"/n/{token}")
    assert digest in phone.content()
    assert requests_seen.off_host() == []
    with live_app.app_context():
        objection = db.session.scalar(select(Objection).where(Objection.entry_id == entry_id))
        assert objection.status == "dismissed" and objection.household_id == household_id
        db.session.remove()
