import threading
import uuid

import pytest
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import LedgerEntry, PointsAccount, Product, Redemption, StockMovement
from lovemart.services import cards, households, inventory, points, redemptions
from lovemart.services.errors import (
    AccountFrozen,
    CardLost,
    CardNotActive,
    CardRecovered,
    CartOutdated,
    HouseholdInactive,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    NoPointsAccount,
    OutOfStock,
    RedemptionCancelled,
)
from lovemart.services.redemptions import CartLine, Seen
from tests.points_helpers import carded_household, points_village
from tests.shop_helpers import make_product
from tests.tamper import tamper


def card_number(session, village_id, household_id):
    return cards.active_card(session, village_id=village_id, household_id=household_id).number


def redeem(village_id, number, lines, key=None, seen=None):
    with unit_of_work() as session:
        return redemptions.redeem(
            session,
            actor=None,
            village_id=village_id,
            card_number=number,
            lines=[CartLine(p, q) for p, q in lines],
            idempotency_key=key or uuid.uuid4().hex,
            seen=seen,
        ).id


def state(session, household_id, *product_ids):
    session.rollback()  # end the read snapshot: other sessions have committed since
    balance = session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))
    return balance, [session.get(Product, p).stock for p in product_ids]


@pytest.fixture
def shop(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rice = make_product(village_id, "大米", 30, stock=20)
    soap = make_product(village_id, "肥皂", 5, stock=10, zone="洗化区", unit="块")
    return village_id, household_id, card_number(session, village_id, household_id), rice, soap


def test_redeem_debits_points_and_stock_in_one_go(session, shop):
    village_id, household_id, number, rice, soap = shop
    redemption_id = redeem(village_id, number, [(rice, 2), (soap, 1)])
    assert state(session, household_id, rice, soap) == (35, [18, 9])
    redemption = session.get(Redemption, redemption_id)
    assert (redemption.total_points, redemption.balance_after, redemption.receipt_no) == (65, 35, "A-000001")
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.redemption_id == redemption_id))
    assert (entry.kind, entry.points, entry.balance_after) == ("redemption", -65, 35)
    kinds = session.scalars(
        select(StockMovement.kind).where(StockMovement.redemption_id == redemption_id)
    ).all()
    assert sorted(kinds) == ["redemption", "redemption"]
    assert points.verify(session) == [] and inventory.verify(session) == []


@pytest.mark.parametrize(
    "lines, error",
    [([(1, 4)], InsufficientPoints), ([(2, 11)], OutOfStock), ([], InvalidInput), ([(1, 0)], InvalidInput)],
)
def test_refusals_write_nothing(session, shop, lines, error):
    village_id, household_id, number, rice, soap = shop
    ids = {1: rice, 2: soap}
    with pytest.raises(error):
        redeem(village_id, number, [(ids[p], q) for p, q in lines])
    assert state(session, household_id, rice, soap) == (100, [20, 10])
    assert session.query(Redemption).count() == 0


def test_same_key_returns_the_first_redemption_and_a_changed_body_is_refused(session, shop):
    village_id, household_id, number, rice, soap = shop
    first = redeem(village_id, number, [(rice, 1)], key="click-1")
    again = redeem(village_id, number, [(rice, 1)], key="click-1")
    assert first == again
    with pytest.raises(IdempotencyConflict):
        redeem(village_id, number, [(rice, 2)], key="click-1")
    assert state(session, household_id, rice) == (70, [19])


def test_a_reused_key_names_its_first_receipt_only_in_its_own_village(session, shop):
    village_id, household_id, number, rice, _ = shop
    first = redeem(village_id, number, [(rice, 1)], key="old-page")
    with pytest.raises(IdempotencyConflict) as conflict:
        redeem(village_id, number, [(rice, 2)], key="old-page")
    assert (conflict.value.first.id, conflict.value.first.receipt_no) == (first, "A-000001")
    assert conflict.value.message == "同一个请求编号已用于另一项不同的操作。"  # what the API says, as before

    other = points_village("b")
    other_household, _ = carded_household(other)
    other_rice = make_product(other, "大米", 30, stock=5)
    with pytest.raises(IdempotencyConflict) as elsewhere:
        redeem(other, card_number(session, other, other_household), [(other_rice, 1)], key="old-page")
    assert elsewhere.value.first is None  # another village's receipt is not told
    assert state(session, household_id, rice) == (70, [19])


def test_what_the_page_showed_must_still_be_true(session, shop):
    """`seen`: the balance, and the price and stock of each product in the cart; other goods do not matter."""
    village_id, household_id, number, rice, soap = shop
    seen = Seen(balance=100, goods={rice: (30, 20), soap: (5, 10)})
    for outdated in (
        Seen(balance=90, goods=seen.goods),
        Seen(balance=100, goods={rice: (25, 20)}),
        Seen(balance=100, goods={rice: (30, 21)}),
        Seen(balance=100, goods={soap: (5, 10)}),  # rice was not on the page
    ):
        with pytest.raises(CartOutdated):
            redeem(village_id, number, [(rice, 1)], seen=outdated)
    assert state(session, household_id, rice, soap) == (100, [20, 10])
    assert session.query(Redemption).count() == 0

    redeem(village_id, number, [(rice, 1)], seen=Seen(balance=100, goods={rice: (30, 20), soap: (5, 9)}))
    assert state(session, household_id, rice, soap) == (70, [19, 10])
    # A retry of that confirm (same key) is its receipt, although the page it came from is outdated now.
    first = redeem(village_id, number, [(soap, 1)], key="twice", seen=Seen(70, {soap: (5, 10)}))
    assert redeem(village_id, number, [(soap, 1)], key="twice", seen=Seen(70, {soap: (5, 10)})) == first
    assert state(session, household_id, rice, soap) == (65, [19, 9])


def test_lost_card_cannot_redeem(session, shop):
    village_id, household_id, number, rice, _ = shop
    with unit_of_work() as s:
        cards.reissue(
            s,
            actor=None,
            village_id=village_id,
            card_id=cards.by_number(s, village_id=village_id, number=number).id,
        )
    with pytest.raises(CardNotActive):
        redeem(village_id, number, [(rice, 1)])


def move_out(village_id, household_id):
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village_id, household_id=household_id, active=False)


def test_household_that_moved_out_cannot_redeem_though_its_card_is_active(session, shop):
    village_id, household_id, number, rice, _ = shop
    move_out(village_id, household_id)
    assert cards.active_card(session, village_id=village_id, household_id=household_id).number == number
    with pytest.raises(HouseholdInactive):
        redeem(village_id, number, [(rice, 1)])
    assert state(session, household_id, rice) == (100, [20])
    assert session.query(Redemption).count() == 0


@pytest.mark.parametrize(
    "card_status, household_active, account_status, error",
    [
        ("lost", True, "active", CardLost),
        ("recovered", True, "frozen", CardRecovered),
        ("active", False, "active", HouseholdInactive),
        (None, False, None, HouseholdInactive),
        (None, True, None, NoPointsAccount),
        ("active", True, "frozen", AccountFrozen),
        (None, True, "frozen", AccountFrozen),
    ],
)
def test_ensure_usable_names_the_first_reason_a_household_cannot_use_its_points(
    card_status, household_active, account_status, error
):
    with pytest.raises(error):
        points.ensure_usable(
            card_status=card_status, household_active=household_active, account_status=account_status
        )
    assert issubclass(CardLost, CardNotActive) and issubclass(CardRecovered, CardNotActive)


def test_ensure_usable_lets_an_active_household_through():
    points.ensure_usable(card_status="active", household_active=True, account_status="active")
    points.ensure_usable(household_active=True, account_status="active")


def test_redeem_asks_the_household_in_the_cards_own_lookup(session, shop, query_counter):
    """The household and account checks ride on the card's lookup: a redemption runs no extra query."""
    village_id, _household_id, number, rice, _ = shop
    redeem(village_id, number, [(rice, 1)])  # warm: the first redemption compiles the statements
    with query_counter() as statements:
        redeem(village_id, number, [(rice, 1)])
    card_lookups = [s for s in statements if "FROM cards" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(card_lookups) == 1 and "households" in card_lookups[0] and "points_accounts" in card_lookups[0]
    assert not any("FROM households" in s for s in statements)


def test_cancel_restores_points_and_stock_and_keeps_the_original(session, shop):
    village_id, household_id, number, rice, soap = shop
    redemption_id = redeem(village_id, number, [(rice, 2), (soap, 1)])
    with unit_of_work() as s:
        redemptions.cancel(s, actor=None, village_id=village_id, redemption_id=redemption_id, reason="拿错了")
    assert state(session, household_id, rice, soap) == (100, [20, 10])
    assert session.get(Redemption, redemption_id).status == "cancelled"
    kinds = sorted(session.scalars(select(LedgerEntry.kind).where(LedgerEntry.account_id.is_not(None))).all())
    assert kinds == ["base", "redemption", "reversal"]
    with pytest.raises(RedemptionCancelled), unit_of_work() as s:
        redemptions.cancel(s, actor=None, village_id=village_id, redemption_id=redemption_id, reason="再退")
    assert points.verify(session) == [] and inventory.verify(session) == []
    assert redemptions.verify(session) == []


def test_verify_finds_a_redemption_missing_its_goods_half(session, shop):
    """Stock levels still equal their movements after the movements and the stock go together; only the
    redemption-level check sees that the goods were never taken."""
    village_id, _, number, rice, soap = shop
    whole = redeem(village_id, number, [(soap, 1)])
    halved = redeem(village_id, number, [(rice, 2)])
    tamper("DELETE FROM stock_movements WHERE redemption_id = :id", "stock_movements", id=halved)
    tamper("UPDATE products SET stock = stock + 2 WHERE id = :id", "products", id=rice)
    session.rollback()
    assert inventory.verify(session) == []
    found = redemptions.verify(session)
    receipt = session.get(Redemption, halved).receipt_no
    assert [(p.receipt_no, p.what) for p in found] == [(receipt, "goods taken None ≠ -2")]
    assert receipt != session.get(Redemption, whole).receipt_no


def test_a_redemption_entry_cannot_be_reversed_alone(session, shop):
    village_id, _, number, rice, _ = shop
    redemption_id = redeem(village_id, number, [(rice, 1)])
    entry_id = session.scalar(select(LedgerEntry.id).where(LedgerEntry.redemption_id == redemption_id))
    with pytest.raises(InvalidInput), unit_of_work() as s:
        points.reverse(s, actor=None, village_id=village_id, entry_id=entry_id, reason="x")


def test_concurrent_redemptions_never_overdraw(app, session, shop):
    """Eight threads with their own sessions try 4 sales of rice (30 points) each against 100 points."""
    village_id, household_id, number, rice, _ = shop
    outcomes = []

    def counter():
        with app.app_context():
            for _ in range(4):
                try:
                    redeem(village_id, number, [(rice, 1)])
                    outcomes.append("ok")
                except (InsufficientPoints, OutOfStock):
                    outcomes.append("refused")
            db.session.remove()

    threads = [threading.Thread(target=counter) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 3 and outcomes.count("refused") == 29
    assert state(session, household_id, rice) == (10, [17])
    assert points.verify(session) == [] and inventory.verify(session) == []


def test_concurrent_retries_of_one_key_redeem_once(app, session, shop):
    village_id, household_id, number, rice, _ = shop
    results = []

    def click():
        with app.app_context():
            results.append(redeem(village_id, number, [(rice, 1)], key="double-click"))
            db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 6
    assert state(session, household_id, rice) == (70, [19])
