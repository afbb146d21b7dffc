"""In a real browser, the whole counter flow: the demo administrator signs in, types a card number into the
focused scan field and presses Enter (as a USB scanner does), adds two bags of rice and a bottle of dish soap
by clicking their tiles, confirms with a double click, and gets exactly one redemption and its receipt; the
balance and the stock are right afterwards. Also: the same confirm resubmitted, the page without JavaScript,
camera scanning of the card's QR code (a fake camera showing it), and the receipt's paper sizes."""

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import qrcode
from sqlalchemy import desc, func, select

from lovemart.db import db, unit_of_work
from lovemart.models import Card, PointsAccount, Product, Redemption, Village
from lovemart.models.cards import CardStatus
from lovemart.services import inventory
from lovemart.services.inventory import ProductInput, StockInLine
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.browser

RICE, SOAP = "大米", "洗洁精"


@pytest.fixture(scope="module")
def counter_shop(live_app):
    """Rice and dish soap on the shelves of 啊道村 (created if the demo has none) with plenty of stock."""
    with live_app.app_context():
        with unit_of_work() as session:
            village_id = session.scalar(select(Village.id).where(Village.code == "adao"))
            zones = {z.name: z.id for z in inventory.zones(session, village_id=village_id)}
            ids = {}
            for name, zone, unit, price in ((RICE, "粮油区", "袋", 30), (SOAP, "洗化区", "瓶", 8)):
                product = session.scalar(
                    select(Product).where(Product.village_id == village_id, Product.name == name)
                )
                if product is None:
                    product = inventory.create_product(
                        session,
                        actor=None,
                        village_id=village_id,
                        data=ProductInput(name=name, zone_id=zones[zone], unit=unit, points_price=price),
                    )
                ids[name] = product.id
            inventory.stock_in(
                session,
                actor=None,
                village_id=village_id,
                lines=[StockInLine(ids[RICE], 20), StockInLine(ids[SOAP], 20)],
                note="浏览器测试进货",
            )
        db.session.remove()
    return {"village": village_id, **ids}


def _pick_card(live_app, counter_shop, *, skip=()) -> dict:
    """An active card of 啊道村 whose balance covers two bags of rice and a bottle of soap."""
    with live_app.app_context():
        rice = db.session.get(Product, counter_shop[RICE])
        soap = db.session.get(Product, counter_shop[SOAP])
        needed = 2 * rice.points_price + soap.points_price
        row = db.session.execute(
            select(Card, PointsAccount.balance)
            .join(PointsAccount, PointsAccount.id == Card.account_id)
            .where(
                Card.village_id == counter_shop["village"],
                Card.status == CardStatus.ACTIVE.value,
                PointsAccount.balance >= needed,
                Card.id.not_in(skip or [0]),
            )
            .order_by(desc(PointsAccount.balance))
        ).first()
        assert row is not None, "no demo household can afford the cart"
        card, balance = row
        found = {
            "id": card.id,
            "number": card.number,
            "token": card.token,
            "balance": balance,
            "account": card.account_id,
            "needed": needed,
        }
        db.session.remove()
        return found


def _books(live_app, counter_shop, card) -> dict:
    with live_app.app_context():
        db.session.rollback()
        found = {
            "balance": db.session.get(PointsAccount, card["account"]).balance,
            "rice": db.session.get(Product, counter_shop[RICE]).stock,
            "soap": db.session.get(Product, counter_shop[SOAP]).stock,
            "redemptions": db.session.scalar(select(func.count()).select_from(Redemption)),
        }
        db.session.remove()
        return found


def _focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_scan_pick_and_double_click_redeems_once(page, sign_in, live_app, counter_shop, requests_seen):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    card = _pick_card(live_app, counter_shop)
    before = _books(live_app, counter_shop, card)

    sign_in(page, "admin")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="收银台").click()
    page.wait_for_url("**/counter/")
    assert _focused(page) == "scan"
    assert page.locator("[data-camera]").is_visible()  # 127.0.0.1 is a secure context: the camera is offered
    assert not any("jsQR" in url for url in requests_seen)  # loaded on first use only

    page.keyboard.type(card["number"])  # the scanner types into the focused field, then Enter
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/counter/cards/{card['id']}$"))
    customer = page.locator("[data-customer]")
    assert card["number"] in customer.inner_text()
    assert page.locator("[data-balance-shown]").inner_text() == str(card["balance"])
    assert _focused(page) == "scan"

    rice = page.locator(f"[data-good][data-name='{RICE}']")
    soap = page.locator(f"[data-good][data-name='{SOAP}']")
    rice.locator("[data-pick]").click()
    rice.locator("[data-pick]").click()
    soap.locator("[data-pick]").click()
    assert _focused(page) == "scan"  # the scanner can still type after a click on a tile
    assert rice.locator("[data-qty]").input_value() == "2"
    assert soap.locator("[data-qty]").input_value() == "1"
    assert page.locator("[data-cart-lines] li").count() == 2
    assert page.locator("[data-cart-total]").inner_text() == str(card["needed"])
    assert page.locator("[data-cart-after]").inner_text() == str(card["balance"] - card["needed"])

    with page.expect_request(lambda r: r.method == "POST" and "/redeem" in r.url) as posted:
        page.locator("[data-confirm]").dblclick()
    page.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
    receipt_url = page.url
    after = _books(live_app, counter_shop, card)
    assert after == {
        "balance": before["balance"] - card["needed"],
        "rice": before["rice"] - 2,
        "soap": before["soap"] - 1,
        "redemptions": before["redemptions"] + 1,
    }

    receipt = page.locator("[data-receipt]").inner_text()
    with live_app.app_context():
        redemption = db.session.scalars(select(Redemption).order_by(Redemption.id.desc())).first()
        receipt_no, balance_after = redemption.receipt_no, redemption.balance_after
        db.session.remove()
    for text in (
        receipt_no,
        card["number"],
        RICE,
        SOAP,
        "2袋",
        "1瓶",
        f"{card['needed']} 分",
        f"{balance_after} 分",
        "张建华（管理员）",
        "啊道村",
    ):
        assert text in receipt, text
    assert balance_after == after["balance"]

    # The same confirm sent again (a retry of that POST): the same receipt, nothing sold twice.
    form = dict(parse_qsl(posted.value.post_data))
    again = page.context.request.post(posted.value.url, form=form, max_redirects=0)
    assert again.status == 303
    assert urlsplit(again.headers["location"]).path == urlsplit(receipt_url).path
    assert _books(live_app, counter_shop, card) == after

    # Next customer: a fresh counter, today's list shows the sale.
    page.get_by_role("link", name="下一位顾客").click()
    page.wait_for_url("**/counter/")
    assert receipt_no in page.locator(".today").inner_text()
    assert _focused(page) == "scan"

    # The same card again: the counter shows the new balance and the new stock.
    page.keyboard.type(card["number"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/counter/cards/{card['id']}$"))
    assert page.locator("[data-balance-shown]").inner_text() == str(after["balance"])
    assert f"库存 {after['rice']}" in rice.inner_text()
    assert f"库存 {after['soap']}" in soap.inner_text()
    assert errors == []
    assert requests_seen.off_host() == []


def test_refusals_say_why_and_keep_the_cart(page, sign_in, live_app, counter_shop):
    """Too many points: the script warns before any request. Stock sold meanwhile at another counter: the
    server refuses, nothing is written, and the cashier sees the counter as it is now and why the line that
    is no longer possible left the cart."""
    card = _pick_card(live_app, counter_shop)
    sign_in(page, "admin")
    page.goto(f"/counter/cards/{card['id']}")
    rice = page.locator(f"[data-good][data-name='{RICE}']")
    price = int(rice.get_attribute("data-price"))
    stock = int(rice.get_attribute("data-stock"))
    too_many = card["balance"] // price + 1
    if too_many <= stock:
        rice.locator("[data-qty]").fill(str(too_many))
        assert page.locator("[data-cart-over]").is_visible()
        assert page.locator("[data-confirm]").is_disabled()
    rice.locator("[data-qty]").fill("")

    rice.locator("[data-pick]").click()
    rice.locator("[data-pick]").click()
    with live_app.app_context():  # another counter takes all but one bag
        with unit_of_work() as session:
            inventory.write_off(
                session,
                actor=None,
                village_id=counter_shop["village"],
                product_id=counter_shop[RICE],
                quantity=stock - 1,
                reason="浏览器测试：别的柜台卖掉了",
            )
        db.session.remove()
    before = _books(live_app, counter_shop, card)
    try:
        page.locator("[data-confirm]").click()
        page.wait_for_url(re.compile(rf"/counter/cards/{card['id']}\?cart="))
        flash = page.locator(".flash-error").first.inner_text()
        assert flash == "余额或库存已变化，已按最新情况刷新，请核对后再确认。"
        unit = rice.get_attribute("data-unit")
        dropped = f"“{RICE}”现在只剩 1{unit}，已从购物车去掉，请重新选择数量。"
        assert dropped in page.locator(".cart-error").inner_text()
        assert "库存 1" in rice.inner_text()
        assert rice.locator("[data-qty]").input_value() == ""
        assert page.locator("[data-cart-lines] li").count() == 0
        assert _books(live_app, counter_shop, card) == before
    finally:
        with live_app.app_context():
            with unit_of_work() as session:
                inventory.stock_in(
                    session,
                    actor=None,
                    village_id=counter_shop["village"],
                    lines=[StockInLine(counter_shop[RICE], stock - 1)],
                )
            db.session.remove()

    # A scan of an unknown card says so in plain Chinese, on the counter, and the field is ready again.
    page.locator("[data-scan]").fill("ZZ99999")
    page.keyboard.press("Enter")
    page.wait_for_url("**/counter/scan")
    assert "本村没有卡号为 ZZ99999 的积分卡。" in page.locator(".scan-error").inner_text()
    assert _focused(page) == "scan"


def test_counter_works_without_javascript(browser, live_server, sign_in, live_app, counter_shop):
    context = browser.new_context(base_url=live_server, locale="zh-CN", java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        card = _pick_card(live_app, counter_shop)
        before = _books(live_app, counter_shop, card)
        sign_in(page, "admin")
        page.goto("/counter/")
        page.locator("#scan").fill(card["number"])
        page.get_by_role("button", name="查找").click()
        page.wait_for_url(re.compile(rf"/counter/cards/{card['id']}$"))
        page.get_by_label(f"{RICE} 的数量").fill("2")
        page.get_by_label(f"{SOAP} 的数量").fill("1")
        page.get_by_role("button", name="确认兑换").click()
        page.wait_for_url(re.compile(r"/counter/receipts/\d+$"))
        assert "积分兑换小票" in page.content()
        after = _books(live_app, counter_shop, card)
        assert after["balance"] == before["balance"] - card["needed"]
        assert (after["rice"], after["soap"]) == (before["rice"] - 2, before["soap"] - 1)
    finally:
        context.close()


def _y4m_showing(text: str, path: Path) -> Path:
    """A short video (YUV4MPEG2, 4:2:0) of a QR code encoding `text`, for Chromium's fake camera."""
    image = qrcode.make(text, border=4, box_size=8).convert("L")
    side = 480
    frame = image.resize((side, side))
    from PIL import Image

    canvas = Image.new("L", (640, 480), 255)
    canvas.paste(frame, ((640 - side) // 2, 0))
    y = canvas.tobytes()
    uv = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(10):
            out.write(b"FRAME\n" + y + uv + uv)
    return path


def test_camera_scan_reads_the_card_qr_code(browser, live_server, sign_in, live_app, counter_shop, tmp_path):
    """Chromium's fake camera plays a video of the card's QR code; jsQR reads it and the counter opens."""
    card = _pick_card(live_app, counter_shop)
    video = _y4m_showing(f"{live_server}/c/{card['token']}", tmp_path / "card.y4m")
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    camera_browser = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True, args=args)
    try:
        context = camera_browser.new_context(base_url=live_server, locale="zh-CN", permissions=["camera"])
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        sign_in(page, "admin")
        page.goto("/counter/")
        page.get_by_role("button", name="摄像头扫码").click()
        page.wait_for_url(re.compile(rf"/counter/cards/{card['id']}$"))
        assert card["number"] in page.locator("[data-customer]").inner_text()
    finally:
        camera_browser.close()


def _pdf_size_mm(pdf: bytes) -> tuple[float, float]:
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return float(box.group(1)) * 25.4 / 72, float(box.group(2)) * 25.4 / 72


def test_receipt_prints_on_58mm_roll_and_on_a4(page, sign_in, live_app):
    with live_app.app_context():
        redemption_id = db.session.scalar(select(Redemption.id).order_by(Redemption.id.desc()))
        db.session.remove()
    if redemption_id is None:
        pytest.skip("no redemption yet (the flow test makes one)")
    sign_in(page, "admin")
    page.goto(f"/counter/receipts/{redemption_id}")
    width, height = _pdf_size_mm(page.pdf(prefer_css_page_size=True))
    assert abs(width - 58) < 1, width
    assert 40 < height < 200, height  # as long as the receipt, not a whole sheet
    assert page.locator(".paper-toolbar").is_visible()

    page.get_by_role("link", name="A4 纸").click()
    page.wait_for_url(re.compile(r"paper=a4$"))
    width, height = _pdf_size_mm(page.pdf(prefer_css_page_size=True))
    assert (round(width), round(height)) == (210, 297)
