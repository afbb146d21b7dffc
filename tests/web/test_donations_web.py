"""Donor and fund pages as the administrator uses them: donors, donations of goods and of money with the
printable 捐赠凭证 and "what it became", funds with balances, funding and purchases. A double submit of a
page records once; refusals show on the form; read-only roles get 403 on writes; other villages 404."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from lovemart.db import unit_of_work
from lovemart.models import Donation, Donor, Fund, FundMovement, Purchase, StockMovement
from lovemart.services import donations
from tests.web.shop_web import (
    READ_ONLY,
    audit_count,
    books_balance,
    errors,
    fresh_session,
    request_key,
    shop_villages,
    stock,
)


@pytest.fixture
def ids(app):
    return shop_villages(app)


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


def count(app, model, **where) -> int:
    with fresh_session(app) as session:
        stmt = select(func.count()).select_from(model)
        for column, value in where.items():
            stmt = stmt.where(getattr(model, column) == value)
        return session.scalar(stmt)


def balance(app, fund_id) -> int:
    with fresh_session(app) as session:
        return session.get(Fund, fund_id).balance_fen


def lines(*rows, cost=False) -> dict:
    data = {}
    for i in range(5):
        row = rows[i] if i < len(rows) else {}
        data[f"lines-{i}-product_id"] = row.get("product_id", "")
        data[f"lines-{i}-quantity"] = row.get("quantity", "")
        data[f"lines-{i}-use_by"] = row.get("use_by", "")
        if cost:
            data[f"lines-{i}-cost"] = row.get("cost", "")
    return data


def goods_donation(client, donor, *rows, note="冬季送温暖") -> tuple[dict, object]:
    key = request_key(client.get("/donations/goods/new").get_data(as_text=True))
    data = {"donor_id": donor, "received_on": "2026-11-20", "note": note, "request_key": key} | lines(*rows)
    return data, client.post("/donations/goods/new", data=data)


def donation_id_of(response) -> int:
    return int(re.search(r"/donations/(\d+)$", response.headers["Location"]).group(1))


# ---- the "done when" ------------------------------------------------------------------------------


def test_twenty_bags_of_rice_from_a_caring_enterprise_certificate_and_provenance(app, admin, ids):
    """The administrator adds the enterprise, records 20 bags of rice, prints the certificate, and the rice's
    page shows where its stock came from."""
    response = admin.post(
        "/donations/donors/new?then=goods",
        data={
            "name": "宜川县爱心粮油有限公司",
            "kind": "enterprise",
            "contact": "刘经理",
            "phone": "0911-8888888",
        },
    )
    with fresh_session(app) as session:
        donor_id = session.scalar(select(Donor.id).where(Donor.name == "宜川县爱心粮油有限公司"))
    assert response.headers["Location"].endswith(f"/donations/goods/new?donor={donor_id}")
    form = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<option selected value="{donor_id}">' in form

    _, response = goods_donation(
        admin, donor_id, {"product_id": ids["rice"], "quantity": "20", "use_by": "2027-10-31"}
    )
    assert response.status_code == 302
    donation_id = donation_id_of(response)
    assert stock(app, ids["rice"]) == 24

    detail = admin.get(f"/donations/{donation_id}").get_data(as_text=True)
    assert "JZ00001" in detail and "宜川县爱心粮油有限公司" in detail and "这笔捐赠变成了什么" in detail
    assert f'href="/goods/products/{ids["rice"]}"' in detail and "20 袋" in detail
    assert f'href="/donations/{donation_id}/certificate"' in detail

    certificate = admin.get(f"/donations/{donation_id}/certificate")
    html = certificate.get_data(as_text=True)
    assert certificate.status_code == 200
    for text in (
        "捐赠凭证",
        "JZ00001",
        "宜川县爱心粮油有限公司",
        "a村爱心超市",
        "大米",
        "2026年11月20日",
        "贵单位",
        "css/page-a4.css",
        "css/print.css",
        "data-print",
    ):
        assert text in html, text
    assert re.search(r"<td>大米</td><td class=\"num\">20</td><td>袋</td>", html)

    product = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    assert "库存从哪里来" in product
    assert f'href="/donations/{donation_id}"' in product and "宜川县爱心粮油有限公司" in product
    assert "<strong>20 袋</strong>" in product and "2027-10-31" in product
    assert books_balance(app)


def test_a_double_submit_of_the_donation_page_records_once(app, admin, ids):
    data, first = goods_donation(admin, ids["a_donor"], {"product_id": ids["rice"], "quantity": "20"})
    again = admin.post("/donations/goods/new", data=data)
    assert first.headers["Location"] == again.headers["Location"]
    assert count(app, Donation) == 1 and stock(app, ids["rice"]) == 24
    assert count(app, StockMovement, donation_id=donation_id_of(first)) == 1


def test_each_showing_of_a_form_carries_a_new_request_key(admin, ids):
    keys = {request_key(admin.get(path).get_data(as_text=True)) for path in ["/donations/goods/new"] * 2}
    keys |= {
        request_key(admin.get(path).get_data(as_text=True))
        for path in ["/donations/money/new", "/donations/purchases/new"]
    }
    assert len(keys) == 4 and all(len(k) >= 16 for k in keys)


@pytest.mark.parametrize(
    "rows, message",
    [
        ((), "请至少填写一种商品。"),
        (({"product_id": "RICE", "quantity": ""},), "请填写数量。"),
        (({"product_id": "RICE", "quantity": "-2"},), "数量必须大于零。"),
    ],
)
def test_goods_donation_refusals_show_on_the_form(app, admin, ids, rows, message):
    rows = [{k: (ids["rice"] if v == "RICE" else v) for k, v in row.items()} for row in rows]
    _, response = goods_donation(admin, ids["a_donor"], *rows)
    assert response.status_code == 200
    assert message in errors(response.get_data(as_text=True))
    assert count(app, Donation) == 0 and stock(app, ids["rice"]) == 4


# ---- money, funds and purchases ---------------------------------------------------------------------------


def test_money_donation_in_yuan_is_stored_in_fen_and_printed_in_words(app, admin, ids):
    page = admin.get(f"/donations/money/new?donor={ids['a_donor']}").get_data(as_text=True)
    key = request_key(page)
    data = {
        "donor_id": ids["a_donor"],
        "fund_id": ids["a_fund"],
        "amount": "1234.5",
        "received_on": "2026-11-20",
        "note": "",
        "request_key": key,
    }
    response = admin.post("/donations/money/new", data=data)
    assert response.status_code == 302
    assert admin.post("/donations/money/new", data=data).headers["Location"] == response.headers["Location"]
    donation_id = donation_id_of(response)
    with fresh_session(app) as session:
        assert session.get(Donation, donation_id).amount_fen == 123_450
    assert balance(app, ids["a_fund"]) == 123_450
    detail = admin.get(f"/donations/{donation_id}").get_data(as_text=True)
    assert "1,234.50 元" in detail and f'href="/donations/funds/{ids["a_fund"]}"' in detail
    certificate = admin.get(f"/donations/{donation_id}/certificate").get_data(as_text=True)
    assert "人民币壹仟贰佰叁拾肆元伍角" in certificate and "¥1,234.50" in certificate


@pytest.mark.parametrize(
    "amount, message",
    [
        ("12.345", "金额最多保留两位小数（元、角、分）。"),
        ("0", "金额必须大于零。"),
        ("-5", "金额必须大于零。"),
        ("", "请填写金额。"),
        ("10000000", "金额过大。"),
    ],
)
def test_money_amount_refusals_show_on_the_form(app, admin, ids, amount, message):
    key = request_key(admin.get("/donations/money/new").get_data(as_text=True))
    response = admin.post(
        "/donations/money/new",
        data={
            "donor_id": ids["a_donor"],
            "fund_id": ids["a_fund"],
            "amount": amount,
            "received_on": "2026-11-20",
            "request_key": key,
        },
    )
    assert response.status_code == 200
    assert message in errors(response.get_data(as_text=True))
    assert count(app, Donation) == 0 and balance(app, ids["a_fund"]) == 0


def test_funds_are_created_funded_and_listed_with_their_movements(app, admin, ids):
    response = admin.post("/donations/funds/new", data={"name": "民政补贴2026", "kind": "civil_affairs"})
    assert response.status_code == 302
    fund_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert (
        admin.post(f"/donations/funds/{fund_id}/add", data={"amount": "5000", "note": "第一批"}).status_code
        == 302
    )
    refused = admin.post(f"/donations/funds/{fund_id}/add", data={"amount": "5000", "note": ""})
    assert "请说明这笔钱的来由，如“2026年第一批扶贫资金”。" in errors(refused.get_data(as_text=True))
    assert balance(app, fund_id) == 500_000
    listing = admin.get("/donations/funds").get_data(as_text=True)
    assert "民政补贴2026" in listing and "5,000.00" in listing and "民政补贴" in listing
    detail = admin.get(f"/donations/funds/{fund_id}").get_data(as_text=True)
    assert "拨款入账" in detail and "+5,000.00" in detail and "第一批" in detail
    duplicate = admin.post("/donations/funds/new", data={"name": "民政补贴2026", "kind": "civil_affairs"})
    assert "已有同名资金。" in errors(duplicate.get_data(as_text=True))


def purchase_data(admin, ids, *rows, fund=None) -> dict:
    key = request_key(admin.get("/donations/purchases/new").get_data(as_text=True))
    return {
        "fund_id": fund or ids["a_fund"],
        "bought_on": "2026-11-21",
        "supplier": "县粮站",
        "note": "",
        "request_key": key,
    } | lines(*rows, cost=True)


def fund_up(app, ids, fen):
    with app.app_context(), unit_of_work() as session:
        donations.add_funding(
            session, actor=None, village_id=ids["a"], fund_id=ids["a_fund"], amount_fen=fen, note="拨款"
        )


def test_a_purchase_draws_on_the_fund_and_stocks_in_with_its_cost(app, admin, ids):
    fund_up(app, ids, 100_000)
    data = purchase_data(
        admin,
        ids,
        {"product_id": ids["rice"], "quantity": "10", "cost": "600"},
        {"product_id": ids["soap"], "quantity": "20", "cost": "40.5"},
    )
    response = admin.post("/donations/purchases/new", data=data)
    assert response.status_code == 302
    assert (
        admin.post("/donations/purchases/new", data=data).headers["Location"] == response.headers["Location"]
    )
    assert balance(app, ids["a_fund"]) == 100_000 - 64_050
    assert (stock(app, ids["rice"]), stock(app, ids["soap"])) == (14, 30)
    assert count(app, Purchase) == 1
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "640.50 元" in page and "县粮站" in page and "600.00" in page
    product = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    assert "采购 2026-11-21" in product and "扶贫局资助" in product and "600.00 元" in product
    assert books_balance(app)


def test_a_purchase_beyond_the_funds_balance_is_refused_on_the_form(app, admin, ids):
    fund_up(app, ids, 50_000)
    response = admin.post(
        "/donations/purchases/new",
        data=purchase_data(admin, ids, {"product_id": ids["rice"], "quantity": "10", "cost": "600"}),
    )
    assert response.status_code == 200
    assert "资金“扶贫局资助”余额不足：需要 600.00 元，余额 500.00 元。" in errors(
        response.get_data(as_text=True)
    )
    assert balance(app, ids["a_fund"]) == 50_000 and stock(app, ids["rice"]) == 4
    assert count(app, Purchase) == 0 and count(app, FundMovement) == 1
    missing_cost = admin.post(
        "/donations/purchases/new",
        data=purchase_data(admin, ids, {"product_id": ids["rice"], "quantity": "10", "cost": ""}),
    )
    assert "请填写这种商品的采购金额。" in errors(missing_cost.get_data(as_text=True))


# ---- donors ------------------------------------------------------------------------------------------


def test_donor_pages_list_edit_and_refuse(app, admin, ids):
    _, response = goods_donation(admin, ids["a_donor"], {"product_id": ids["soap"], "quantity": "3"})
    donor = admin.get(f"/donations/donors/{ids['a_donor']}").get_data(as_text=True)
    assert "a村爱心企业" in donor and "JZ00001" in donor and "捐赠记录（1 笔）" in donor
    assert "a村爱心企业" in admin.get("/donations/donors").get_data(as_text=True)
    assert "JZ00001" in admin.get("/donations/").get_data(as_text=True)
    edited = admin.post(
        f"/donations/donors/{ids['a_donor']}/edit",
        data={"name": "a村爱心企业", "kind": "enterprise", "contact": "张经理", "phone": "139"},
    )
    assert edited.status_code == 302
    assert "张经理" in admin.get(f"/donations/donors/{ids['a_donor']}").get_data(as_text=True)
    clash = admin.post("/donations/donors/new", data={"name": "a村爱心企业", "kind": "person"})
    assert "已有同名捐赠方。" in errors(clash.get_data(as_text=True))


# ---- permissions and isolation ----------------------------------------------------------------------------


def write_requests(ids, village="a"):
    donor, fund = ids[f"{village}_donor"], ids[f"{village}_fund"]
    return [
        ("get", "/donations/goods/new", None),
        (
            "post",
            "/donations/goods/new",
            {"donor_id": donor, "received_on": "2026-11-20", "request_key": "k" * 20}
            | lines({"product_id": ids["rice"], "quantity": "1"}),
        ),
        ("get", "/donations/money/new", None),
        (
            "post",
            "/donations/money/new",
            {
                "donor_id": donor,
                "fund_id": fund,
                "amount": "1",
                "received_on": "2026-11-20",
                "request_key": "k" * 20,
            },
        ),
        ("get", "/donations/donors/new", None),
        ("post", "/donations/donors/new", {"name": "新捐赠方", "kind": "person"}),
        ("get", f"/donations/donors/{donor}/edit", None),
        ("post", f"/donations/donors/{donor}/edit", {"name": "改名", "kind": "person"}),
        ("get", "/donations/funds/new", None),
        ("post", "/donations/funds/new", {"name": "新资金", "kind": "social"}),
        ("get", f"/donations/funds/{fund}/add", None),
        ("post", f"/donations/funds/{fund}/add", {"amount": "1", "note": "x"}),
        ("get", "/donations/purchases/new", None),
        (
            "post",
            "/donations/purchases/new",
            {"fund_id": fund, "bought_on": "2026-11-20", "request_key": "k" * 20}
            | lines({"product_id": ids["rice"], "quantity": "1", "cost": "1"}, cost=True),
        ),
    ]


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_see_donations_without_write_buttons_and_get_403_on_writes(app, login, ids, username):
    with app.app_context(), unit_of_work() as session:
        donation = donations.receive_goods(
            session,
            actor=None,
            village_id=ids["a"],
            donor_id=ids["a_donor"],
            received_on=date(2026, 11, 20),
            lines=[donations.StockInLine(ids["rice"], 2)],
        ).donation.id
    client = login(username)
    pages = [
        "/donations/",
        f"/donations/{donation}",
        f"/donations/{donation}/certificate",
        "/donations/donors",
        f"/donations/donors/{ids['a_donor']}",
        "/donations/funds",
        f"/donations/funds/{ids['a_fund']}",
        "/donations/purchases",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (username, path)
        html = response.get_data(as_text=True)
        for link in (
            "/donations/goods/new",
            "/donations/money/new",
            "/donations/donors/new",
            "/edit",
            "/add",
            "/donations/funds/new",
            "/donations/purchases/new",
        ):
            assert link not in html, (username, path, link)
    before = audit_count(app)
    for method, path, data in write_requests(ids):
        assert getattr(client, method)(path, data=data).status_code == 403, (username, method, path)
    assert audit_count(app) == before


def test_another_villages_donations_donors_funds_and_purchases_answer_404(app, admin, ids):
    with app.app_context():
        with unit_of_work() as session:
            donations.add_funding(
                session,
                actor=None,
                village_id=ids["b"],
                fund_id=ids["b_fund"],
                amount_fen=10_000,
                note="拨款",
            )
        with unit_of_work() as session:
            b_donation = donations.receive_goods(
                session,
                actor=None,
                village_id=ids["b"],
                donor_id=ids["b_donor"],
                received_on=date(2026, 11, 20),
                lines=[donations.StockInLine(ids["b_rice"], 1)],
            ).donation.id
        with unit_of_work() as session:
            b_purchase = donations.purchase(
                session,
                actor=None,
                village_id=ids["b"],
                fund_id=ids["b_fund"],
                bought_on=date(2026, 11, 20),
                lines=[donations.StockInLine(ids["b_rice"], 1, cost_fen=100)],
            ).id
    before = audit_count(app)
    for path in (
        f"/donations/{b_donation}",
        f"/donations/{b_donation}/certificate",
        f"/donations/donors/{ids['b_donor']}",
        f"/donations/donors/{ids['b_donor']}/edit",
        f"/donations/funds/{ids['b_fund']}",
        f"/donations/funds/{ids['b_fund']}/add",
        f"/donations/purchases/{b_purchase}",
    ):
        assert admin.get(path).status_code == 404, path
    assert (
        admin.post(f"/donations/funds/{ids['b_fund']}/add", data={"amount": "1", "note": "x"}).status_code
        == 404
    )
    assert (
        admin.post(
            f"/donations/donors/{ids['b_donor']}/edit", data={"name": "x", "kind": "person"}
        ).status_code
        == 404
    )
    # b's donor or fund named in a's forms is not a valid choice: refused on the form, nothing written
    for method, path, data in write_requests(ids, village="b"):
        if method == "post" and ("goods" in path or "money" in path or "purchases" in path):
            response = admin.post(path, data=data)
            assert response.status_code == 200 and errors(response.get_data(as_text=True)), path
    assert audit_count(app) == before and balance(app, ids["b_fund"]) == 9_900
