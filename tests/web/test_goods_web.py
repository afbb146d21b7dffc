"""Goods pages as the village administrator uses them: the catalogue, zones, products with their photo and
provenance, other stock-ins, write-off and the alert list; read-only roles see no write buttons and get 403
on writes; another village's objects answer 404; the dashboard flags low stock and use-by dates."""

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import Product, StockMovement
from lovemart.services import inventory
from lovemart.services.inventory import StockInLine
from tests.web.shop_web import (
    READ_ONLY,
    audit_count,
    books_balance,
    errors,
    fresh_session,
    shop_villages,
    stock,
)


@pytest.fixture
def ids(app):
    return shop_villages(app)


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


def product_form(ids, **changes) -> dict:
    return {
        "name": "食用油",
        "zone_id": ids["grain_zone"],
        "unit": "桶",
        "points_price": "40",
        "low_stock": "3",
        "barcode": "6901234567890",
        "active": "y",
    } | changes


def stock_in_form(note="期初库存", lines=()) -> dict:
    data = {"note": note}
    for i, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    for i in range(len(lines), 5):
        data |= {f"lines-{i}-product_id": "", f"lines-{i}-quantity": "", f"lines-{i}-use_by": ""}
    return data


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# ---- catalogue and product pages --------------------------------------------------------------------------


def test_catalogue_lists_the_villages_products_with_stock_and_low_flags(admin, ids):
    html = admin.get("/goods/").get_data(as_text=True)
    assert "大米" in html and "肥皂" in html
    assert "4 袋" in html and "库存低" in html  # rice: 4 ≤ its threshold of 5
    assert "新增商品" in html and "捐赠入库" in html
    assert set(re.findall(r'href="/goods/products/(\d+)"', html)) == {str(ids["rice"]), str(ids["soap"])}
    washing = admin.get(f"/goods/?zone={ids['grain_zone'] + 2}&q=").get_data(as_text=True)
    assert "肥皂" in washing and "大米" not in washing.split("<tbody>")[1]


def test_create_product_with_a_photo_then_its_page_shows_it(app, admin, ids):
    response = admin.post(
        "/goods/products/new",
        data=product_form(ids) | {"photo": (io.BytesIO(png_bytes()), "oil.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with fresh_session(app) as session:
        product = session.scalar(select(Product).where(Product.name == "食用油"))
        assert (product.stock, product.points_price, product.unit, product.low_stock) == (0, 40, "桶", 3)
        photo = product.photo
    assert response.headers["Location"].endswith(f"/goods/products/{product.id}")
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/photos/{photo}" in html and "还没有入过库" in html
    assert admin.get(f"/photos/{photo}").mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": "大米"}, "已有同名商品。"),
        ({"points_price": "0"}, "兑换积分必须大于零。"),
        ({"name": ""}, "请填写商品名称。"),
        ({"unit": ""}, "请填写单位，如袋、瓶、件。"),
    ],
)
def test_product_refusals_show_on_the_form(app, admin, ids, changes, message):
    response = admin.post("/goods/products/new", data=product_form(ids, **changes))
    assert response.status_code == 200
    assert message in errors(response.get_data(as_text=True))
    with fresh_session(app) as session:
        assert session.scalar(select(Product).where(Product.name == "食用油")) is None


def test_a_non_image_photo_is_refused_on_the_form(admin, ids):
    response = admin.post(
        "/goods/products/new",
        data=product_form(ids) | {"photo": (io.BytesIO(b"not an image"), "oil.png")},
        content_type="multipart/form-data",
    )
    assert "无法识别该照片，请上传 JPG 或 PNG 图片。" in errors(response.get_data(as_text=True))


def test_edit_product_keeps_its_stock(app, admin, ids):
    response = admin.post(
        f"/goods/products/{ids['rice']}/edit",
        data=product_form(ids, name="东北大米", unit="袋", points_price="35", barcode="", active=""),
    )
    assert response.status_code == 302
    with fresh_session(app) as session:
        rice = session.get(Product, ids["rice"])
        assert (rice.name, rice.points_price, rice.active, rice.stock) == ("东北大米", 35, False, 4)
    assert "停售" in admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)


# ---- zones ----------------------------------------------------------------------------------------------


def test_zones_are_listed_added_renamed_and_refused_on_the_form(app, admin, ids):
    html = admin.get("/goods/zones").get_data(as_text=True)
    assert all(name in html for name in ("粮油区", "日用品区", "洗化区", "服装区", "农资区", "家用电器区"))
    assert admin.post("/goods/zones", data={"name": "文具区"}).status_code == 302
    assert "文具区" in admin.get("/goods/zones").get_data(as_text=True)
    refused = admin.post("/goods/zones", data={"name": "粮油区"})
    assert "已有同名分区。" in errors(refused.get_data(as_text=True))
    response = admin.post(f"/goods/zones/{ids['grain_zone']}", data={"name": "粮油副食区", "active": "y"})
    assert response.status_code == 302
    with fresh_session(app) as session:
        assert (
            inventory.get_zone(session, village_id=ids["a"], zone_id=ids["grain_zone"]).name == "粮油副食区"
        )


# ---- stock-in and write-off -------------------------------------------------------------------------------


def test_other_stock_in_skips_blank_lines_and_records_the_source(app, admin, ids):
    page = admin.get(f"/goods/stock-in?product={ids['soap']}").get_data(as_text=True)
    assert f'<option selected value="{ids["soap"]}">' in page
    response = admin.post(
        "/goods/stock-in",
        data=stock_in_form(
            "乡镇调拨",
            [
                {"product_id": ids["rice"], "quantity": "6", "use_by": "2027-06-30"},
                {"product_id": "", "quantity": "", "use_by": ""},
                {"product_id": ids["soap"], "quantity": "2", "use_by": ""},
            ],
        ),
    )
    assert response.status_code == 302
    assert (stock(app, ids["rice"]), stock(app, ids["soap"])) == (10, 12)
    html = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    assert "乡镇调拨" in html and "2027-06-30" in html and "+6" in html
    assert books_balance(app)


@pytest.mark.parametrize(
    "data, message",
    [
        (stock_in_form(lines=[{"product_id": "RICE", "quantity": ""}]), "请填写数量。"),
        (stock_in_form(lines=[{"product_id": "", "quantity": "3"}]), "请选择商品。"),
        (stock_in_form(lines=[{"product_id": "RICE", "quantity": "0"}]), "数量必须大于零。"),
        (
            stock_in_form(note="", lines=[{"product_id": "RICE", "quantity": "3"}]),
            "请说明这批货的来源，如“期初库存”。",
        ),
        (stock_in_form(), "请至少填写一种商品。"),
    ],
)
def test_stock_in_refusals_show_on_the_form_and_write_nothing(app, admin, ids, data, message):
    data = {k: (ids["rice"] if v == "RICE" else v) for k, v in data.items()}
    response = admin.post("/goods/stock-in", data=data)
    assert response.status_code == 200
    assert message in errors(response.get_data(as_text=True))
    assert stock(app, ids["rice"]) == 4


def test_more_lines_link_offers_more_blank_lines(admin, ids):
    html = admin.get("/goods/stock-in?lines=10").get_data(as_text=True)
    assert 'name="lines-9-product_id"' in html and "lines=15" in html


def test_write_off_beyond_stock_is_refused_on_the_form_and_writes_nothing(app, admin, ids):
    response = admin.post(
        f"/goods/products/{ids['rice']}/write-off", data={"quantity": "5", "reason": "受潮"}
    )
    assert response.status_code == 200
    assert "“大米”库存不足：需要 5，仅剩 4。" in errors(response.get_data(as_text=True))
    assert stock(app, ids["rice"]) == 4 and audit_count(app, "stock:movement:write-off") == 0
    response = admin.post(
        f"/goods/products/{ids['rice']}/write-off",
        data={"quantity": "1", "reason": "破袋"},
        follow_redirects=True,
    )
    assert "已报损，剩余库存 3袋。" in response.get_data(as_text=True)
    assert stock(app, ids["rice"]) == 3 and books_balance(app)
    missing = admin.post(f"/goods/products/{ids['rice']}/write-off", data={"quantity": "1", "reason": ""})
    assert "请填写报损原因。" in errors(missing.get_data(as_text=True))


# ---- alerts and the dashboard -----------------------------------------------------------------------------


def test_alerts_and_dashboard_flag_low_stock_and_goods_nearing_their_use_by_date(app, login, ids):
    today = inventory.today()
    with app.app_context(), unit_of_work() as session:
        inventory.stock_in(
            session,
            actor=None,
            village_id=ids["a"],
            lines=[
                StockInLine(ids["soap"], 5, use_by=today + timedelta(days=20)),
            ],
        )
    for username in ("a-admin", *READ_ONLY):
        client = login(username)
        home = client.get("/").get_data(as_text=True)
        assert "超市提醒" in home and "大米" in home and "肥皂" in home, username
        assert "还剩 20 天" in home
        alerts = client.get("/goods/alerts").get_data(as_text=True)
        assert "库存不足" in alerts and "临近保质期（60 天内）" in alerts and "还剩 20 天" in alerts


def test_dashboard_has_no_shop_box_when_nothing_needs_attention(app, login, ids):
    with app.app_context(), unit_of_work() as session:
        inventory.stock_in(session, actor=None, village_id=ids["a"], lines=[StockInLine(ids["rice"], 10)])
    assert "超市提醒" not in login("a-admin").get("/").get_data(as_text=True)


# ---- provenance -------------------------------------------------------------------------------------------


def test_product_page_links_each_movement_to_its_source(app, admin, ids):
    stocktake = admin.post("/stocktakes/", data={"zone": "all"})
    stocktake_id = int(stocktake.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context(), unit_of_work() as session:
        inventory.record_counts(
            session, village_id=ids["a"], stocktake_id=stocktake_id, counts={ids["rice"]: 3}
        )
    with app.app_context(), unit_of_work() as session:
        inventory.confirm_stocktake(session, actor=None, village_id=ids["a"], stocktake_id=stocktake_id)
    html = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    assert f'href="/stocktakes/{stocktake_id}"' in html and "盘点调整" in html and "-1" in html


# ---- permissions and isolation ----------------------------------------------------------------------------


def write_requests(ids, product):
    return [
        ("get", "/goods/products/new", None),
        ("post", "/goods/products/new", product_form(ids)),
        ("get", f"/goods/products/{product}/edit", None),
        ("post", f"/goods/products/{product}/edit", product_form(ids)),
        ("get", f"/goods/products/{product}/write-off", None),
        ("post", f"/goods/products/{product}/write-off", {"quantity": "1", "reason": "x"}),
        ("get", "/goods/stock-in", None),
        ("post", "/goods/stock-in", stock_in_form(lines=[{"product_id": product, "quantity": "1"}])),
        ("post", "/goods/zones", {"name": "新区"}),
        ("get", f"/goods/zones/{ids['grain_zone']}", None),
        ("post", f"/goods/zones/{ids['grain_zone']}", {"name": "新区"}),
    ]


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_see_goods_without_write_buttons_and_get_403_on_writes(app, login, ids, username):
    client = login(username)
    for path in ("/goods/", f"/goods/products/{ids['rice']}", "/goods/zones", "/goods/alerts"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for button in (
            "/goods/products/new",
            "/write-off",
            "/goods/stock-in",
            "/donations/goods/new",
            "新增分区",
            "/edit",
        ):
            assert button not in html, (username, path, button)
    before = audit_count(app)
    for method, path, data in write_requests(ids, ids["rice"]):
        assert getattr(client, method)(path, data=data).status_code == 403, (username, method, path)
    assert audit_count(app) == before and stock(app, ids["rice"]) == 4


def test_another_villages_goods_answer_404(app, admin, ids):
    before = audit_count(app)
    b_rice = ids["b_rice"]
    requests = [
        ("get", f"/goods/products/{b_rice}", None),
        ("get", f"/goods/zones/{ids['b_zone']}", None),
        ("post", f"/goods/zones/{ids['b_zone']}", {"name": "入侵", "active": "y"}),
        *[r for r in write_requests(ids, b_rice) if f"/{b_rice}/" in r[1]],
    ]
    for method, path, data in requests:
        assert getattr(admin, method)(path, data=data).status_code == 404, (method, path)
    # b's product cannot be slipped into a's stock-in either
    response = admin.post(
        "/goods/stock-in", data=stock_in_form(lines=[{"product_id": b_rice, "quantity": "1"}])
    )
    assert response.status_code == 200 and errors(response.get_data(as_text=True))
    assert audit_count(app) == before and stock(app, b_rice) == 7
    with fresh_session(app) as session:
        assert (
            session.scalars(select(StockMovement).where(StockMovement.product_id == b_rice))
            .all()[-1]
            .quantity
            == 7
        )


# ---- CSRF (TestConfig switches it off; production has it on) -----------------------------------------------


@pytest.fixture
def csrf_app(database, tmp_path):
    from lovemart import create_app
    from lovemart.db import db
    from tests.conftest import _config, _fresh_url

    app = create_app(_config(_fresh_url(database, tmp_path), tmp_path) | {"WTF_CSRF_ENABLED": True})
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_shop_forms_refuse_a_post_without_a_csrf_token(csrf_app):
    """One post per form family of the shop (goods, donations, funds, purchases, stocktakes)."""
    from tests.conftest import PASSWORD

    ids = shop_villages(csrf_app)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "a-admin", "password": PASSWORD, "csrf_token": token})
    before = audit_count(csrf_app)
    posts = [
        ("/goods/products/new", product_form(ids)),
        (f"/goods/products/{ids['rice']}/write-off", {"quantity": "1", "reason": "x"}),
        ("/goods/stock-in", stock_in_form(lines=[{"product_id": ids["rice"], "quantity": "1"}])),
        ("/donations/donors/new", {"name": "新捐赠方", "kind": "person"}),
        ("/donations/funds/new", {"name": "新资金", "kind": "social"}),
        (f"/donations/funds/{ids['a_fund']}/add", {"amount": "100", "note": "拨款"}),
        (
            "/donations/goods/new",
            {"donor_id": ids["a_donor"], "received_on": "2026-11-20", "request_key": "k" * 20}
            | {"lines-0-product_id": ids["rice"], "lines-0-quantity": "1"},
        ),
        ("/stocktakes/", {"zone": "all"}),
    ]
    for path, data in posts:
        response = client.post(path, data=data, follow_redirects=True)
        assert "表单已过期，请刷新页面后重试。" in response.get_data(as_text=True), path
    assert audit_count(csrf_app) == before and stock(csrf_app, ids["rice"]) == 4
