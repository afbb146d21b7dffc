"""One true message per field (issue 15.5): an integer input says the first thing wrong and only that
(not an integer → too big → its own range), a household's labels start on 请选择, and a stock-in of a
surprising quantity is asked again; a stock-in typed wrong is corrected on its day (更正入库)."""

import inspect
import re

import pytest
from wtforms import IntegerField
from wtforms.validators import NumberRange

import lovemart.forms
from lovemart.forms.base import WholeNumberField
from tests.web.shop_web import books_balance, errors, shop_villages, stock
from tests.web.test_goods_web import product_form, stock_in_form


@pytest.fixture
def ids(app):
    return shop_villages(app)


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


def test_every_integer_input_is_a_whole_number_field_with_ranges_that_stop():
    import pkgutil
    from importlib import import_module

    for info in pkgutil.iter_modules(lovemart.forms.__path__):
        module = import_module(f"lovemart.forms.{info.name}")
        for _name, form in inspect.getmembers(module, inspect.isclass):
            for field_name, unbound in vars(form).items():
                field_class = getattr(unbound, "field_class", None)
                if field_class is None or not issubclass(field_class, IntegerField):
                    continue
                assert issubclass(field_class, WholeNumberField), (form, field_name)
                for validator in unbound.kwargs.get("validators", ()):
                    assert type(validator) is not NumberRange, (form, field_name)


@pytest.mark.parametrize(
    "typed, message",
    [
        ("99999999999", "数字太大了，请核对。"),
        ("12.5", "请输入整数。"),
        ("-1", "兑换积分必须大于零。"),
        ("0", "兑换积分必须大于零。"),
        ("", "请填写兑换所需积分。"),
        ("  ", "请填写兑换所需积分。"),
        ("200000", "数值大小必须介于 1 到 100000 之间。"),
    ],
)
def test_a_product_price_says_one_true_thing(admin, ids, typed, message):
    response = admin.post("/goods/products/new", data=product_form(ids, points_price=typed))
    assert response.status_code == 200
    assert errors(response.get_data(as_text=True)) == [message]


@pytest.mark.parametrize(
    "typed, message",
    [
        ("99999999999", "数字太大了，请核对。"),
        ("12.5", "请输入整数。"),
        ("-1", "数量必须大于零。"),
        ("0", "数量必须大于零。"),
        ("", "请填写数量。"),
        ("2000000", "数值大小必须介于 1 到 1000000 之间。"),
    ],
)
def test_a_stock_in_quantity_says_one_true_thing(app, admin, ids, typed, message):
    data = stock_in_form(lines=[{"product_id": ids["rice"], "quantity": typed}])
    response = admin.post("/goods/stock-in", data=data)
    assert errors(response.get_data(as_text=True)) == [message]
    assert stock(app, ids["rice"]) == 4


@pytest.mark.parametrize("typed, message", [("12.5", "请输入整数。"), ("0", "报损数量必须大于零。")])
def test_a_write_off_quantity_says_one_true_thing(admin, ids, typed, message):
    response = admin.post(f"/goods/products/{ids['rice']}/write-off", data={"quantity": typed, "reason": "x"})
    assert errors(response.get_data(as_text=True)) == [message]


def test_a_new_household_starts_with_no_category_chosen(login, ids):
    admin = login("a-admin")
    html = admin.get("/households/new").get_data(as_text=True)
    status = re.search(r'<select[^>]*name="status"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option([^>]*)value="([^"]*)"', status)
    assert options[0][1] == "" and not any("selected" in attributes for attributes, _ in options)
    group = re.search(r'<select[^>]*name="group_id"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'value="([^"]*)"', group)[0] == ""
    refused = admin.post("/households/new", data={"number": "09001", "head_name": "刘建军", "status": ""})
    shown = errors(refused.get_data(as_text=True))
    assert "请选择户类别。" in shown and "请选择村民小组。" in shown and "请选择性别。" in shown


def test_a_surprising_stock_in_is_asked_again_for_that_very_number(app, admin, ids):
    line = {"product_id": ids["rice"], "quantity": "1000000"}
    asked = admin.post("/goods/stock-in", data=stock_in_form(lines=[line]))
    html = asked.get_data(as_text=True)
    assert errors(html) == ["数量很大，请再核对一遍；无误请勾选下面的确认。"]
    assert "我确认数量 1,000,000 无误" in html
    assert re.search(r'type="checkbox" name="lines-0-confirmed" value="1000000"', html)
    assert stock(app, ids["rice"]) == 4
    # ticked for another number: asked again
    other = admin.post("/goods/stock-in", data=stock_in_form(lines=[line | {"confirmed": "100000"}]))
    assert "我确认数量 1,000,000 无误" in other.get_data(as_text=True)
    assert stock(app, ids["rice"]) == 4
    done = admin.post("/goods/stock-in", data=stock_in_form(lines=[line | {"confirmed": "1000000"}]))
    assert done.status_code == 302
    assert stock(app, ids["rice"]) == 1_000_004
    ordinary = admin.post(
        "/goods/stock-in", data=stock_in_form(lines=[{"product_id": ids["rice"], "quantity": "1000"}])
    )
    assert ordinary.status_code == 302  # up to LARGE_STOCK_IN nothing is asked


def test_a_stock_in_is_corrected_on_its_day_and_shown_as_a_correction(app, admin, ids):
    line = {"product_id": ids["rice"], "quantity": "1000000", "confirmed": "1000000"}
    assert admin.post("/goods/stock-in", data=stock_in_form(lines=[line])).status_code == 302
    page = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    link = re.search(r'href="(/goods/movements/(\d+)/correct)"', page)
    assert link, "today's stock-in offers 更正"
    form = admin.get(link.group(1)).get_data(as_text=True)
    assert "1,000,000" in form
    refused = admin.post(link.group(1), data={"quantity": "-1", "reason": "多打了"})
    assert errors(refused.get_data(as_text=True)) == ["实收数量不能为负数。"]
    done = admin.post(link.group(1), data={"quantity": "100", "reason": "多打了四个 0"})
    assert done.status_code == 302
    assert stock(app, ids["rice"]) == 104
    page = admin.get(f"/goods/products/{ids['rice']}").get_data(as_text=True)
    assert (
        "更正入库" in page
        and "多打了四个 0" in page
        and "-999900" in page
        and "报损" not in page.split("出入库记录")[1]
    )
    assert books_balance(app)
