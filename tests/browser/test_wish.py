"""In a real browser: a villager posts a wish from the phone behind the card's QR code, the supervisor
approves it on the counter PC, and it appears on the public wall."""

import pytest
from sqlalchemy import select

from lovemart.db import db
from lovemart.models import Card, Village, Wish
from lovemart.models.cards import CardStatus

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def card_token(live_app):
    with live_app.app_context():
        village_id = db.session.scalar(select(Village.id).where(Village.code == "adao"))
        token = db.session.scalar(
            select(Card.token)
            .where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE.value)
            .order_by(Card.id.desc())
            .limit(1)
        )
        db.session.remove()
    return token


def test_a_wish_from_the_phone_reaches_the_wall(
    phone_page, page, live_app, sign_in, card_token, requests_seen
):
    phone = phone_page
    phone.goto(f"/c/{card_token}")
    phone.get_by_role("link", name="我的心愿").click()
    phone.wait_for_url("**/me/wishes")
    phone.get_by_label("我的心愿").fill("孩子上学想要一个新书包")
    phone.get_by_label("类别").select_option("study")
    phone.get_by_role("button", name="提交心愿").click()
    phone.wait_for_url("**/me/wishes")
    assert "心愿已提交" in phone.content()
    assert "孩子上学想要一个新书包" in phone.locator("ul.entries").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert requests_seen.off_host() == []

    sign_in(page, "supervisor")
    page.goto("/walls/?tab=pending")
    page.get_by_role("link", name="孩子上学想要一个新书包").click()
    page.get_by_role("button", name="审核通过，上墙").click()
    assert "已审核通过" in page.content()

    page.goto("/wall/adao")
    assert "孩子上学想要一个新书包" in page.content()
    with live_app.app_context():
        wish = db.session.scalar(select(Wish).where(Wish.text == "孩子上学想要一个新书包"))
        assert wish.status == "open" and wish.from_villager
        db.session.remove()
