"""The supervisor's signals: own household, over the cap, unusual redemptions, repeated reversals."""

from datetime import timedelta

from sqlalchemy import text

from lovemart.authz import Role
from lovemart.db import unit_of_work, utcnow
from lovemart.services import points, redemptions, signals, users
from lovemart.services.inventory import today
from lovemart.services.redemptions import CartLine
from tests.factories import make_village
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product


def found(session, village):
    return signals.signals(session, village_id=village, first=today() - timedelta(days=30), last=today())


def award(village, household, rule, actor=None):
    with unit_of_work() as session:
        return points.award(
            session, actor=actor, village_id=village, household_id=household, rule_id=rule
        ).entry


def test_points_for_ones_own_household_are_flagged(session):
    village = make_village("a")
    household, _ = carded_household(village, number="01001")
    neighbour, _ = carded_household(village, number="01002")
    with unit_of_work() as s:
        village_row = s.get(__import__("lovemart.models", fromlist=["Village"]).Village, village)
        clerk = users.create_user(
            s,
            actor=None,
            username="clerk",
            password="password123",
            role=Role.ADMIN,
            village=village_row,
            household_number="01001",
        )
        clerk_id = clerk.id
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    with unit_of_work() as s:
        actor = s.get(__import__("lovemart.models", fromlist=["User"]).User, clerk_id)
        own = points.award(s, actor=actor, village_id=village, household_id=household, rule_id=rule).entry.id
        points.award(s, actor=actor, village_id=village, household_id=neighbour, rule_id=rule)
    (signal,) = [s for s in found(session, village) if s.kind == "own_household"]
    assert signal.entry_ids == [own] and signal.household.startswith("01001")


def test_over_the_cap_and_repeated_reversals(session):
    village = make_village("a")
    household, _ = carded_household(village)
    capped = make_rule(village, "参加会议", "collective", 5, cap_per_month=5)
    first = award(village, household, capped)
    with unit_of_work() as s:
        points.reverse(s, actor=None, village_id=village, entry_id=first.id, reason="记错")
    award(village, household, capped)
    assert not [s for s in found(session, village) if s.kind == "over_cap"]
    # a cap lowered by hand after the fact (the service would refuse the award now)
    with unit_of_work() as s:
        s.execute(text("UPDATE rules SET cap_per_month = 1 WHERE id = :id"), {"id": capped})
    assert [s.kind for s in found(session, village) if s.kind == "over_cap"] == ["over_cap"]
    labour = make_rule(village, "义务劳动", "volunteer", 10)
    for time in range(2):
        entry = award(village, household, labour)
        with unit_of_work() as s:
            points.reverse(s, actor=None, village_id=village, entry_id=entry.id, reason="记错")
        repeated = [s for s in found(session, village) if s.kind == "reversed_often"]
        assert len(repeated) == time  # once per rule is ordinary; twice is a signal
    assert len(repeated[0].entry_ids) == 2


def test_a_household_redeeming_far_more_than_the_village_is_flagged(session):
    village = make_village("a", base_points=1000)
    cards_of = []
    for _ in range(4):
        household, _token = carded_household(village)
        cards_of.append(household)
    rice = make_product(village, "大米", 10, stock=500)
    with unit_of_work() as s:
        numbers = [n for (n,) in s.execute(text("SELECT number FROM cards ORDER BY id"))]
        for index, number in enumerate(numbers):
            quantity = 60 if index == 0 else 2
            redemptions.redeem(
                s,
                actor=None,
                village_id=village,
                card_number=number,
                lines=[CartLine(rice, quantity)],
                idempotency_key=f"k{index}",
            )
    (signal,) = [s for s in found(session, village) if s.kind == "unusual_redemption"]
    assert "600" in signal.what


def test_the_period_bounds_the_signals(session):
    village = make_village("a")
    assert (
        signals.signals(
            session,
            village_id=village,
            first=today() - timedelta(days=400),
            last=today() - timedelta(days=300),
        )
        == []
    )
    assert utcnow()  # the clock is real: nothing to freeze
