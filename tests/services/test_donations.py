"""Donors, donations, funds and purchases: donated goods become stock-ins naming the donation, donated money
becomes fund income, purchases debit a fund and come in with their cost; a fund never goes below zero; a
repeated request key records once. After every write stock and fund balances equal their movements."""

from datetime import date

import pytest
from sqlalchemy import func, select

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Donation, Fund, FundMovement, Product, Purchase, StockMovement
from lovemart.services import donations, inventory
from lovemart.services.errors import FundTooLow, IdempotencyConflict, InvalidInput, NotFound
from lovemart.services.inventory import StockInLine
from tests.factories import make_village
from tests.shop_helpers import make_product

DAY = date(2026, 11, 20)


@pytest.fixture
def village(session):
    return make_village("a")


@pytest.fixture
def other(session):
    return make_village("b")


@pytest.fixture
def shop(session, village):
    with unit_of_work() as s:
        enterprise = donations.save_donor(
            s,
            actor=None,
            village_id=village,
            name="宜川爱心粮油公司",
            kind="enterprise",
            contact="刘经理",
            phone="0911-1234567",
        ).id
        person = donations.save_donor(s, actor=None, village_id=village, name="王爱心", kind="person").id
        poverty = donations.create_fund(
            s, actor=None, village_id=village, name="扶贫局资助", kind="poverty_office"
        ).id
        social = donations.create_fund(s, actor=None, village_id=village, name="社会捐赠", kind="social").id
    return {
        "enterprise": enterprise,
        "person": person,
        "poverty": poverty,
        "social": social,
        "rice": make_product(village, "大米", 30),
        "soap": make_product(village, "肥皂", 5, zone="洗化区", unit="块"),
    }


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def balance(session, fund_id) -> int:
    session.rollback()
    return session.get(Fund, fund_id).balance_fen


def stock(session, product_id) -> int:
    session.rollback()
    return session.get(Product, product_id).stock


def assert_books_balance(session):
    """Stock = sum of stock movements; each fund's balance = sum of its movements, never negative."""
    session.rollback()
    assert inventory.verify(session) == []
    for fund in session.scalars(select(Fund)):
        total = session.scalar(
            select(func.coalesce(func.sum(FundMovement.amount_fen), 0)).where(FundMovement.fund_id == fund.id)
        )
        assert fund.balance_fen == total >= 0


def give_goods(village, donor, lines, key=None, received_on=DAY):
    with unit_of_work() as s:
        outcome = donations.receive_goods(
            s,
            actor=None,
            village_id=village,
            donor_id=donor,
            received_on=received_on,
            lines=[StockInLine(*line) for line in lines],
            note="冬季送温暖",
            request_key=key,
        )
        return outcome.donation.id, [m.id for m in outcome.movements]


def give_money(village, donor, fund, fen, key=None):
    with unit_of_work() as s:
        return donations.receive_money(
            s,
            actor=None,
            village_id=village,
            donor_id=donor,
            fund_id=fund,
            amount_fen=fen,
            received_on=DAY,
            request_key=key,
        ).id


def fund_up(village, fund, fen):
    with unit_of_work() as s:
        donations.add_funding(
            s, actor=None, village_id=village, fund_id=fund, amount_fen=fen, note="2026年拨款"
        )


def buy(village, fund, lines, key=None):
    with unit_of_work() as s:
        return donations.purchase(
            s,
            actor=None,
            village_id=village,
            fund_id=fund,
            bought_on=DAY,
            lines=[StockInLine(*line) for line in lines],
            supplier="县粮站",
            request_key=key,
        ).id


# ---- donors and funds ---------------------------------------------------------------------------------


def test_donors_are_saved_edited_and_refused_when_unclear(session, village, shop):
    assert [d.name for d in donations.donors(session, village_id=village)] == ["宜川爱心粮油公司", "王爱心"]
    with unit_of_work() as s:
        donations.save_donor(
            s,
            actor=None,
            village_id=village,
            donor_id=shop["person"],
            name="王爱心",
            kind="person",
            phone="13800000000",
        )
    assert donations.get_donor(session, village_id=village, donor_id=shop["person"]).phone == "13800000000"
    for name, kind in (("王爱心", "person"), ("", "person"), ("新企业", "government")):
        with pytest.raises(InvalidInput), unit_of_work() as s:
            donations.save_donor(s, actor=None, village_id=village, name=name, kind=kind)


def test_funds_start_empty_and_take_funding(session, village, shop):
    fund_up(village, shop["poverty"], 500_000)
    assert balance(session, shop["poverty"]) == 500_000
    for fen in (0, -100):
        with pytest.raises(InvalidInput):
            fund_up(village, shop["poverty"], fen)
    with pytest.raises(InvalidInput), unit_of_work() as s:
        donations.create_fund(s, actor=None, village_id=village, name="扶贫局资助", kind="poverty_office")
    with pytest.raises(InvalidInput), unit_of_work() as s:
        donations.create_fund(s, actor=None, village_id=village, name="别的钱", kind="lottery")
    assert [
        m.amount_fen for m in donations.fund_movements(session, village_id=village, fund_id=shop["poverty"])
    ] == [500_000]
    assert_books_balance(session)


# ---- donations of goods -------------------------------------------------------------------------------


def test_donated_goods_become_stock_ins_naming_the_donation(session, village, shop):
    donation_id, movement_ids = give_goods(
        village, shop["enterprise"], [(shop["rice"], 20), (shop["soap"], 50, date(2028, 1, 1))]
    )
    assert stock(session, shop["rice"]) == 20 and stock(session, shop["soap"]) == 50
    donation = session.get(Donation, donation_id)
    assert (donation.kind, donation.receipt_no, donation.amount_fen, donation.received_on) == (
        "goods",
        "JZ00001",
        None,
        DAY,
    )
    became = donations.what_it_became(session, village_id=village, donation_id=donation_id)
    assert sorted((m.product_id, m.quantity, m.kind, m.donation_id) for m in became) == sorted(
        [(shop["rice"], 20, "stock_in", donation_id), (shop["soap"], 50, "stock_in", donation_id)]
    )
    lines = donations.goods_lines(session, village_id=village, donation_id=donation_id)
    assert [(gl.product.name, gl.movement.quantity) for gl in lines] == [("大米", 20), ("肥皂", 50)]
    tags = session.scalars(select(AuditEvent.tag).where(AuditEvent.village_id == village)).all()
    assert "shop:donation:record" in tags and "stock:movement:stock-in" in tags
    assert_books_balance(session)


def test_receipt_numbers_run_per_village(session, village, other, shop):
    give_goods(village, shop["enterprise"], [(shop["rice"], 1)])
    give_money(village, shop["person"], shop["social"], 10_000)
    with unit_of_work() as s:
        theirs = donations.save_donor(s, actor=None, village_id=other, name="外村企业", kind="enterprise").id
    their_rice = make_product(other, "大米", 30)
    their_donation, _ = give_goods(other, theirs, [(their_rice, 1)])
    session.rollback()
    assert [d.receipt_no for d in session.scalars(select(Donation).order_by(Donation.id))] == [
        "JZ00001",
        "JZ00002",
        "JZ00001",
    ]


def test_the_same_request_key_records_a_donation_once(session, village, shop):
    first = give_goods(village, shop["enterprise"], [(shop["rice"], 20)], key="page-key-1")
    again = give_goods(village, shop["enterprise"], [(shop["rice"], 20)], key="page-key-1")
    assert first == again
    assert stock(session, shop["rice"]) == 20 and count(session, Donation) == 1
    with pytest.raises(IdempotencyConflict):
        give_goods(village, shop["person"], [(shop["rice"], 20)], key="page-key-1")
    assert count(session, Donation) == 1
    assert_books_balance(session)


@pytest.mark.parametrize("lines", [[], [("rice", 0)]])
def test_a_goods_donation_without_goods_is_refused_and_writes_nothing(session, village, shop, lines):
    with pytest.raises(InvalidInput):
        give_goods(village, shop["enterprise"], [(shop[p], q) for p, q in lines])
    assert count(session, Donation) == 0 and count(session, StockMovement) == 0


def test_donations_of_another_village_are_not_found(session, village, other, shop):
    donation_id, _ = give_goods(village, shop["enterprise"], [(shop["rice"], 2)])
    with pytest.raises(NotFound):
        donations.get_donation(session, village_id=other, donation_id=donation_id)
    with pytest.raises(NotFound):
        donations.what_it_became(session, village_id=other, donation_id=donation_id)
    with pytest.raises(NotFound):
        give_goods(other, shop["enterprise"], [(shop["rice"], 2)])  # a's donor and product from b
    assert count(session, Donation) == 1


def test_donation_list_is_newest_first_with_donors(session, village, shop):
    first, _ = give_goods(village, shop["enterprise"], [(shop["rice"], 1)], received_on=date(2026, 10, 1))
    second = give_money(village, shop["person"], shop["social"], 5_000)
    page = donations.donation_list(session, village_id=village)
    assert [(r.donation.id, r.donor.name) for r in page.items] == [
        (second, "王爱心"),
        (first, "宜川爱心粮油公司"),
    ]
    assert page.total == 2
    only = donations.donation_list(session, village_id=village, donor_id=shop["enterprise"])
    assert [r.donation.id for r in only.items] == [first]


# ---- donations of money ---------------------------------------------------------------------------------


def test_donated_money_becomes_fund_income(session, village, shop):
    donation_id = give_money(village, shop["person"], shop["social"], 123_456)
    assert balance(session, shop["social"]) == 123_456
    donation = session.get(Donation, donation_id)
    assert (donation.kind, donation.amount_fen) == ("money", 123_456)
    movement, fund = donations.donation_income(session, village_id=village, donation_id=donation_id)
    assert (fund.id, movement.kind, movement.amount_fen, movement.balance_after_fen) == (
        shop["social"],
        "income",
        123_456,
        123_456,
    )
    assert donations.what_it_became(session, village_id=village, donation_id=donation_id) == []
    assert_books_balance(session)


def test_money_donation_refusals_and_replays(session, village, shop):
    for fen in (0, -1):
        with pytest.raises(InvalidInput):
            give_money(village, shop["person"], shop["social"], fen)
    assert count(session, Donation) == 0
    first = give_money(village, shop["person"], shop["social"], 10_000, key="money-key")
    assert give_money(village, shop["person"], shop["social"], 10_000, key="money-key") == first
    assert balance(session, shop["social"]) == 10_000 and count(session, FundMovement) == 1
    assert_books_balance(session)


# ---- purchases ----------------------------------------------------------------------------------------


def test_a_purchase_debits_the_fund_and_stocks_in_with_its_cost(session, village, shop):
    fund_up(village, shop["poverty"], 100_000)
    purchase_id = buy(
        village, shop["poverty"], [(shop["rice"], 10, None, 60_000), (shop["soap"], 20, None, 4_050)]
    )
    assert balance(session, shop["poverty"]) == 100_000 - 64_050
    bought = session.get(Purchase, purchase_id)
    assert (bought.total_fen, bought.supplier, bought.fund_id) == (64_050, "县粮站", shop["poverty"])
    assert stock(session, shop["rice"]) == 10 and stock(session, shop["soap"]) == 20
    lines = donations.goods_lines(session, village_id=village, purchase_id=purchase_id)
    assert [
        (gl.product.name, gl.movement.quantity, gl.movement.cost_fen, gl.movement.purchase_id) for gl in lines
    ] == [("大米", 10, 60_000, purchase_id), ("肥皂", 20, 4_050, purchase_id)]
    debit = donations.fund_movements(session, village_id=village, fund_id=shop["poverty"])[0]
    assert (debit.kind, debit.amount_fen, debit.purchase_id, debit.balance_after_fen) == (
        "purchase",
        -64_050,
        purchase_id,
        35_950,
    )
    assert [r.purchase.id for r in donations.purchases(session, village_id=village)] == [purchase_id]
    assert_books_balance(session)


def test_a_purchase_beyond_the_funds_balance_is_refused_and_nothing_is_written(session, village, shop):
    fund_up(village, shop["poverty"], 50_000)
    with pytest.raises(FundTooLow) as refused:
        buy(village, shop["poverty"], [(shop["rice"], 10, None, 60_000)])
    assert refused.value.message == "资金“扶贫局资助”余额不足：需要 600.00 元，余额 500.00 元。"
    assert balance(session, shop["poverty"]) == 50_000
    assert stock(session, shop["rice"]) == 0
    assert count(session, Purchase) == 0 and count(session, FundMovement) == 1
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tag == "shop:purchase:record")
        )
        == 0
    )
    # exactly the balance is fine
    buy(village, shop["poverty"], [(shop["rice"], 10, None, 50_000)])
    assert balance(session, shop["poverty"]) == 0
    assert_books_balance(session)


@pytest.mark.parametrize("lines", [[], [("rice", 10, None)], [("rice", 10, 0)]])
def test_purchase_needs_goods_with_their_cost(session, village, shop, lines):
    fund_up(village, shop["poverty"], 50_000)
    with pytest.raises(InvalidInput):
        buy(village, shop["poverty"], [(shop[p], q, None, c) for p, q, c in lines])
    assert count(session, Purchase) == 0 and stock(session, shop["rice"]) == 0


def test_the_same_request_key_records_a_purchase_once(session, village, shop):
    fund_up(village, shop["poverty"], 100_000)
    first = buy(village, shop["poverty"], [(shop["rice"], 10, None, 30_000)], key="purchase-key")
    assert buy(village, shop["poverty"], [(shop["rice"], 10, None, 30_000)], key="purchase-key") == first
    assert balance(session, shop["poverty"]) == 70_000 and stock(session, shop["rice"]) == 10
    with pytest.raises(IdempotencyConflict):
        buy(village, shop["social"], [(shop["rice"], 10, None, 30_000)], key="purchase-key")
    assert_books_balance(session)


def test_another_villages_fund_cannot_pay(session, village, other, shop):
    fund_up(village, shop["poverty"], 100_000)
    their_rice = make_product(other, "大米", 30)
    with pytest.raises(NotFound):
        buy(other, shop["poverty"], [(their_rice, 1, None, 100)])
    with pytest.raises(NotFound):
        donations.get_purchase(
            session,
            village_id=other,
            purchase_id=buy(village, shop["poverty"], [(shop["rice"], 1, None, 100)]),
        )
    assert balance(session, shop["poverty"]) == 99_900


# ---- the certificate's amount in words --------------------------------------------------------------------


@pytest.mark.parametrize(
    "fen, words",
    [
        (0, "零元整"),
        (100, "壹元整"),
        (1_000, "壹拾元整"),
        (100_000, "壹仟元整"),
        (123_450, "壹仟贰佰叁拾肆元伍角"),
        (100_507, "壹仟零伍元零柒分"),
        (1_001_000, "壹万零壹拾元整"),
        (20_000_000, "贰拾万元整"),
        (10_000_005, "壹拾万元零伍分"),
        (10_001_000_000, "壹亿零壹万元整"),
        (5, "伍分"),
    ],
)
def test_amount_in_words(fen, words):
    assert donations.amount_in_words(fen) == words
