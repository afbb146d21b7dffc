"""The offline counter (issue 18) in Chromium with Playwright's network emulation, on a 360 px phone and a
1366 px PC: the administrator registers the device and switches it on, opens the offline counter online,
the network goes, three households redeem and get provisional receipts, the page is reloaded while offline
(the service worker serves it, the outbox is still there), the network returns and the books show each
redemption exactly once. A replay that became invalid meanwhile waits in the supervisor's queue."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import desc, func, select

from lovemart.db import db, unit_of_work
from lovemart.models import Card, OfflineRedemption, PointsAccount, Product, Redemption
from lovemart.models.cards import CardStatus
from lovemart.services import inventory, points, redemptions
from lovemart.services.inventory import ProductInput, StockInLine
from lovemart.services.redemptions import CartLine
from tests.browser import test_counter
from tests.browser.conftest import DESKTOP, PHONE, _close, _new_page
from tests.browser.test_counter import RICE

pytestmark = pytest.mark.browser

counter_shop = test_counter.counter_shop

SIZES = {
    "360": {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
    "1366": {"viewport": DESKTOP},
}


@pytest.fixture(params=list(SIZES))
def offline_page(request, browser, live_server, requests_seen):
    context, page = _new_page(browser, live_server, requests_seen, **SIZES[request.param])
    yield context, page
    _close(request, context, request.param)


def _cards(live_app, counter_shop, n: int, price: int) -> list[dict]:
    """`n` active cards of 啊道村 that no earlier offline test used, each covering `price`."""
    with live_app.app_context():
        used = set(db.session.scalars(select(OfflineRedemption.card_number)))
        rows = db.session.execute(
            select(Card.number, Card.account_id, PointsAccount.balance)
            .join(PointsAccount, PointsAccount.id == Card.account_id)
            .where(
                Card.village_id == counter_shop["village"],
                Card.status == CardStatus.ACTIVE.value,
                PointsAccount.balance >= price,
            )
            .order_by(desc(PointsAccount.balance), Card.number)
        ).all()
        db.session.remove()
    found = [{"number": r[0], "account": r[1], "balance": r[2]} for r in rows if r[0] not in used][:n]
    assert len(found) == n
    return found


def _books(live_app, counter_shop, cards) -> dict:
    with live_app.app_context():
        db.session.rollback()
        found = {
            "balances": [db.session.get(PointsAccount, c["account"]).balance for c in cards],
            "rice": db.session.get(Product, counter_shop[RICE]).stock,
            "redemptions": db.session.scalar(select(func.count()).select_from(Redemption)),
            "offline": db.session.scalars(
                select(OfflineRedemption.status).where(
                    OfflineRedemption.card_number.in_([c["number"] for c in cards])
                )
            ).all(),
        }
        db.session.remove()
        return found


def _ready_offline_counter(page, sign_in, name: str) -> None:
    """Sign in, register this browser as a counter device, switch it on, open the offline counter online and
    wait until the service worker controls it and the snapshot is stored."""
    sign_in(page, "admin")
    page.goto("/counter/devices")
    page.get_by_label("设备名称").fill(name)
    page.get_by_role("button", name="登记").click()
    page.get_by_role("button", name="允许离线兑换").last.click()
    assert "已允许" in page.locator(".flash").first.inner_text()
    page.goto("/counter/offline")
    page.evaluate(
        """() => navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller ||
             new Promise(resolve => navigator.serviceWorker.addEventListener("controllerchange", resolve)))"""
    )
    expect(page.locator("[data-banner]")).to_contain_text("数据更新于")


def _redeem(page, number: str, rice_id: int, quantity: int = 1) -> str:
    page.get_by_label("卡号").fill(number)
    page.get_by_role("button", name="查询").click()
    page.locator(f'[data-products] input[data-product="{rice_id}"]').fill(str(quantity))
    page.get_by_role("button", name="确认兑换").click()
    receipt = page.locator("[data-receipt]")
    receipt.wait_for(state="visible")
    provisional = receipt.locator("[data-receipt-no]").inner_text()
    assert provisional.startswith("离线-") and "待同步" in receipt.inner_text()
    page.get_by_role("button", name="下一位").click()
    return provisional


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_three_redemptions_offline_are_booked_once_when_the_network_returns(
    offline_page, sign_in, live_app, counter_shop
):
    context, page = offline_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with live_app.app_context():
        price = db.session.get(Product, counter_shop[RICE]).points_price
        db.session.remove()
    cards = _cards(live_app, counter_shop, 3, price)
    before = _books(live_app, counter_shop, cards)
    _ready_offline_counter(page, sign_in, "柜台手机")

    context.set_offline(True)
    numbers = [_redeem(page, card["number"], counter_shop[RICE]) for card in cards]
    assert len(set(numbers)) == 3
    banner = page.locator("[data-banner]")
    assert "离线模式" in banner.inner_text() and "3 笔待同步" in banner.inner_text()
    _no_overflow(page)
    page.reload()  # offline: the service worker serves the page, the outbox is still there
    expect(page.locator("[data-banner]")).to_contain_text("3 笔待同步")
    assert page.locator("[data-outbox] li[data-status=waiting]").count() == 3
    assert _books(live_app, counter_shop, cards) == before  # nothing reached the server

    context.set_offline(False)
    expect(page.locator("[data-banner]")).to_contain_text("0 笔待同步", timeout=20000)
    after = _books(live_app, counter_shop, cards)
    assert after["redemptions"] == before["redemptions"] + 3
    assert after["balances"] == [b - price for b in before["balances"]]
    assert after["rice"] == before["rice"] - 3
    assert sorted(after["offline"]) == ["applied"] * 3
    page.get_by_role("button", name="立即同步").click()  # a second sync sends nothing again
    expect(page.locator("[data-sync-message]")).not_to_be_empty()
    assert _books(live_app, counter_shop, cards)["redemptions"] == after["redemptions"]
    with live_app.app_context():
        assert points.verify(db.session) == [] and inventory.verify(db.session) == []
        db.session.remove()
    assert errors == []


def test_a_replay_no_longer_valid_waits_for_the_supervisor(
    offline_page, sign_in, live_app, counter_shop, browser, live_server, requests_seen
):
    context, page = offline_page
    with live_app.app_context():
        price = db.session.get(Product, counter_shop[RICE]).points_price
        db.session.remove()
    (card,) = _cards(live_app, counter_shop, 1, price)
    _ready_offline_counter(page, sign_in, "二号柜台")
    context.set_offline(True)
    _redeem(page, card["number"], counter_shop[RICE])
    with live_app.app_context(), unit_of_work() as session:  # meanwhile the points are spent elsewhere
        village_id = counter_shop["village"]
        zone = inventory.zones(session, village_id=village_id)[0]
        product = inventory.create_product(
            session, actor=None, village_id=village_id,
            data=ProductInput(name=f"电饭锅{card['number']}", zone_id=zone.id, unit="台",
                              points_price=card["balance"] - price + 1),
        )  # fmt: skip
        inventory.stock_in(
            session, actor=None, village_id=village_id, lines=[StockInLine(product.id, 1)], note="测试进货"
        )
        redemptions.redeem(
            session, actor=None, village_id=village_id, card_number=card["number"],
            lines=[CartLine(product.id, 1)], idempotency_key=f"elsewhere-{card['number']}",
        )  # fmt: skip
    context.set_offline(False)
    expect(page.locator("[data-banner]")).to_contain_text("0 笔待同步", timeout=20000)
    assert page.locator("[data-outbox] li[data-status=pending]").count() == 1
    assert "交监督员处理" in page.locator("[data-sync-message]").inner_text()
    assert _books(live_app, counter_shop, [card])["offline"] == ["pending"]

    supervisor, review = _new_page(browser, live_server, requests_seen, viewport=page.viewport_size)
    try:
        sign_in(review, "supervisor")
        review.goto("/audit/signals")
        review.get_by_role("link", name="去处理").click()
        entry = review.locator("section.card", has_text=card["number"])
        assert "积分不足" in entry.inner_text()
        entry.get_by_label("准予入账（东西已拿走，积分可以扣成负数）").check()
        entry.get_by_label("理由").fill("核实已拿走大米")
        entry.get_by_role("button", name="处理").click()
        assert "监督员准予入账" in review.locator(".flash").first.inner_text()
    finally:
        supervisor.close()
    after = _books(live_app, counter_shop, [card])
    assert after["offline"] == ["accepted"] and after["balances"][0] < 0
