"""Wishes: posted, moderated, taken up, goods received and handed over, fulfilled; each step only from the
state before it; the chain shows every step."""

from datetime import date

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import Product, StockMovement
from lovemart.models.walls import WishStatus
from lovemart.services import donations, inventory, walls
from lovemart.services.errors import (
    HouseholdInactive,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    OutOfStock,
    TooManyWishes,
    WishNotInState,
)
from lovemart.services.inventory import StockInLine
from tests.factories import make_household, make_village
from tests.shop_helpers import make_product


def call(service, **kwargs):
    with unit_of_work() as session:
        result = service(session, actor=None, **kwargs)
        return result.id if hasattr(result, "id") else result


def post(village, household, text="想要一个书包", **kwargs):
    return call(
        walls.post_wish, village_id=village, household_id=household, text=text, category="study", **kwargs
    )


@pytest.fixture
def village(session):
    return make_village("a")


def test_a_wish_goes_from_the_phone_to_the_response_wall(session, village):
    household = make_household(village, head="王建华")
    wish_id = post(village, household, from_villager=True, request_key="k1")
    call(walls.approve, village_id=village, wish_id=wish_id)
    with unit_of_work() as s:
        donor = donations.save_donor(
            s, actor=None, village_id=village, name="宜川爱心企业", kind="enterprise"
        ).id
    call(walls.pledge, village_id=village, wish_id=wish_id, donor_id=donor, note="下周送到")
    bag = make_product(village, "书包", 20)
    with unit_of_work() as s:
        donation = donations.receive_goods(
            s,
            actor=None,
            village_id=village,
            donor_id=donor,
            received_on=date(2026, 11, 20),
            lines=[StockInLine(bag, 1)],
        ).donation.id
    call(walls.receive_goods, village_id=village, wish_id=wish_id, donation_id=donation)
    call(walls.hand_over, village_id=village, wish_id=wish_id, product_id=bag, quantity=1)
    call(
        walls.fulfil,
        village_id=village,
        wish_id=wish_id,
        fulfilment="书包已送到孩子手中",
        thanks="谢谢宜川爱心企业",
    )
    wish = walls.get(session, village_id=village, wish_id=wish_id)
    assert wish.status == WishStatus.FULFILLED and wish.donor_id == donor and wish.donation_id == donation
    steps = [str(step.label) for step in walls.chain(session, wish)]
    assert steps == ["提出心愿", "审核通过，上墙", "爱心认领", "物资入库", "交到农户手中", "心愿实现"]
    handover = session.scalar(select(StockMovement).where(StockMovement.wish_id == wish_id))
    assert handover.kind == "handover" and handover.quantity == -1
    assert session.get(Product, bag).stock == 0 and inventory.verify(session) == []
    (row,) = walls.wishes(session, village_id=village, statuses=[WishStatus.FULFILLED]).items
    assert row.family == "王家" and row.donor == "宜川爱心企业"


def test_a_declined_wish_needs_a_reason_and_stays_off_the_wall(session, village):
    wish_id = post(village, make_household(village))
    with pytest.raises(InvalidInput):
        call(walls.decline, village_id=village, wish_id=wish_id, reason="  ")
    call(walls.decline, village_id=village, wish_id=wish_id, reason="请到村委会当面说明")
    assert walls.wishes(session, village_id=village, statuses=[WishStatus.OPEN]).total == 0
    assert [
        str(s.label) for s in walls.chain(session, walls.get(session, village_id=village, wish_id=wish_id))
    ] == ["提出心愿", "未通过审核"]


@pytest.mark.parametrize("step", ["approve", "pledge", "fulfil", "hand_over"])
def test_each_step_refuses_the_wrong_state(session, village, step):
    wish_id = post(village, make_household(village))
    call(walls.approve, village_id=village, wish_id=wish_id)
    with unit_of_work() as s:
        donor = donations.save_donor(s, actor=None, village_id=village, name="某人", kind="person").id
    call(walls.pledge, village_id=village, wish_id=wish_id, donor_id=donor)
    call(walls.fulfil, village_id=village, wish_id=wish_id, fulfilment="已实现")
    arguments = {
        "approve": {},
        "pledge": {"donor_id": donor},
        "fulfil": {"fulfilment": "again"},
        "hand_over": {"product_id": make_product(village, "米", 3, stock=5), "quantity": 1},
    }[step]
    with pytest.raises(WishNotInState):
        call(getattr(walls, step), village_id=village, wish_id=wish_id, **arguments)


def test_posting_checks_text_category_household_and_limit(session, village):
    household = make_household(village)
    with pytest.raises(InvalidInput):
        post(village, household, text=" ")
    with pytest.raises(InvalidInput):
        call(walls.post_wish, village_id=village, household_id=household, text="x", category="cash")
    for n in range(walls.MAX_OPEN_WISHES):
        post(village, household, text=f"心愿 {n}")
    with pytest.raises(TooManyWishes):
        post(village, household, text="再一个")
    other = make_village("b")
    with pytest.raises(NotFound):
        post(other, household)  # a household of another village


def test_a_repeated_post_is_one_wish_and_a_reused_key_is_refused(session, village):
    household, neighbour = make_household(village), make_household(village)
    first = post(village, household, request_key="same")
    assert post(village, household, request_key="same") == first
    with pytest.raises(IdempotencyConflict):
        post(village, neighbour, request_key="same")


def test_handover_cannot_overdraw_stock_and_goods_come_from_the_pledging_donor(session, village):
    wish_id = post(village, make_household(village))
    call(walls.approve, village_id=village, wish_id=wish_id)
    with unit_of_work() as s:
        donor = donations.save_donor(s, actor=None, village_id=village, name="甲", kind="person").id
        stranger = donations.save_donor(s, actor=None, village_id=village, name="乙", kind="person").id
    call(walls.pledge, village_id=village, wish_id=wish_id, donor_id=donor)
    rice = make_product(village, "米", 3, stock=1)
    with pytest.raises(OutOfStock):
        call(walls.hand_over, village_id=village, wish_id=wish_id, product_id=rice, quantity=2)
    with unit_of_work() as s:
        others = donations.receive_goods(
            s,
            actor=None,
            village_id=village,
            donor_id=stranger,
            received_on=date(2026, 11, 1),
            lines=[StockInLine(rice, 1)],
        ).donation.id
    with pytest.raises(InvalidInput):
        call(walls.receive_goods, village_id=village, wish_id=wish_id, donation_id=others)


def test_a_moved_out_household_cannot_post(session, village):
    from lovemart.services import households

    household = make_household(village)
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village, household_id=household, active=False)
    with pytest.raises(HouseholdInactive):
        post(village, household)
