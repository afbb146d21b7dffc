"""更正入库: a stock-in typed wrong is put right on its own day by a correction movement naming it; the
stock-in itself is never changed and the stock still equals the sum of the movements."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work, utcnow
from lovemart.models import AuditEvent, Product, StockMovement
from lovemart.services import inventory
from lovemart.services.errors import InvalidInput, NotFound
from lovemart.services.inventory import StockInLine
from tests.factories import make_village
from tests.shop_helpers import make_product


@pytest.fixture
def shop(session):
    village = make_village("a")
    product = make_product(village, "矿泉水", 1, unit="瓶")
    with unit_of_work() as s:
        [movement] = inventory.stock_in(
            s, actor=None, village_id=village, lines=[StockInLine(product, 1_000_000)]
        )
        stock_in = movement.id
    return village, product, stock_in


def correct(village, stock_in, quantity, reason="多打了四个 0", at=None):
    with unit_of_work() as s:
        m = inventory.correct_stock_in(
            s, actor=None, village_id=village, movement_id=stock_in, quantity=quantity, reason=reason, at=at
        )
        return m.id, m.kind, m.quantity, m.corrects_id, m.stock_after


def books(session, product):
    session.rollback()
    rows = session.scalars(
        select(StockMovement).where(StockMovement.product_id == product).order_by(StockMovement.id)
    )
    stock = session.get(Product, product).stock
    assert stock == inventory.recompute_level(session, product)
    assert inventory.verify(session) == []
    return stock, [(m.kind, m.quantity) for m in rows]


def test_a_correction_books_the_difference_names_the_stock_in_and_leaves_it_alone(session, shop):
    village, product, stock_in = shop
    movement_id, kind, quantity, corrects, after = correct(village, stock_in, 100)
    assert (kind, quantity, corrects, after) == ("correction", -999_900, stock_in, 100)
    assert books(session, product) == (100, [("stock_in", 1_000_000), ("correction", -999_900)])
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "stock:movement:correct"))
    assert (event.subject_type, event.subject_id, event.village_id) == ("StockMovement", movement_id, village)
    assert event.data == {
        "stock_in_id": stock_in, "product_id": product, "recorded": 1_000_000, "quantity": 100,
        "reason": "多打了四个 0",
    }  # fmt: skip
    assert inventory.correctable(session, village_id=village, product_id=product) == {stock_in: 100}


def test_the_same_correction_sent_again_books_nothing_more(session, shop):
    village, product, stock_in = shop
    first = correct(village, stock_in, 100)
    assert correct(village, stock_in, 100) == first
    assert books(session, product) == (100, [("stock_in", 1_000_000), ("correction", -999_900)])
    session.rollback()
    assert (
        len(session.scalars(select(AuditEvent).where(AuditEvent.tag == "stock:movement:correct")).all()) == 1
    )
    correct(village, stock_in, 120)  # a second, different correction counts from the first
    assert books(session, product)[0] == 120


def test_only_on_the_day_of_the_stock_in(session, shop):
    village, product, stock_in = shop
    with pytest.raises(InvalidInput, match="只能在入库当天更正"):
        correct(village, stock_in, 100, at=utcnow() + timedelta(days=1))
    assert books(session, product)[0] == 1_000_000


def test_never_below_zero_stock(session, shop):
    village, product, stock_in = shop
    with unit_of_work() as s:
        inventory.write_off(
            s, actor=None, village_id=village, product_id=product, quantity=999_950, reason="破损"
        )
    with pytest.raises(InvalidInput, match="库存只剩 50瓶"):
        correct(village, stock_in, 10)
    assert books(session, product)[0] == 50


@pytest.mark.parametrize(
    "quantity, reason, message",
    [(-1, "x", "实收数量不能为负数"), (100, " ", "请填写更正原因"), (1_000_000, "x", "与原入库数量相同")],
)
def test_refusals(session, shop, quantity, reason, message):
    village, product, stock_in = shop
    with pytest.raises(InvalidInput, match=message):
        correct(village, stock_in, quantity, reason=reason)
    assert books(session, product)[0] == 1_000_000


def test_only_a_stock_in_of_the_village(session, shop):
    village, product, stock_in = shop
    other = make_village("b")
    with pytest.raises(NotFound):
        correct(other, stock_in, 100)
    movement_id = correct(village, stock_in, 100)[0]
    with pytest.raises(InvalidInput, match="只能更正入库记录"):
        correct(village, movement_id, 5)
