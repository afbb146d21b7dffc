"""The counter (收银台) pages as the administrator uses them: scan a card by number or by its QR URL, refused
scans in plain Chinese, redeem → receipt, refusals that write nothing and keep the cart, one redemption per
idempotency key, returns (退货) with a reason, who may do what, and village isolation."""

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lovemart import create_app
from lovemart.db import db, unit_of_work
from lovemart.forms.counter import Scan, parse_scan
from lovemart.models import AuditEvent, Card, LedgerEntry, PointsAccount, Product, Redemption, StockMovement
from lovemart.services import cards, households, inventory, points
from lovemart.services.inventory import StockInLine
from lovemart.services.points import VILLAGE_TIMEZONE
from tests.conftest import PASSWORD, _config, _fresh_url
from tests.factories import make_two_villages
from tests.points_helpers import carded_household
from tests.shop_helpers import make_product


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def shop(app):
    """Villages a and b (users per role), a carded household in each with 100 points, rice and soap in a."""
    with app.app_context():
        ids = make_two_villages()
        ids["household"], ids["token"] = carded_household(ids["a"], head="王建华")
        ids["b_carded"], ids["b_token"] = carded_household(ids["b"], head="李四")
        ids["rice"] = make_product(ids["a"], "大米", 30, stock=20)
        ids["soap"] = make_product(ids["a"], "洗洁精", 5, stock=10, zone="洗化区", unit="瓶")
        for key, village, household in (("card", "a", "household"), ("b_card", "b", "b_carded")):
            card = cards.active_card(db.session, village_id=ids[village], household_id=ids[household])
            ids[key], ids[f"{key}_number"] = card.id, card.number
        db.session.remove()
    return ids


@pytest.fixture
def admin(login, shop):
    return login("a-admin")


def state(app, ids) -> tuple[int, int, int, int]:
    """(balance, rice stock, soap stock, redemptions) as committed."""
    with fresh_session(app) as session:
        balance = session.scalar(
            select(PointsAccount.balance).where(PointsAccount.household_id == ids["household"])
        )
        return (
            balance,
            session.get(Product, ids["rice"]).stock,
            session.get(Product, ids["soap"]).stock,
            session.scalar(select(func.count()).select_from(Redemption)),
        )


def alerts(html: str) -> list[str]:
    """The refusals shown (not the ones the script reveals later, which are `hidden`)."""
    found = re.findall(r'class="flash flash-error[^"]*"([^>]*)>([^<]*)<', html)
    return [text.strip() for attributes, text in found if "hidden" not in attributes.split()]


def cart_key(html: str) -> str:
    return re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)


def seen_of(html: str) -> str:
    return re.search(r'name="seen"[^>]*value="([^"]*)"', html).group(1)


def audit_count(app) -> int:
    with fresh_session(app) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def redeem(client, ids, key="key-1", seen=None, **quantities):
    data = {"idempotency_key": key} | {f"q-{ids[name]}": str(q) for name, q in quantities.items()}
    if seen is not None:
        data["seen"] = seen
    return client.post(f"/counter/cards/{ids['card']}/redeem", data=data)


def receipt_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.fullmatch(r"/counter/receipts/(\d+)", response.headers["Location"]).group(1))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A00012", Scan(number="A00012")),
        (" a000 12\n", Scan(number="A00012")),
        ("ADAO-00012", Scan(number="ADAO-00012")),
        ("https://lm.example.cn/c/" + "x_Y-" * 8, Scan(token="x_Y-" * 8)),
        ("http://10.0.0.2:8000/c/" + "t" * 32 + "/apply?x=1#top", Scan(token="t" * 32)),
        ("/c/short", None),  # not a token: too short to be one
        ("https://evil.example/?next=/c/", None),
        ("A00012; DROP TABLE", None),
        ("", None),
    ],
)
def test_parse_scan_reads_a_qr_url_or_a_card_number(text, expected):
    assert parse_scan(text) == expected


# ---- the page and scanning ----------------------------------------------------------------------------


def test_counter_page_is_a_focused_scan_field_with_no_inline_script(admin):
    response = admin.get("/counter/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*id="scan"[^>]*autofocus', html)
    assert 'src="/static/js/counter.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> would break the CSP"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers would break the CSP"
    assert "今天还没有兑换" in html


def test_scan_by_number_shows_the_household_balance_and_goods(admin, shop):
    response = admin.post("/counter/scan", data={"scan": f" {shop['card_number'].lower()} "})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/counter/cards/{shop['card']}"

    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "王建华" in html and shop["card_number"] in html
    assert re.search(r"data-balance-shown>100<", html)
    assert "正常" in html  # the card's status
    for text in ("粮油区", "洗化区", "大米", "洗洁精", "30 分/袋", "库存 20"):
        assert text in html, text
    assert re.search(rf'name="q-{shop["rice"]}"', html)
    assert len(cart_key(html)) >= 20


def test_scan_by_qr_url_finds_the_same_card(admin, shop):
    for url in (
        f"https://lovemart.example.cn/c/{shop['token']}",
        f"http://192.168.1.5:8000/c/{shop['token']}?utm=x",
        f"/c/{shop['token']}/apply",
    ):
        response = admin.post("/counter/scan", data={"scan": url})
        assert response.status_code == 303, url
        assert response.headers["Location"] == f"/counter/cards/{shop['card']}"


NO_CARD = "本村没有卡号为 {} 的积分卡。"
UNKNOWN_QR = "这张积分卡的二维码无效：可能已挂失或回收，或不是本村的卡。"


@pytest.mark.parametrize(
    "scan, status, message",
    [
        (lambda ids: "A99999", 404, lambda ids: "本村没有卡号为 A99999 的积分卡。"),
        # another village's card, by number and by QR: unknown here, and nothing of it is shown
        (lambda ids: ids["b_card_number"], 404, lambda ids: NO_CARD.format(ids["b_card_number"])),
        (lambda ids: f"http://x.cn/c/{ids['b_token']}", 404, lambda ids: UNKNOWN_QR),
        (lambda ids: "https://x.cn/c/" + "Q" * 32, 404, lambda ids: UNKNOWN_QR),
        (lambda ids: "??", 422, lambda ids: "无法识别：请扫描积分卡上的二维码，或输入卡上印的卡号。"),
        (lambda ids: "", 422, lambda ids: "请刷卡（扫描积分卡二维码）或输入卡号。"),
    ],
)
def test_refused_scans_say_why_on_the_counter(admin, shop, scan, status, message):
    response = admin.post("/counter/scan", data={"scan": scan(shop)})
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert alerts(html) == [message(shop)]
    assert shop["b_token"] not in html and "李四" not in html


def test_lost_and_recovered_cards_are_refused_with_their_reason(app, admin, shop):
    with fresh_session(app), unit_of_work() as session:
        new = cards.reissue(session, actor=None, village_id=shop["a"], card_id=shop["card"])
        new_number = new.number
    lost = admin.post("/counter/scan", data={"scan": shop["card_number"]})
    assert lost.status_code == 409
    assert alerts(lost.get_data(as_text=True)) == [
        f"卡号 {shop['card_number']} 已挂失或已回收，不能使用。挂失的请用补发的新卡。"
    ]
    by_url = admin.post("/counter/scan", data={"scan": f"http://x.cn/c/{shop['token']}"})
    assert by_url.status_code == 404
    assert "二维码无效" in by_url.get_data(as_text=True)
    # The lost card's own page says so and offers no confirm.
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    assert "这张卡已挂失，不能使用。请使用补发的新卡。" in html
    assert re.search(r"data-confirm disabled", html)

    assert admin.post("/counter/scan", data={"scan": new_number}).status_code == 303
    with fresh_session(app), unit_of_work() as session:
        new_id = session.scalar(select(Card.id).where(Card.number == new_number))
        cards.recover(session, actor=None, village_id=shop["a"], card_id=new_id)
    recovered = admin.post("/counter/scan", data={"scan": new_number})
    assert recovered.status_code == 409
    assert "已挂失或已回收" in alerts(recovered.get_data(as_text=True))[0]
    html = admin.get(f"/counter/cards/{new_id}").get_data(as_text=True)
    assert "这张卡已回收，该户的积分账户已冻结。" in html and "账户已冻结" in html


# ---- redeeming ------------------------------------------------------------------------------------------


def test_redeem_writes_everything_once_and_shows_the_receipt(app, admin, shop):
    response = redeem(admin, shop, rice=2, soap=1)
    rid = receipt_id(response)
    assert state(app, shop) == (35, 18, 9, 1)

    html = admin.get(f"/counter/receipts/{rid}").get_data(as_text=True)
    with fresh_session(app) as session:
        redemption = session.get(Redemption, rid)
        local = redemption.created_at.astimezone(VILLAGE_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.redemption_id == rid))
        movements = session.scalars(select(StockMovement).where(StockMovement.redemption_id == rid)).all()
        assert (entry.points, entry.balance_after) == (-65, 35)
        assert sorted(m.quantity for m in movements) == [-2, -1]
        assert points.verify(session) == [] and inventory.verify(session) == []
    expected = ("a村", "A-000001", local, "王建华", shop["card_number"], "大米", "2袋", "60", "洗洁精", "1瓶")
    for text in (*expected, "65 分", "35 分", "经办人", "a-admin", "receipt-58", "下一位顾客", "退货"):
        assert text in html, text
    assert "已退货" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)

    a4 = admin.get(f"/counter/receipts/{rid}?paper=a4").get_data(as_text=True)
    assert "receipt-a4" in a4 and "A-000001" in a4

    counter = admin.get("/counter/").get_data(as_text=True)
    assert "今日兑换" in counter and "A-000001" in counter and "今天还没有兑换" not in counter


def test_insufficient_points_writes_nothing_and_keeps_the_cart(app, admin, shop):
    response = redeem(admin, shop, key="k-poor", rice=4, soap=1)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert alerts(html) == ["积分不足：需要 125 分，当前余额 100 分。"]
    assert re.search(rf'name="q-{shop["rice"]}" value="4"', html)
    assert re.search(rf'name="q-{shop["soap"]}" value="1"', html)
    assert "大米 × 4袋 = 120 分" in html
    assert cart_key(html) != "k-poor"  # nothing was stored under it; a fresh key for the next confirm
    assert state(app, shop) == (100, 20, 10, 0)


def line_errors(html: str) -> dict[str, str]:
    """{product id: the message beside that product's quantity}."""
    return dict(re.findall(r'<span class="error good-error" id="q-(\d+)-error">([^<]*)</span>', html))


def test_too_little_stock_writes_nothing_and_is_said_beside_the_product(app, admin, shop):
    response = redeem(admin, shop, rice=1, soap=11)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert alerts(html) == ["请修改标红的商品数量。"]
    assert line_errors(html) == {str(shop["soap"]): "“洗洁精”库存不足：需要 11，仅剩 10。"}
    assert re.search(rf'name="q-{shop["soap"]}" value="11"[^>]*aria-invalid="true"', html)
    assert state(app, shop) == (100, 20, 10, 0)


@pytest.mark.parametrize(
    "typed, message",
    [
        ("2.5", "请输入整数。"),
        ("-1", "数量不能为负数。"),
        ("两", "请输入整数。"),
        ("1000", "一次最多兑换 999 件。"),
        ("99999999999999999999", "一次最多兑换 999 件。"),
    ],
)
def test_a_quantity_that_is_not_taken_as_typed_is_refused_beside_its_product(
    app, admin, shop, typed, message
):
    """2.5 is not taken as 2, nor −1 as "none": the cashier is told, beside that product, what is wrong,
    and the rest of the cart (rice) is kept as typed."""
    response = redeem(admin, shop, rice=1, soap=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert alerts(html) == ["请修改标红的商品数量。"]
    assert line_errors(html) == {str(shop["soap"]): message}
    assert re.search(rf'name="q-{shop["rice"]}" value="1"', html)
    assert state(app, shop) == (100, 20, 10, 0)


def test_the_cart_form_leaves_quantities_to_the_server(admin, shop):
    """No browser bubble in the browser's own words: the server's Chinese message is what is shown."""
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    assert re.search(r'<form[^>]*class="cart-form"[^>]*novalidate', html)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"idempotency_key": "k"}, "购物车是空的：请先点选商品或填写数量。"),
        ({"idempotency_key": "k", "q-RICE": "0"}, "购物车是空的：请先点选商品或填写数量。"),
        ({"idempotency_key": "k", "q-RICE": "-1"}, "请修改标红的商品数量。"),
        ({"idempotency_key": "k", "q-RICE": "1000"}, "请修改标红的商品数量。"),
        ({"q-RICE": "1"}, "缺少请求编号，请刷新页面后重试。"),
    ],
)
def test_malformed_carts_are_refused(app, admin, shop, data, message):
    data = {k.replace("RICE", str(shop["rice"])): v for k, v in data.items()}
    response = admin.post(f"/counter/cards/{shop['card']}/redeem", data=data)
    assert response.status_code == 422
    assert alerts(response.get_data(as_text=True)) == [message]
    assert state(app, shop) == (100, 20, 10, 0)


def test_unknown_product_is_refused(app, admin, shop):
    response = admin.post(
        f"/counter/cards/{shop['card']}/redeem", data={"idempotency_key": "k", "q-999999": "1"}
    )
    assert response.status_code == 409
    assert alerts(response.get_data(as_text=True)) == ["有商品已下架或不存在，请刷新页面。"]
    assert state(app, shop) == (100, 20, 10, 0)


def test_double_post_with_one_key_redeems_once_and_shows_the_same_receipt(app, admin, shop):
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    key = cart_key(html)
    first = receipt_id(redeem(admin, shop, key=key, rice=2, soap=1))
    second = receipt_id(redeem(admin, shop, key=key, rice=2, soap=1))
    assert first == second
    assert state(app, shop) == (35, 18, 9, 1)
    with fresh_session(app) as session:
        assert session.scalar(select(func.count()).where(AuditEvent.tag == "shop:redemption:create")) == 1


def test_same_key_with_another_cart_is_an_old_page_explained(app, admin, shop):
    """The key of a confirm that already redeemed, with another cart (an old page confirmed again): nothing is
    sold, and the cadre reads what happened, with the first receipt and a way to start again."""
    rid = receipt_id(redeem(admin, shop, key="k-1", rice=1))
    audits = audit_count(app)
    response = redeem(admin, shop, key="k-1", rice=2)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert alerts(html) == ["这一单已经确认过了（收据 No. A-000001），刚才的页面是旧的。"]
    assert "同一个请求编号" not in html  # the raw rule's words are for the API
    assert "这一次没有兑换任何商品，积分和库存都没有变。" in html
    assert re.search(rf'<a href="/counter/receipts/{rid}">查看收据 No. A-000001</a>', html)
    restart = re.search(r'<a class="button primary" href="([^"]+)">重新开始</a>', html)
    assert restart and restart.group(1) == f"/counter/cards/{shop['card']}"
    assert 'name="idempotency_key"' not in html  # no form to send the old key again
    assert state(app, shop) == (70, 19, 10, 1)
    assert audit_count(app) == audits

    fresh = admin.get(restart.group(1)).get_data(as_text=True)  # 重新开始: a new key, today's balance
    assert cart_key(fresh) != "k-1" and re.search(r"data-balance-shown>70<", fresh)
    receipt_id(redeem(admin, shop, key=cart_key(fresh), rice=2, seen=seen_of(fresh)))
    assert state(app, shop) == (10, 17, 10, 2)


# ---- old pages: never cached, and a confirm from an outdated one redeems nothing -------------------------


def test_every_counter_answer_is_no_store(app, admin, shop):
    """The browser keeps no copy, so Back asks again (the balance and stock of before are never shown)."""
    page = admin.get(f"/counter/cards/{shop['card']}")
    html = page.get_data(as_text=True)
    rid = receipt_id(done := redeem(admin, shop, key=cart_key(html), rice=1, seen=seen_of(html)))
    answers = {
        "counter": admin.get("/counter/"),
        "scan 303": admin.post("/counter/scan", data={"scan": shop["card_number"]}),
        "scan refused": admin.post("/counter/scan", data={"scan": "A99999"}),
        "card page": page,
        "confirm 303": done,
        "confirm refused": redeem(admin, shop, key="k-poor", rice=9),
        "outdated confirm": redeem(admin, shop, key="k-old", rice=1, seen=seen_of(html)),
        "old page": redeem(admin, shop, key=cart_key(html), rice=2),
        "receipt": admin.get(f"/counter/receipts/{rid}"),
        "receipt a4": admin.get(f"/counter/receipts/{rid}?paper=a4"),
        "receipts": admin.get("/counter/receipts/"),
        "return form": admin.get(f"/counter/receipts/{rid}/cancel"),
        "return refused": admin.post(f"/counter/receipts/{rid}/cancel", data={"reason": ""}),
        "other village": admin.get(f"/counter/cards/{shop['b_card']}"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "counter": 200,
        "scan 303": 303,
        "scan refused": 404,
        "card page": 200,
        "confirm 303": 303,
        "confirm refused": 409,
        "outdated confirm": 303,
        "old page": 409,
        "receipt": 200,
        "receipt a4": 200,
        "receipts": 200,
        "return form": 200,
        "return refused": 422,
        "other village": 404,
    }
    for name, response in answers.items():
        assert response.headers.get("Cache-Control") == "no-store", name
    assert "no-store" not in (admin.get("/static/js/counter.js").headers.get("Cache-Control") or "")


def test_counter_page_carries_what_it_shows_and_a_page_to_reload(admin, shop):
    html = admin.get(f"/counter/cards/{shop['card']}?q=").get_data(as_text=True)
    assert seen_of(html) == f"100;{shop['rice']}:30:20,{shop['soap']}:5:10"
    assert re.search(r'<input autocomplete="off" id="seen" name="seen" type="hidden"', html)
    assert re.search(r'<input autocomplete="off" id="idempotency_key" name="idempotency_key"', html)
    assert len(re.findall(r'autocomplete="off" data-qty', html)) == 2  # Back brings no old quantities
    assert f'data-fresh-url="/counter/cards/{shop["card"]}?q="' in html
    refused = redeem(admin, shop, key="k-poor", rice=9).get_data(as_text=True)  # a POST's answer
    assert f'data-fresh-url="/counter/cards/{shop["card"]}"' in refused
    assert 'data-fresh-url="/counter/"' in admin.get("/counter/").get_data(as_text=True)


def test_a_confirm_after_the_balance_changed_redeems_nothing_and_refreshes(app, admin, shop):
    """The page was built at 100 points; another counter (or Back) redeemed meanwhile. Confirming the old
    page sells nothing: the card page again, at 70 points, with the cart the cadre chose, and why."""
    old = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    receipt_id(redeem(admin, shop, key="elsewhere", rice=1))
    before, audits = state(app, shop), audit_count(app)
    assert before == (70, 19, 10, 1)

    response = redeem(admin, shop, key=cart_key(old), rice=1, soap=2, seen=seen_of(old))
    assert response.status_code == 303
    assert response.headers["Location"] == (
        f"/counter/cards/{shop['card']}?cart={shop['rice']}:1,{shop['soap']}:2"
    )
    assert state(app, shop) == before and audit_count(app) == audits
    with fresh_session(app) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 3  # 2 × base, 1 redemption

    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert alerts(html) == ["余额或库存已变化，已按最新情况刷新，请核对后再确认。"]
    assert re.search(r"data-balance-shown>70<", html) and "库存 19" in html
    assert re.search(rf'name="q-{shop["rice"]}" value="1"', html)
    assert re.search(rf'name="q-{shop["soap"]}" value="2"', html)
    assert cart_key(html) != cart_key(old) and seen_of(html).startswith("70;")

    # Confirmed again on the refreshed page: it is redeemed, once.
    receipt_id(redeem(admin, shop, key=cart_key(html), rice=1, soap=2, seen=seen_of(html)))
    assert state(app, shop) == (30, 18, 8, 2)


def test_a_price_or_a_stock_change_of_the_cart_is_outdated_but_not_of_other_goods(app, admin, shop):
    old = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    with fresh_session(app), unit_of_work() as session:  # soap is not in the cart: its stock does not matter
        inventory.write_off(
            session, actor=None, village_id=shop["a"], product_id=shop["soap"], quantity=1, reason="破损"
        )
    receipt_id(redeem(admin, shop, key=cart_key(old), rice=1, seen=seen_of(old)))
    assert state(app, shop) == (70, 19, 9, 1)

    old = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    with fresh_session(app), unit_of_work() as session:
        rice = inventory.get_product(session, village_id=shop["a"], product_id=shop["rice"])
        data = inventory.ProductInput(name=rice.name, zone_id=rice.zone_id, unit=rice.unit, points_price=35)
        inventory.update_product(session, actor=None, village_id=shop["a"], product_id=rice.id, data=data)
    response = redeem(admin, shop, key=cart_key(old), rice=1, seen=seen_of(old))
    assert response.status_code == 303 and "?cart=" in response.headers["Location"]
    assert state(app, shop) == (70, 19, 9, 1)
    assert "35 分/袋" in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_lines_no_longer_possible_are_left_out_and_named(app, admin, shop):
    old = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    with fresh_session(app), unit_of_work() as session:  # another counter: all soap but 1 goes
        inventory.write_off(
            session, actor=None, village_id=shop["a"], product_id=shop["soap"], quantity=9, reason="别的柜台"
        )
    response = redeem(admin, shop, key=cart_key(old), rice=1, soap=2, seen=seen_of(old))
    assert response.status_code == 303
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert alerts(html) == [
        "余额或库存已变化，已按最新情况刷新，请核对后再确认。",
        "“洗洁精”现在只剩 1瓶，已从购物车去掉，请重新选择数量。",
    ]
    assert re.search(rf'name="q-{shop["rice"]}" value="1"', html)
    assert re.search(rf'name="q-{shop["soap"]}" value=""', html)
    assert state(app, shop) == (100, 20, 1, 0)
    # a carried cart is only a suggestion: nonsense in it is ignored
    for junk in ("x", "1:1000", f"{shop['rice']}:-1", "999999:1"):
        page = admin.get(f"/counter/cards/{shop['card']}?cart={junk}")
        assert page.status_code == 200, junk
        assert 'value="1000"' not in page.get_data(as_text=True)


def test_a_double_click_after_the_first_confirm_is_still_its_receipt(app, admin, shop):
    """The second click of a double click arrives after the first committed: its page is outdated by then,
    but it is the same request, so it gets the same receipt (the replay comes before the comparison)."""
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    first = receipt_id(redeem(admin, shop, key=cart_key(html), rice=2, seen=seen_of(html)))
    second = receipt_id(redeem(admin, shop, key=cart_key(html), rice=2, seen=seen_of(html)))
    assert first == second and state(app, shop) == (40, 18, 10, 1)


def test_a_card_lost_while_the_cart_was_filled_is_refused(app, admin, shop):
    admin.get(f"/counter/cards/{shop['card']}")
    with fresh_session(app), unit_of_work() as session:
        cards.reissue(session, actor=None, village_id=shop["a"], card_id=shop["card"])
    response = redeem(admin, shop, rice=1)
    assert response.status_code == 409
    assert "这张卡已挂失，不能使用。请使用补发的新卡。" in alerts(response.get_data(as_text=True))
    assert state(app, shop) == (100, 20, 10, 0)


def test_household_that_moved_out_is_refused_at_the_counter(app, admin, shop):
    with fresh_session(app), unit_of_work() as session:
        households.set_active(
            session, actor=None, village_id=shop["a"], household_id=shop["household"], active=False
        )
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    assert "该户已迁出，不能办理。" in alerts(html)
    assert re.search(r"data-confirm disabled", html)
    response = redeem(admin, shop, rice=1)
    assert response.status_code == 409
    assert "该户已迁出，不能办理。" in alerts(response.get_data(as_text=True))
    assert state(app, shop) == (100, 20, 10, 0)


def test_goods_search_without_script(admin, shop):
    html = admin.get(f"/counter/cards/{shop['card']}?q=洗洁").get_data(as_text=True)
    assert "洗洁精" in html and "大米" not in html


def test_expiring_goods_are_flagged_on_the_counter(app, admin, shop):
    with fresh_session(app), unit_of_work() as session:
        soon = inventory.today() + timedelta(days=20)
        inventory.stock_in(
            session, actor=None, village_id=shop["a"], lines=[StockInLine(shop["soap"], 5, use_by=soon)]
        )
    html = admin.get("/counter/").get_data(as_text=True)
    assert "临期提醒" in html and "洗洁精" in html and "20 天后到期" in html and soon.isoformat() in html
    assert "临期" in admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)


def test_counter_in_english(admin, shop):
    admin.get("/lang/en")
    html = admin.get(f"/counter/cards/{shop['card']}").get_data(as_text=True)
    expected = ("Scan the card or type its number", "Cart", "Confirm redemption", "30 points/袋", "In stock")
    for text in expected:
        assert text in html, text
    assert "确认兑换" not in html
    refused = admin.post("/counter/scan", data={"scan": "A99999"}).get_data(as_text=True)
    assert alerts(refused) == ["This village has no card numbered A99999."]
    rid = receipt_id(redeem(admin, shop, rice=1))
    receipt = admin.get(f"/counter/receipts/{rid}").get_data(as_text=True)
    assert "Points redemption receipt" in receipt and "70 points" in receipt


# ---- returns (退货) --------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_then_restores_points_and_stock(app, admin, shop):
    rid = receipt_id(redeem(admin, shop, rice=2, soap=1))
    page = admin.get(f"/counter/receipts/{rid}/cancel")
    assert page.status_code == 200 and "65 分退回该户的积分账户" in page.get_data(as_text=True)

    refused = admin.post(f"/counter/receipts/{rid}/cancel", data={"reason": "   "})
    assert refused.status_code == 422
    assert "请填写退货原因。" in refused.get_data(as_text=True)
    assert state(app, shop) == (35, 18, 9, 1)

    done = admin.post(f"/counter/receipts/{rid}/cancel", data={"reason": "米受潮了"})
    assert done.status_code == 303 and done.headers["Location"] == f"/counter/receipts/{rid}"
    assert state(app, shop) == (100, 20, 10, 1)
    html = admin.get(f"/counter/receipts/{rid}").get_data(as_text=True)
    assert "已退货" in html and "米受潮了" in html and "A-000001" in html
    assert "积分和库存都已退回" in html  # the flash, on the receipt's toolbar
    assert f'/counter/receipts/{rid}/cancel"' not in html  # no second return offered
    with fresh_session(app) as session:
        assert session.get(Redemption, rid).status == "cancelled"
        kinds = sorted(session.scalars(select(LedgerEntry.kind).where(LedgerEntry.account_id.is_not(None))))
        assert kinds == ["base", "base", "redemption", "reversal"]  # the original stays in the books
        assert points.verify(session) == [] and inventory.verify(session) == []

    again = admin.post(f"/counter/receipts/{rid}/cancel", data={"reason": "再退一次"})
    assert again.status_code == 409
    assert "这笔兑换已经退货撤销了。" in again.get_data(as_text=True)
    assert state(app, shop) == (100, 20, 10, 1)
    # a replay of the original confirm shows the (now returned) receipt, it does not sell again
    assert receipt_id(redeem(admin, shop, rice=2, soap=1)) == rid
    assert state(app, shop) == (100, 20, 10, 1)


# ---- who may do what, where -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["a-supervisor", "a-leader", "county"])
def test_readers_see_receipts_but_cannot_redeem_or_cancel(app, login, admin, shop, username):
    rid = receipt_id(redeem(admin, shop, rice=1))
    reader = login(username)
    html = reader.get(f"/counter/receipts/{rid}").get_data(as_text=True)
    assert "A-000001" in html and "下一位顾客" not in html and "/cancel" not in html
    assert "A-000001" in reader.get("/counter/receipts/").get_data(as_text=True)
    assert reader.get("/counter/").status_code == 403
    assert reader.get(f"/counter/cards/{shop['card']}").status_code == 403
    assert reader.post("/counter/scan", data={"scan": shop["card_number"]}).status_code == 403
    assert redeem(reader, shop, key="other", rice=1).status_code == 403
    assert reader.get(f"/counter/receipts/{rid}/cancel").status_code == 403
    assert reader.post(f"/counter/receipts/{rid}/cancel", data={"reason": "x"}).status_code == 403
    assert state(app, shop) == (70, 19, 10, 1)


def test_anonymous_is_sent_to_sign_in(client, shop):
    for path in ("/counter/", f"/counter/cards/{shop['card']}", "/counter/receipts/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_village_sees_nothing_and_changes_nothing(app, login, admin, shop):
    rid = receipt_id(redeem(admin, shop, rice=1))
    other = login("b-admin")
    assert other.get(f"/counter/receipts/{rid}").status_code == 404
    assert other.get(f"/counter/receipts/{rid}/cancel").status_code == 404
    assert other.post(f"/counter/receipts/{rid}/cancel", data={"reason": "x"}).status_code == 404
    assert other.get(f"/counter/cards/{shop['card']}").status_code == 404
    data = {"idempotency_key": "b", f"q-{shop['rice']}": "1"}
    response = other.post(f"/counter/cards/{shop['card']}/redeem", data=data)
    assert response.status_code == 404
    assert "A-000001" not in other.get("/counter/").get_data(as_text=True)
    assert state(app, shop) == (70, 19, 10, 1)


def test_counter_page_cost_does_not_grow_with_the_books(app, admin, shop, query_counter):
    receipt_id(redeem(admin, shop, key="q-1", rice=1))
    with query_counter() as few:
        admin.get(f"/counter/cards/{shop['card']}")
    for n in range(2, 6):
        receipt_id(redeem(admin, shop, key=f"q-{n}", soap=1))
    with query_counter() as more:
        admin.get(f"/counter/cards/{shop['card']}")
    assert len(more) == len(few) <= 16


# ---- CSRF, as production runs it ------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database, tmp_path):
    app = create_app(_config(_fresh_url(database, tmp_path), tmp_path) | {"WTF_CSRF_ENABLED": True})
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_counter_forms_need_the_csrf_token(csrf_app):
    with csrf_app.app_context():
        ids = make_two_villages()
        ids["household"], _ = carded_household(ids["a"])
        ids["rice"] = make_product(ids["a"], "大米", 30, stock=20)
        card_id = db.session.scalar(select(Card.id).where(Card.household_id == ids["household"]))
        db.session.remove()
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "a-admin", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/counter/cards/{card_id}").get_data(as_text=True)
    key = cart_key(page)
    data = {"idempotency_key": key, f"q-{ids['rice']}": "1"}
    refused = client.post(f"/counter/cards/{card_id}/redeem", data=data)
    assert refused.status_code == 302  # flashed 表单已过期 and sent back
    with fresh_session(csrf_app) as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 0
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    accepted = client.post(f"/counter/cards/{card_id}/redeem", data=data | {"csrf_token": token})
    assert accepted.status_code == 303
