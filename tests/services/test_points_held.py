"""公示后入账: with the village setting on, awards wait as 公示中 claims until a notice settles them."""

import pytest

from lovemart.db import unit_of_work, utcnow
from lovemart.models import Village
from lovemart.models.points import ClaimStatus
from lovemart.services import points, totals
from lovemart.services.errors import ClaimNotOpen, InvalidInput
from tests.points_helpers import carded_household, make_rule, points_village


def held_village() -> int:
    village_id = points_village()
    with unit_of_work() as session:
        session.get(Village, village_id).credit_after_notice = True
    return village_id


def award(village_id, household_id, rule_id):
    with unit_of_work() as session:
        return points.award(
            session, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id
        )


def test_an_award_is_held_and_a_deduction_counts_at_once(session):
    village_id = held_village()
    household_id, _ = carded_household(village_id)
    plus = make_rule(village_id, "义务劳动", "volunteer", 10)
    minus = make_rule(village_id, "乱堆乱放", "deduction", -5)
    held = award(village_id, household_id, plus)
    assert held.entry is None and held.claim.status == ClaimStatus.PUBLICIZING
    assert award(village_id, household_id, minus).entry.points == -5
    account = points.account_for_household(session, village_id=village_id, household_id=household_id)
    assert account.balance == 95  # base 100, the deduction; the award is not spendable yet


def test_a_settled_claim_is_credited_once_and_a_dropped_one_never(session):
    village_id = held_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    kept, dropped = (
        award(village_id, household_id, rule_id).claim.id,
        award(village_id, household_id, rule_id).claim.id,
    )
    with unit_of_work() as s:
        credited = points.credit_publicized(s, actor=None, village_id=village_id, claim_id=kept)
        assert credited.status == ClaimStatus.APPROVED and credited.entry_id is not None
    with unit_of_work() as s, pytest.raises(InvalidInput):
        points.drop_publicized(s, actor=None, village_id=village_id, claim_id=dropped, reason=" ")
    with unit_of_work() as s:
        points.drop_publicized(s, actor=None, village_id=village_id, claim_id=dropped, reason="核实未参加")
    with unit_of_work() as s, pytest.raises(ClaimNotOpen):
        points.credit_publicized(s, actor=None, village_id=village_id, claim_id=kept)
    account = points.account_for_household(session, village_id=village_id, household_id=household_id)
    assert account.balance == 110
    assert points.verify(session) == [] and totals.verify(session) == []


def test_monthly_totals_follow_every_entry(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    award(village_id, household_id, rule_id)
    (month,) = totals.months(
        session, village_ids=[village_id], first=totals.month_of(utcnow()), last=totals.month_of(utcnow())
    )
    assert (month.entry_count, month.base_points, month.award_points) == (2, 100, 10)
    assert totals.verify(session) == []
