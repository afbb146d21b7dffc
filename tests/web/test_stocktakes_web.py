"""Stocktake pages: start for a zone or the whole shop, enter counts, review the differences, confirm (each
difference an adjustment naming the stocktake), refuse a second confirmation, print the report."""

import re

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import StockMovement, Stocktake
from lovemart.services import inventory
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


def start(client, zone="all") -> int:
    response = client.post("/stocktakes/", data={"zone": zone})
    assert response.status_code == 302
    return int(re.search(r"/stocktakes/(\d+)$", response.headers["Location"]).group(1))


def counts_form(client, stocktake_id, counts: dict, next_step="save") -> dict:
    """The sheet's form as the page shows it, with the given counts filled in (others left blank)."""
    html = client.get(f"/stocktakes/{stocktake_id}").get_data(as_text=True)
    data = {"next": next_step}
    for index, product_id in re.findall(r'name="lines-(\d+)-product_id" type="hidden" value="(\d+)"', html):
        data[f"lines-{index}-product_id"] = product_id
        data[f"lines-{index}-counted"] = counts.get(int(product_id), "")
    return data


def test_count_review_confirm_and_report(app, admin, ids):
    assert "开始盘点" in admin.get("/stocktakes/").get_data(as_text=True)
    stocktake_id = start(admin)
    sheet = admin.get(f"/stocktakes/{stocktake_id}").get_data(as_text=True)
    assert "整个超市" in sheet and "大米" in sheet and "肥皂" in sheet and "进行中" in sheet

    response = admin.post(
        f"/stocktakes/{stocktake_id}",
        data=counts_form(admin, stocktake_id, {ids["rice"]: "3", ids["soap"]: "12"}),
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/stocktakes/{stocktake_id}"
    )
    sheet = admin.get(f"/stocktakes/{stocktake_id}").get_data(as_text=True)
    assert 'value="3"' in sheet and "-1" in sheet and "+2" in sheet

    response = admin.post(
        f"/stocktakes/{stocktake_id}",
        data=counts_form(admin, stocktake_id, {ids["rice"]: "3", ids["soap"]: "12"}, "review"),
    )
    assert response.headers["Location"].endswith(f"/stocktakes/{stocktake_id}/review")
    review = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "盘亏 -1" in review and "盘盈 +2" in review and "确认盘点（记入 2 条调整）" in review
    assert stock(app, ids["rice"]) == 4  # nothing booked before confirming

    done = admin.post(f"/stocktakes/{stocktake_id}/confirm", follow_redirects=True).get_data(as_text=True)
    assert (
        "盘点已确认，记入 2 条盘点调整。" in done
        and "已确认" in done
        and 'name="lines-0-counted"' not in done
    )
    assert (stock(app, ids["rice"]), stock(app, ids["soap"])) == (3, 12)
    with fresh_session(app) as session:
        booked = session.scalars(
            select(StockMovement).where(StockMovement.stocktake_id == stocktake_id)
        ).all()
        assert sorted((m.product_id, m.quantity, m.kind) for m in booked) == sorted(
            [(ids["rice"], -1, "adjustment"), (ids["soap"], 2, "adjustment")]
        )
    assert books_balance(app)

    again = admin.post(f"/stocktakes/{stocktake_id}/confirm", follow_redirects=True)
    assert "该盘点已确认，不能再修改。" in errors(again.get_data(as_text=True))
    late = admin.post(
        f"/stocktakes/{stocktake_id}",
        data=counts_form(admin, stocktake_id, {})
        | {"lines-0-product_id": str(ids["rice"]), "lines-0-counted": "0"},
        follow_redirects=True,
    )
    assert "该盘点已确认，不能再修改。" in errors(late.get_data(as_text=True))
    assert stock(app, ids["rice"]) == 3
    assert admin.get(f"/stocktakes/{stocktake_id}/review").status_code == 302

    report = admin.get(f"/stocktakes/{stocktake_id}/report").get_data(as_text=True)
    for text in (
        "a村爱心超市盘点表",
        "整个超市",
        "大米",
        "肥皂",
        "盘点人",
        "监盘人",
        "css/page-a4.css",
        "盘盈合计 2，盘亏合计 1",
    ):
        assert text in report, text
    assert re.search(
        r"<td>大米</td><td>袋</td>\s*"
        r"<td class=\"num\">4</td>\s*<td class=\"num\">3</td>\s*<td class=\"num\">-1</td>",
        report,
    )


def test_a_zone_stocktake_lists_only_that_zones_products(admin, ids):
    stocktake_id = start(admin, str(ids["grain_zone"]))
    sheet = admin.get(f"/stocktakes/{stocktake_id}").get_data(as_text=True)
    assert "粮油区" in sheet and "大米" in sheet and "肥皂" not in sheet
    assert "粮油区" in admin.get("/stocktakes/").get_data(as_text=True)


def test_uncounted_products_are_left_alone_and_no_counts_is_refused(app, admin, ids):
    stocktake_id = start(admin)
    refused = admin.post(f"/stocktakes/{stocktake_id}/confirm", follow_redirects=True)
    assert "还没有填写任何盘点数量。" in errors(refused.get_data(as_text=True))
    admin.post(
        f"/stocktakes/{stocktake_id}", data=counts_form(admin, stocktake_id, {ids["soap"]: "10"}, "review")
    )
    review = admin.get(f"/stocktakes/{stocktake_id}/review").get_data(as_text=True)
    assert "实盘与库存一致，没有差异。" in review and "未清点 1 种" in review
    admin.post(f"/stocktakes/{stocktake_id}/confirm")
    assert (stock(app, ids["rice"]), stock(app, ids["soap"])) == (4, 10)


def test_a_negative_count_is_refused_on_the_sheet_and_nothing_is_saved(app, admin, ids):
    stocktake_id = start(admin)
    response = admin.post(
        f"/stocktakes/{stocktake_id}",
        data=counts_form(admin, stocktake_id, {ids["rice"]: "-3", ids["soap"]: "9"}),
    )
    assert response.status_code == 200
    assert "盘点数量不能为负数。" in errors(response.get_data(as_text=True))
    with fresh_session(app) as session:
        assert all(
            r.counted is None
            for r in inventory.stocktake_rows(session, village_id=ids["a"], stocktake_id=stocktake_id)
        )


def test_review_warns_when_stock_moved_during_the_count(app, admin, ids):
    stocktake_id = start(admin)
    with app.app_context(), unit_of_work() as session:
        inventory.write_off(
            session, actor=None, village_id=ids["a"], product_id=ids["rice"], quantity=1, reason="破袋"
        )
    admin.post(f"/stocktakes/{stocktake_id}", data=counts_form(admin, stocktake_id, {ids["rice"]: "3"}))
    review = admin.get(f"/stocktakes/{stocktake_id}/review").get_data(as_text=True)
    assert "盘点开始后有 1 种商品库存发生了变动" in review and "实盘与库存一致，没有差异。" in review


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_see_stocktakes_without_inputs_and_get_403_on_writes(app, login, ids, username):
    with app.app_context(), unit_of_work() as session:
        stocktake_id = inventory.start_stocktake(session, actor=None, village_id=ids["a"], zone_id=None).id
    client = login(username)
    for path in (
        "/stocktakes/",
        f"/stocktakes/{stocktake_id}",
        f"/stocktakes/{stocktake_id}/review",
        f"/stocktakes/{stocktake_id}/report",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "lines-0-counted" not in html and "/confirm" not in html and "开始盘点</button>" not in html, (
            path
        )
    before = audit_count(app)
    for path, data in (
        ("/stocktakes/", {"zone": "all"}),
        (f"/stocktakes/{stocktake_id}", {"lines-0-product_id": ids["rice"], "lines-0-counted": "0"}),
        (f"/stocktakes/{stocktake_id}/confirm", {}),
    ):
        assert client.post(path, data=data).status_code == 403, path
    assert audit_count(app) == before


def test_another_villages_stocktake_answers_404(app, admin, ids):
    with app.app_context(), unit_of_work() as session:
        theirs = inventory.start_stocktake(session, actor=None, village_id=ids["b"], zone_id=None).id
        inventory.record_counts(session, village_id=ids["b"], stocktake_id=theirs, counts={ids["b_rice"]: 0})
    for path in (f"/stocktakes/{theirs}", f"/stocktakes/{theirs}/review", f"/stocktakes/{theirs}/report"):
        assert admin.get(path).status_code == 404, path
    assert admin.post(f"/stocktakes/{theirs}/confirm").status_code == 404
    assert (
        admin.post(
            f"/stocktakes/{theirs}", data={"lines-0-product_id": ids["b_rice"], "lines-0-counted": "0"}
        ).status_code
        == 404
    )
    assert admin.post("/stocktakes/", data={"zone": str(ids["b_zone"])}).status_code in (302, 404)
    assert stock(app, ids["b_rice"]) == 7
    with fresh_session(app) as session:
        assert session.get(Stocktake, theirs).status == "open"
        assert session.scalars(select(Stocktake).where(Stocktake.village_id == ids["a"])).all() == []
