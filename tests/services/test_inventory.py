"""Goods and stock: zones, products, stock-in, write-off, the never-negative stock, use-by and low-stock
flags, provenance, stocktakes. After every write the stored stock equals the sum of the movements."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Product, StockMovement, Stocktake
from lovemart.models.inventory import DEFAULT_ZONES
from lovemart.services import donations, inventory
from lovemart.services.errors import InvalidInput, NotFound, OutOfStock
from lovemart.services.inventory import ProductInput, StockInLine
from tests.factories import make_village
from tests.shop_helpers import make_product

TODAY = date(2026, 11, 20)


@pytest.fixture
def village(session):
    return make_village("a")


@pytest.fixture
def other(session):
    return make_village("b")


def zone_id(session, village_id, name="粮油区") -> int:
    return next(z.id for z in inventory.zones(session, village_id=village_id) if z.name == name)


def stock(session, product_id) -> int:
    session.rollback()  # a fresh snapshot: the units of work committed in their own transactions
    return session.get(Product, product_id).stock


def movements(session, product_id) -> list[tuple]:
    session.rollback()
    return [
        (m.kind, m.quantity, m.stock_after)
        for m in session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
    ]


def assert_books_balance(session):
    session.rollback()
    assert inventory.verify(session) == []
    for product in session.scalars(select(Product)):
        assert product.stock == inventory.recompute_level(session, product.id)


def stock_in(village_id, *lines, note="期初库存"):
    with unit_of_work() as s:
        return [
            m.id
            for m in inventory.stock_in(
                s, actor=None, village_id=village_id, lines=[StockInLine(*line) for line in lines], note=note
            )
        ]


def write_off(village_id, product_id, quantity, reason="受潮"):
    with unit_of_work() as s:
        return inventory.write_off(
            s, actor=None, village_id=village_id, product_id=product_id, quantity=quantity, reason=reason
        ).id


# ---- zones and products ---------------------------------------------------------------------------------


def test_a_new_village_has_the_six_zones_of_the_shop(session, village):
    assert [z.name for z in inventory.zones(session, village_id=village)] == list(DEFAULT_ZONES)


def test_zones_are_added_renamed_and_retired(session, village):
    with unit_of_work() as s:
        added = inventory.save_zone(s, actor=None, village_id=village, name=" 文具区 ").id
    with unit_of_work() as s:
        inventory.save_zone(s, actor=None, village_id=village, zone_id=added, name="文体区", active=False)
    assert "文体区" not in [z.name for z in inventory.zones(session, village_id=village)]
    assert "文体区" in [z.name for z in inventory.zones(session, village_id=village, include_inactive=True)]
    for name in ("粮油区", "  "):
        with pytest.raises(InvalidInput), unit_of_work() as s:
            inventory.save_zone(s, actor=None, village_id=village, name=name)


def test_create_product_starts_at_zero_stock_and_is_audited(session, village):
    with unit_of_work() as s:
        product = inventory.create_product(
            s,
            actor=None,
            village_id=village,
            data=ProductInput(
                name=" 大米 ", zone_id=zone_id(s, village), unit="袋", points_price=30, barcode=" 690 "
            ),
        )
        product_id = product.id
    row = session.get(Product, product_id)
    assert (row.name, row.barcode, row.stock, row.low_stock, row.active) == ("大米", "690", 0, 5, True)
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "shop:product:create")
        )
        == 1
    )


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": "大米"}, "name"),
        ({"barcode": "690"}, "barcode"),
        ({"points_price": 0}, "points_price"),
        ({"unit": " "}, "unit"),
        ({"name": ""}, "name"),
        ({"low_stock": -1}, "low_stock"),
    ],
)
def test_product_refusals(session, village, changes, field):
    with unit_of_work() as s:
        inventory.create_product(
            s,
            actor=None,
            village_id=village,
            data=ProductInput(
                name="大米", zone_id=zone_id(s, village), unit="袋", points_price=30, barcode="690"
            ),
        )
    data = {"name": "面粉", "zone_id": zone_id(session, village), "unit": "袋", "points_price": 20} | changes
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        inventory.create_product(s, actor=None, village_id=village, data=ProductInput(**data))
    assert refused.value.field == field
    assert session.scalar(select(func.count()).select_from(Product)) == 1


def test_another_villages_zone_or_product_is_not_found(session, village, other):
    with pytest.raises(NotFound), unit_of_work() as s:
        inventory.create_product(
            s,
            actor=None,
            village_id=village,
            data=ProductInput(name="大米", zone_id=zone_id(s, other), unit="袋", points_price=30),
        )
    theirs = make_product(other, "大米", 30, stock=5)
    with pytest.raises(NotFound):
        inventory.get_product(session, village_id=village, product_id=theirs)
    with pytest.raises(NotFound):
        stock_in(village, (theirs, 1))
    with pytest.raises(NotFound):
        write_off(village, theirs, 1)
    assert stock(session, theirs) == 5


def test_update_product_never_touches_stock(session, village):
    rice = make_product(village, "大米", 30, stock=7)
    with unit_of_work() as s:
        inventory.update_product(
            s,
            actor=None,
            village_id=village,
            product_id=rice,
            data=ProductInput(
                name="东北大米",
                zone_id=zone_id(s, village),
                unit="袋",
                points_price=35,
                low_stock=2,
                active=False,
            ),
        )
    row = session.get(Product, rice)
    assert (row.name, row.points_price, row.low_stock, row.active, row.stock) == ("东北大米", 35, 2, False, 7)


def test_catalogue_filters_by_zone_search_and_active(session, village):
    rice = make_product(village, "大米", 30)
    soap = make_product(village, "肥皂", 5, zone="洗化区", unit="块")
    with unit_of_work() as s:
        retired = inventory.create_product(
            s,
            actor=None,
            village_id=village,
            data=ProductInput(
                name="旧毛巾",
                zone_id=zone_id(s, village, "日用品区"),
                unit="条",
                points_price=3,
                active=False,
            ),
        ).id
    ids = lambda **kw: [p.id for p in inventory.catalogue(session, village_id=village, **kw)]  # noqa: E731
    assert ids() == [rice, soap]
    assert ids(zone_id=zone_id(session, village, "洗化区")) == [soap]
    assert ids(search="米") == [rice]
    assert ids(search="%") == []
    assert retired in ids(active_only=False)
    page = inventory.catalogue_page(session, village_id=village, page=2, per_page=1)
    assert (page.total, [p.id for p in page.items]) == (2, [soap])


# ---- stock-in, write-off, never below zero --------------------------------------------------------------


def test_stock_is_the_sum_of_movements_after_stock_in_and_write_off(session, village):
    rice = make_product(village, "大米", 30)
    oil = make_product(village, "食用油", 40, unit="桶")
    stock_in(village, (rice, 20), (oil, 5, TODAY + timedelta(days=300)))
    write_off(village, rice, 3, reason="受潮霉变")
    stock_in(village, (rice, 4))
    assert stock(session, rice) == 21 and stock(session, oil) == 5
    assert movements(session, rice) == [("stock_in", 20, 20), ("write_off", -3, 17), ("stock_in", 4, 21)]
    assert_books_balance(session)


@pytest.mark.parametrize("lines", [[], [(1, 0)], [(1, -2)]])
def test_stock_in_refusals_write_nothing(session, village, lines):
    rice = make_product(village, "大米", 30)
    with pytest.raises(InvalidInput):
        stock_in(village, *[(rice, q) for _, q in lines])
    assert movements(session, rice) == []


def test_write_off_beyond_stock_is_refused_with_a_clear_out_of_stock(session, village):
    rice = make_product(village, "大米", 30, stock=2)
    with pytest.raises(OutOfStock) as refused:
        write_off(village, rice, 3)
    assert refused.value.message == "“大米”库存不足：需要 3，仅剩 2。"
    assert refused.value.code == "out_of_stock"
    assert stock(session, rice) == 2 and len(movements(session, rice)) == 1
    write_off(village, rice, 2)
    assert stock(session, rice) == 0
    with pytest.raises(OutOfStock):
        write_off(village, rice, 1)
    assert_books_balance(session)


@pytest.mark.parametrize("quantity, reason", [(0, "坏了"), (-1, "坏了"), (1, "  ")])
def test_write_off_needs_a_positive_quantity_and_a_reason(session, village, quantity, reason):
    rice = make_product(village, "大米", 30, stock=2)
    with pytest.raises(InvalidInput):
        write_off(village, rice, quantity, reason)
    assert stock(session, rice) == 2


def test_the_database_refuses_negative_stock_too(session, village):
    """The CHECK backs the conditional update: even a bypassing UPDATE cannot take stock below zero."""
    rice = make_product(village, "大米", 30, stock=1)
    with pytest.raises(IntegrityError), unit_of_work() as s:
        s.execute(update(Product).where(Product.id == rice).values(stock=-1))
    assert stock(session, rice) == 1


# ---- flags --------------------------------------------------------------------------------------------


def test_expiring_flags_goods_in_stock_within_sixty_days_by_their_earliest_date(session, village):
    milk = make_product(village, "牛奶", 10, unit="箱")
    noodles = make_product(village, "挂面", 8)
    oil = make_product(village, "食用油", 40, unit="桶")
    sold_out = make_product(village, "饼干", 6, unit="包")
    soap = make_product(village, "肥皂", 5, zone="洗化区", unit="块")
    stock_in(village, (milk, 5, TODAY + timedelta(days=90)), (noodles, 5, TODAY - timedelta(days=1)))
    stock_in(village, (milk, 5, TODAY + timedelta(days=30)), (oil, 5, TODAY + timedelta(days=61)))
    stock_in(village, (sold_out, 2, TODAY + timedelta(days=10)), (soap, 9))
    write_off(village, sold_out, 2)
    flagged = inventory.expiring(session, village_id=village, today=TODAY)
    assert [(p.id, use_by) for p, use_by in flagged] == [
        (noodles, TODAY - timedelta(days=1)),
        (milk, TODAY + timedelta(days=30)),
    ]
    assert [p.id for p, _ in inventory.expiring(session, village_id=village, today=TODAY, days=61)][-1] == oil


def test_low_stock_lists_active_products_at_or_below_their_threshold(session, village):
    rice = make_product(village, "大米", 30, stock=5)
    make_product(village, "面粉", 30, stock=6)
    empty = make_product(village, "食用油", 40)
    assert [p.id for p in inventory.low_stock(session, village_id=village)] == [empty, rice]


# ---- provenance ---------------------------------------------------------------------------------------


def test_provenance_names_the_donation_the_purchase_and_other_sources(session, village):
    rice = make_product(village, "大米", 30)
    with unit_of_work() as s:
        donor = donations.save_donor(
            s, actor=None, village_id=village, name="宜川爱心粮油公司", kind="enterprise"
        ).id
        fund = donations.create_fund(
            s, actor=None, village_id=village, name="扶贫局资助", kind="poverty_office"
        ).id
        donations.add_funding(
            s, actor=None, village_id=village, fund_id=fund, amount_fen=100_000, note="拨款"
        )
    with unit_of_work() as s:
        donation = donations.receive_goods(
            s,
            actor=None,
            village_id=village,
            donor_id=donor,
            received_on=TODAY,
            lines=[StockInLine(rice, 20)],
        ).donation.id
    with unit_of_work() as s:
        purchase = donations.purchase(
            s,
            actor=None,
            village_id=village,
            fund_id=fund,
            bought_on=TODAY,
            lines=[StockInLine(rice, 10, cost_fen=60_000)],
            supplier="县粮站",
        ).id
    stock_in(village, (rice, 3), note="期初库存")
    write_off(village, rice, 1, reason="破袋")
    rows = inventory.provenance(session, village_id=village, product_id=rice)
    assert [(r.movement.kind, r.movement.quantity) for r in rows] == [
        ("write_off", -1),
        ("stock_in", 3),
        ("stock_in", 10),
        ("stock_in", 20),
    ]
    assert rows[3].donation.id == donation and rows[3].donor.name == "宜川爱心粮油公司"
    assert (
        rows[2].purchase.id == purchase
        and rows[2].fund.name == "扶贫局资助"
        and rows[2].movement.cost_fen == 60_000
    )
    assert rows[1].donation is None and rows[1].purchase is None and rows[1].movement.note == "期初库存"
    sources = inventory.stock_in_sources(session, village_id=village, product_id=rice)
    assert [(s.kind, s.name, s.quantity, s.stock_ins) for s in sources] == [
        ("donation", "宜川爱心粮油公司", 20, 1),
        ("purchase", "扶贫局资助", 10, 1),
        ("other", "", 3, 1),
    ]
    assert_books_balance(session)


# ---- stocktake ----------------------------------------------------------------------------------------


@pytest.fixture
def shelves(session, village):
    rice = make_product(village, "大米", 30, stock=20)
    oil = make_product(village, "食用油", 40, stock=8, unit="桶")
    flour = make_product(village, "面粉", 25, stock=5)
    soap = make_product(village, "肥皂", 5, stock=10, zone="洗化区", unit="块")
    return {"rice": rice, "oil": oil, "flour": flour, "soap": soap}


def start(village_id, zone=None) -> int:
    with unit_of_work() as s:
        return inventory.start_stocktake(s, actor=None, village_id=village_id, zone_id=zone).id


def count(village_id, stocktake_id, counts):
    with unit_of_work() as s:
        inventory.record_counts(s, village_id=village_id, stocktake_id=stocktake_id, counts=counts)


def confirm(village_id, stocktake_id):
    with unit_of_work() as s:
        return [
            (m.product_id, m.quantity, m.stocktake_id)
            for m in inventory.confirm_stocktake(
                s, actor=None, village_id=village_id, stocktake_id=stocktake_id
            )
        ]


def test_stocktake_of_a_zone_lists_its_products_with_the_stock_expected(session, village, shelves):
    stocktake = start(village, zone_id(session, village))
    rows = inventory.stocktake_rows(session, village_id=village, stocktake_id=stocktake)
    assert [(r.product.name, r.expected, r.counted) for r in rows] == [
        ("大米", 20, None),
        ("面粉", 5, None),
        ("食用油", 8, None),
    ]
    whole = inventory.stocktake_rows(session, village_id=village, stocktake_id=start(village))
    assert len(whole) == 4


def test_differences_become_adjustments_naming_the_stocktake(session, village, shelves):
    stocktake = start(village)
    count(
        village, stocktake, {shelves["rice"]: 18, shelves["oil"]: 8, shelves["soap"]: 12}
    )  # flour not counted
    rows = {
        r.product.name: r
        for r in inventory.stocktake_rows(session, village_id=village, stocktake_id=stocktake)
    }
    assert (rows["大米"].difference, rows["食用油"].difference, rows["面粉"].difference) == (-2, 0, None)
    adjustments = confirm(village, stocktake)
    assert sorted(adjustments) == sorted([(shelves["rice"], -2, stocktake), (shelves["soap"], 2, stocktake)])
    assert [stock(session, shelves[k]) for k in ("rice", "oil", "flour", "soap")] == [18, 8, 5, 12]
    session.rollback()
    assert session.get(Stocktake, stocktake).status == "confirmed"
    rows = {
        r.product.name: r
        for r in inventory.stocktake_rows(session, village_id=village, stocktake_id=stocktake)
    }
    assert (rows["大米"].adjusted, rows["大米"].book, rows["食用油"].adjusted, rows["面粉"].adjusted) == (
        -2,
        20,
        0,
        None,
    )
    assert movements(session, shelves["rice"])[-1] == ("adjustment", -2, 18)
    assert_books_balance(session)


def test_difference_is_taken_against_the_stock_at_confirmation(session, village, shelves):
    stocktake = start(village)
    write_off(village, shelves["rice"], 5)  # goods leave while the count is under way
    count(village, stocktake, {shelves["rice"]: 15})
    assert confirm(village, stocktake) == []
    assert stock(session, shelves["rice"]) == 15


def test_a_confirmed_stocktake_cannot_be_confirmed_or_changed_again(session, village, shelves):
    stocktake = start(village)
    count(village, stocktake, {shelves["rice"]: 19})
    confirm(village, stocktake)
    with pytest.raises(InvalidInput) as refused:
        confirm(village, stocktake)
    assert refused.value.message == "该盘点已确认，不能再修改。"
    with pytest.raises(InvalidInput):
        count(village, stocktake, {shelves["rice"]: 1})
    assert stock(session, shelves["rice"]) == 19
    assert (
        session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.stocktake_id == stocktake)
        )
        == 1
    )
    assert_books_balance(session)


def test_stocktake_refusals(session, village, other, shelves):
    stocktake = start(village)
    with pytest.raises(InvalidInput):
        confirm(village, stocktake)  # nothing counted yet
    with pytest.raises(InvalidInput):
        count(village, stocktake, {shelves["rice"]: -1})
    with pytest.raises(NotFound):
        count(village, stocktake, {make_product(other, "大米", 30): 1})
    with pytest.raises(NotFound):
        count(other, stocktake, {shelves["rice"]: 1})
    with pytest.raises(NotFound):
        start(village, zone_id(session, other))
    assert [s.id for s in inventory.stocktakes(session, village_id=village)] == [stocktake]
    assert_books_balance(session)


def test_a_count_that_would_go_below_zero_cannot_exist(session, village, shelves):
    """Counted quantities are never negative, so an adjustment can never take stock below zero."""
    stocktake = start(village)
    count(village, stocktake, {shelves["rice"]: 0})
    confirm(village, stocktake)
    assert stock(session, shelves["rice"]) == 0
    assert_books_balance(session)
