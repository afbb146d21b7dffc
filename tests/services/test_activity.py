"""Participation (参与率) and quiet households and villages (冷清提醒)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work, utcnow
from lovemart.models import AuditEvent, Card, Village
from lovemart.services import activity, households, redemptions, reports, totals, villages
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput
from lovemart.services.inventory import today
from lovemart.services.redemptions import CartLine
from lovemart.services.villages import VillageSettings
from tests.factories import make_household, make_village
from tests.points_helpers import carded_household, make_rule
from tests.services.test_reports import award
from tests.shop_helpers import make_product

#: The day tests.points_helpers.pass_inspection records.
INSPECTED_ON = date(2026, 11, 1)


def redeem(village, household, product, key):
    with unit_of_work() as s:
        number = s.scalar(select(Card.number).where(Card.household_id == household))
        redemptions.redeem(
            s,
            actor=None,
            village_id=village,
            card_number=number,
            lines=[CartLine(product, 1)],
            idempotency_key=key,
        )


def set_quiet_days(village, days):
    with unit_of_work() as s:
        row = s.get(Village, village)
        settings = VillageSettings(
            base_points=row.base_points,
            yuan_per_point=row.yuan_per_point,
            card_prefix=row.card_prefix,
            credit_after_notice=row.credit_after_notice,
            notice_days=row.notice_days,
            quiet_days=days,
        )
        villages.update_settings(s, actor=None, village_id=village, settings=settings)


def test_participation_counts_households_that_earned_redeemed_and_were_inspected(session):
    village = make_village("a")
    earner, _ = carded_household(village, number="01001")
    buyer, _ = carded_household(village, number="01002")
    make_household(village, number="01003", head="未检查户")
    other = make_village("b")
    other_household, _ = carded_household(other)
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    award(village, earner, rule, times=3)  # three awards, one household
    award(other, other_household, make_rule(other, "义务劳动", "volunteer", 10))
    rice = make_product(village, "大米", 10, stock=5)
    redeem(village, buyer, rice, "r-1")
    redeem(village, buyer, rice, "r-2")

    found = activity.participation(session, [village, other], INSPECTED_ON, today())

    assert found[village] == activity.Participation(earned=1, redeemed=1, inspected=2)
    assert found[other] == activity.Participation(earned=1, redeemed=0, inspected=1)
    (row,) = reports.county_overview(
        session, village_ids=[village], first=totals.month_of(INSPECTED_ON), last=totals.month_of(utcnow())
    ).rows
    # of 3 households in the register: 1 earned, 1 redeemed, 2 inspected
    assert row.values["earned_share"] == Decimal("33.3")
    assert row.values["redeemed_share"] == Decimal("33.3")
    assert row.values["inspected_share"] == Decimal("66.7")


def test_participation_leaves_out_other_periods_and_households_that_moved_out(session):
    village = make_village("a")
    stays, _ = carded_household(village, number="01001")
    leaves, _ = carded_household(village, number="01002")
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    award(village, stays, rule)
    award(village, leaves, rule)
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village, household_id=leaves, active=False)
    assert activity.participation(session, [village], today(), today())[village].earned == 1
    last_year = today() - timedelta(days=400)
    assert (
        activity.participation(session, [village], last_year, last_year)[village] == activity.Participation()
    )
    month = totals.month_of(utcnow())
    overview = reports.county_overview(session, village_ids=[village], first=month, last=month)
    assert overview.total.values["earned_share"] == Decimal("100.0")  # 1 of the 1 household in the register


def test_a_household_is_quiet_once_its_last_entry_is_older_than_the_village_setting(session):
    village = make_village("a")
    old, _ = carded_household(village, number="01001", head="老张")
    recent, _ = carded_household(village, number="01002", head="小李")
    moved_out, _ = carded_household(village, number="01003", head="老王")
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village, household_id=moved_out, active=False)
    assert activity.quiet_households(session, village_id=village, now=utcnow()) == []

    later = utcnow() + timedelta(days=61)
    quiet = activity.quiet_households(session, village_id=village, now=later)
    assert [q.household_id for q in quiet] == [old, recent]
    assert quiet[0].household == "01001 老张" and quiet[0].days == 61
    assert activity.quiet_households(session, village_id=village, now=utcnow() + timedelta(days=59)) == []

    award(village, recent, make_rule(village, "义务劳动", "volunteer", 10))  # any entry counts, now
    set_quiet_days(village, 30)
    assert activity.quiet_households(session, village_id=village, now=utcnow() + timedelta(days=31)) != []
    assert [q.household_id for q in activity.quiet_households(session, village_id=village, now=later)] == [
        old,
        recent,
    ]


def test_warnings_name_quiet_households_and_a_last_month_without_redemption_or_notice(session):
    strict, relaxed = make_village("a"), make_village("b")
    for village in (strict, relaxed):
        carded_household(village)
    set_quiet_days(strict, 30)
    in_45_days = utcnow() + timedelta(days=45)

    found = {w.village_id: w for w in activity.warnings(session, [strict, relaxed], now=in_45_days)}

    assert found[strict].quiet_households == 1  # 45 days ≥ 30
    assert found[relaxed].quiet_households == 0  # 45 days < 60
    village_day = in_45_days.astimezone(totals.VILLAGE_TIMEZONE).date()
    last_month = totals.month_of(village_day.replace(day=1) - timedelta(days=1))
    assert [str(m) for m in found[relaxed].missing] == [
        f"{last_month:%Y-%m} 无兑换",
        f"{last_month:%Y-%m} 未公示",
    ]


def test_a_village_that_redeemed_last_month_is_not_warned_of_it(session):
    village = make_village("a")
    household, _ = carded_household(village)
    redeem(village, household, make_product(village, "大米", 10, stock=5), "r-1")
    this_month = totals.month_of(utcnow())
    third_of_next = (this_month + timedelta(days=32)).replace(day=3)
    next_month = datetime.combine(third_of_next, time(12), tzinfo=totals.VILLAGE_TIMEZONE)
    (warning,) = activity.warnings(session, [village], now=next_month)
    assert [str(m) for m in warning.missing] == [f"{this_month:%Y-%m} 未公示"]
    assert warning.quiet_households == 0


@pytest.mark.parametrize("days", [13, 366])
def test_the_quiet_days_setting_is_bounded_and_its_change_audited(session, days):
    village = make_village("a")
    with pytest.raises(InvalidInput) as refused:
        set_quiet_days(village, days)
    assert refused.value.field == "quiet_days"
    set_quiet_days(village, 90)
    event = session.scalars(select(AuditEvent).where(AuditEvent.tag == AuditTag.VILLAGE_UPDATE)).one()
    assert event.data["before"]["quiet_days"] == 60 and event.data["after"]["quiet_days"] == 90
