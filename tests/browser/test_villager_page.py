"""In a real browser on a 360 px phone: a villager opens the page behind a demo card's QR code, sees the
balance, the page fits the screen and loads nothing from another host, and then applies for points."""

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from lovemart.db import db
from lovemart.models import Card, PointsAccount, PointsClaim, Village
from lovemart.models.cards import CardStatus

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_card(live_app):
    """The token and stored balance of an active demo card of 啊道村."""
    with live_app.app_context():
        village_id = db.session.scalar(select(Village.id).where(Village.code == "adao"))
        token, balance = db.session.execute(
            select(Card.token, PointsAccount.balance)
            .join(PointsAccount, PointsAccount.id == Card.account_id)
            .where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE.value)
            .order_by(Card.id)
            .limit(1)
        ).one()
        db.session.remove()
    return {"token": token, "balance": balance}


def _fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_villager_sees_balance_on_a_phone_and_applies_for_points(
    phone_page, live_app, live_server, requests_seen, demo_card
):
    page = phone_page
    url = "/me"
    page.goto(f"/c/{demo_card['token']}")  # the QR link: a cookie, then /me without the token
    assert page.locator("#balance strong").inner_text() == str(demo_card["balance"])
    assert "啊道村" in page.content()
    assert _fits_the_screen(page)
    assert requests_seen.off_host() == []
    paths = [urlsplit(seen).path for seen in requests_seen]
    # the link, the page, its one stylesheet and its one script (the notices' check), nothing else
    assert paths == [f"/c/{demo_card['token']}", url, "/static/css/public.css", "/static/js/notice-check.js"]
    # the demo's year of notices: every line of the household checked against each notice's fingerprint
    page.wait_for_selector('#notice-checks[data-checked="done"]', state="attached")
    checked = page.locator("#notice-checks .notice-check[data-checked]")
    assert checked.count() >= 1
    assert {checked.nth(n).get_attribute("data-checked") for n in range(checked.count())} == {"ok"}
    assert page.locator(".check-ok", has_text="与公示栏上的校验码一致").first.is_visible()
    assert demo_card["token"] not in page.url

    page.get_by_role("link", name="长辈版（大字）").click()
    page.wait_for_url(f"**{url}?big=1")
    assert _fits_the_screen(page)

    page.get_by_role("link", name="申报积分").click()
    page.wait_for_url(f"**{url}/apply")
    assert _fits_the_screen(page)
    page.get_by_label("申报事项").select_option(index=0)
    page.get_by_label("做了什么").fill("帮邻居收玉米两天")
    page.get_by_role("button", name="提交申报").click()
    page.wait_for_url(f"**{url}")
    assert "申报已提交" in page.content()
    assert "待受理" in page.locator("section", has_text="我的申报").inner_text()
    assert requests_seen.off_host() == []

    with live_app.app_context():
        claim = db.session.scalar(select(PointsClaim).where(PointsClaim.note == "帮邻居收玉米两天"))
        assert claim is not None and claim.from_villager and claim.status == "submitted"
        db.session.remove()
