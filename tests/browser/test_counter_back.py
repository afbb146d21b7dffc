"""The counter after the browser's Back (issue 15, item 4), in Chromium on a 360 px phone and a 1366 px PC.

A redemption, then Back: the card page shows the balance and the stock as they are now, with an empty cart
and a new request key, whether Chromium restores the page from its back/forward cache (on in a cadre's
Chromium; counter.js then loads it again) or not (Playwright's default; the server's `no-store` then makes
Chromium ask again instead of showing its stored copy). A copy of the old page confirmed anyway sells
nothing: the cadre reads that this order was confirmed already, with its receipt, and 重新开始 opens a fresh
counter that redeems. A second tab opened before a sale and confirmed after it sells nothing either: it comes
back with the current balance, the cart kept and why."""

import re
from contextlib import suppress
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from lovemart.db import db
from lovemart.models import Product, Redemption
from tests.browser import test_counter
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, _close, _new_page
from tests.browser.test_counter import RICE, SOAP, _books, _pick_card

pytestmark = pytest.mark.browser

#: Rice and soap on the shelves, as tests/browser/test_counter.py stocks them (a fixture of this module too).
counter_shop = test_counter.counter_shop

SIZES = {
    "360": {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
    "1366": {"viewport": DESKTOP},
}


@pytest.fixture(scope="module")
def bfcache_browser(browser):
    """Chromium as a cadre runs it: Playwright turns the back/forward cache off unless told not to."""
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    yield chromium
    chromium.close()


@pytest.fixture(
    params=[(size, cache) for size in SIZES for cache in ("bfcache", "no-bfcache")],
    ids=lambda param: "-".join(param),
)
def counter_page(request, browser, bfcache_browser, live_server, requests_seen):
    size, cache = request.param
    chromium = bfcache_browser if cache == "bfcache" else browser
    context, page = _new_page(chromium, live_server, requests_seen, **SIZES[size])
    yield page
    _close(request, context, f"{size}-{cache}")


def _key(page) -> str:
    return page.locator("input[name=idempotency_key]").input_value()


def _tile(page, name: str):
    return page.locator(f"[data-good][data-name='{name}']")


def _price(live_app, product_id: int) -> int:
    with live_app.app_context():
        price = db.session.get(Product, product_id).points_price
        db.session.remove()
        return price


def _last_receipt_no(live_app) -> str:
    with live_app.app_context():
        found = db.session.scalar(select(Redemption.receipt_no).order_by(Redemption.id.desc()).limit(1))
        db.session.remove()
        return found


def test_back_after_a_redemption_shows_the_books_as_they_are(counter_page, sign_in, live_app, counter_shop):
    page = counter_page
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    card = _pick_card(live_app, counter_shop)
    before = _books(live_app, counter_shop, card)
    sign_in(page, "admin")
    page.goto(f"/counter/cards/{card['id']}")
    card_path = urlsplit(page.url).path
    old_key = _key(page)
    _tile(page, RICE).locator("[data-pick]").click()
    _tile(page, RICE).locator("[data-pick]").click()
    _tile(page, SOAP).locator("[data-pick]").click()
    page.locator("[data-confirm]").click()
    page.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
    receipt_no = _last_receipt_no(live_app)
    after = _books(live_app, counter_shop, card)
    assert after == {
        "balance": before["balance"] - card["needed"],
        "rice": before["rice"] - 2,
        "soap": before["soap"] - 1,
        "redemptions": before["redemptions"] + 1,
    }

    # Back: the card page as it is now, never the copy from before the sale.
    page.go_back(wait_until="commit")  # a page restored from the back/forward cache sends no "load"
    page.wait_for_url(lambda url: urlsplit(url).path == card_path, wait_until="commit")
    with suppress(PlaywrightTimeout):  # a restored page is loaded again by counter.js: give it a moment
        page.locator("[data-balance-shown]").filter(has_text=str(after["balance"])).wait_for(timeout=3000)
    assert page.locator("[data-balance-shown]").inner_text() == str(after["balance"])
    assert f"库存 {after['rice']}" in _tile(page, RICE).inner_text()
    assert f"库存 {after['soap']}" in _tile(page, SOAP).inner_text()
    assert _tile(page, RICE).locator("[data-qty]").input_value() == ""  # no old cart brought back
    assert page.locator("[data-cart-lines] li").count() == 0
    assert page.locator("[data-confirm]").is_disabled()  # an empty cart cannot be confirmed
    assert _key(page) != old_key
    assert _books(live_app, counter_shop, card) == after

    # A copy of the old page confirmed anyway (its key, another cart): nothing sold, and it says why.
    page.evaluate("key => { document.querySelector('input[name=idempotency_key]').value = key; }", old_key)
    _tile(page, SOAP).locator("[data-pick]").click()
    page.locator("[data-confirm]").click()
    page.wait_for_url(re.compile(r"/redeem$"))
    old_page = page.locator("[data-old-page]")
    assert f"这一单已经确认过了（收据 No. {receipt_no}），刚才的页面是旧的。" in old_page.inner_text()
    assert "这一次没有兑换任何商品，积分和库存都没有变。" in old_page.inner_text()
    assert "同一个请求编号" not in page.content()
    assert old_page.get_by_role("link", name=f"查看收据 No. {receipt_no}").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0  # fits a phone
    assert _books(live_app, counter_shop, card) == after

    # 重新开始: a fresh counter for the same card, which redeems.
    old_page.get_by_role("link", name="重新开始").click()
    page.wait_for_url(lambda url: urlsplit(url).path == card_path)
    assert page.locator("[data-balance-shown]").inner_text() == str(after["balance"])
    assert _key(page) not in (old_key, "")
    _tile(page, SOAP).locator("[data-pick]").click()
    page.locator("[data-confirm]").click()
    page.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
    soap = _price(live_app, counter_shop[SOAP])
    assert _books(live_app, counter_shop, card) == after | {
        "balance": after["balance"] - soap,
        "soap": after["soap"] - 1,
        "redemptions": after["redemptions"] + 1,
    }
    assert errors == []


@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_a_tab_opened_before_a_sale_sells_nothing_and_shows_the_books_now(
    request, size, sign_in, live_app, counter_shop
):
    """Two tabs on one card (or a page left open while another counter sold): the later confirm is refused
    because the balance it showed is no longer true, and the page comes back as it is now, cart kept."""
    page = request.getfixturevalue(size)
    card = _pick_card(live_app, counter_shop)
    sign_in(page, "admin")
    page.goto(f"/counter/cards/{card['id']}")
    old = page.context.new_page()
    old.goto(f"/counter/cards/{card['id']}")
    _tile(old, RICE).locator("[data-pick]").click()
    _tile(old, SOAP).locator("[data-pick]").click()

    _tile(page, SOAP).locator("[data-pick]").click()  # the first tab sells a bottle of soap
    page.locator("[data-confirm]").click()
    page.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
    after = _books(live_app, counter_shop, card)

    old.locator("[data-confirm]").click()
    old.wait_for_url(lambda url: urlsplit(url).path == f"/counter/cards/{card['id']}")
    assert _books(live_app, counter_shop, card) == after
    flash = old.locator(".flash-error").first.inner_text()
    assert flash == "余额或库存已变化，已按最新情况刷新，请核对后再确认。"
    assert old.locator("[data-balance-shown]").inner_text() == str(after["balance"])
    assert f"库存 {after['soap']}" in _tile(old, SOAP).inner_text()
    assert _tile(old, RICE).locator("[data-qty]").input_value() == "1"  # the cart the cadre chose
    assert _tile(old, SOAP).locator("[data-qty]").input_value() == "1"
    assert old.locator("[data-cart-lines] li").count() == 2

    old.locator("[data-confirm]").click()  # checked and confirmed again: now it sells
    old.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
    assert _books(live_app, counter_shop, card)["redemptions"] == after["redemptions"] + 1
