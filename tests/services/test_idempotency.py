"""A request key names one request of one village (`lovemart.services.idempotency`): another village's use of
the same key is an IdempotencyConflict that stores nothing, also when the session sees only the acting
village (as in a request, where the ORM scope would hide the other village's row and the table's unique
constraint would then refuse the insert with an IntegrityError)."""

from datetime import date

import pytest
from sqlalchemy import func, select

from lovemart import scope
from lovemart.db import unit_of_work
from lovemart.models import Donation, LedgerEntry, PointsClaim, Wish
from lovemart.services import donations, points, walls
from lovemart.services.errors import IdempotencyConflict
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def villages(session):
    ids = {}
    for code, prefix in (("a", "A"), ("b", "B")):
        village = points_village(code, card_prefix=prefix)
        household, _ = carded_household(village)
        rule = make_rule(village, "义务劳动", "volunteer", 10)
        with unit_of_work() as s:
            donor = donations.save_donor(
                s, actor=None, village_id=village, name="爱心企业", kind="enterprise"
            )
            fund = donations.create_fund(
                s, actor=None, village_id=village, name="资助", kind="poverty_office"
            )
            ids[code] = {
                "village": village,
                "household": household,
                "rule": rule,
                "donor": donor.id,
                "fund": fund.id,
            }
    return ids


def _wish(s, v, key):
    walls.post_wish(
        s,
        actor=None,
        village_id=v["village"],
        household_id=v["household"],
        text="书包",
        category="study",
        request_key=key,
    )


def _award(s, v, key):
    points.award(
        s,
        actor=None,
        village_id=v["village"],
        household_id=v["household"],
        rule_id=v["rule"],
        request_key=key,
    )


def _apply(s, v, key):
    points.apply(
        s,
        village_id=v["village"],
        household_id=v["household"],
        rule_id=v["rule"],
        note="扫雪",
        request_key=key,
    )


def _money(s, v, key):
    donations.receive_money(
        s,
        actor=None,
        village_id=v["village"],
        donor_id=v["donor"],
        fund_id=v["fund"],
        amount_fen=100,
        received_on=date(2026, 11, 1),
        request_key=key,
    )


@pytest.mark.parametrize(
    ("write", "model"),
    [(_wish, Wish), (_award, LedgerEntry), (_apply, PointsClaim), (_money, Donation)],
    ids=["wish", "award", "application", "money donation"],
)
def test_a_key_used_in_another_village_is_a_conflict(session, villages, write, model):
    with unit_of_work() as s:
        write(s, villages["a"], "shared")
    stored = session.scalar(select(func.count()).select_from(model))
    with unit_of_work() as s:
        scope.restrict(s, [villages["b"]["village"]])  # what a request of village b's user sees
        try:
            with pytest.raises(IdempotencyConflict):
                write(s, villages["b"], "shared")
        finally:
            scope.clear(s)
    assert session.scalar(select(func.count()).select_from(model)) == stored
    with unit_of_work() as s:
        write(s, villages["a"], "shared")  # a replay in its own village
    assert session.scalar(select(func.count()).select_from(model)) == stored
