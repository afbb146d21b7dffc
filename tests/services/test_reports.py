"""County figures from the maintained monthly totals: issued, redeemed, per household, cover ratio, ranks."""

from datetime import date
from decimal import Decimal

from lovemart.db import unit_of_work, utcnow
from lovemart.services import donations, redemptions, reports, totals
from lovemart.services.redemptions import CartLine
from tests.factories import make_household, make_village
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product


def this_month() -> date:
    return totals.month_of(utcnow())


def award(village_id, household_id, rule_id, times=1):
    from lovemart.services import points

    with unit_of_work() as session:
        for _ in range(times):
            points.award(
                session, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id
            )


def test_figures_of_a_village_follow_its_books(session):
    village = make_village("a", yuan_per_point=3)
    household, _ = carded_household(village)
    make_household(village, head="未发卡户")
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    award(village, household, rule, times=2)
    rice = make_product(village, "大米", 30, stock=10)
    with unit_of_work() as s:
        number = s.scalar(__import__("sqlalchemy").text("SELECT number FROM cards"))
        redemptions.redeem(
            s,
            actor=None,
            village_id=village,
            card_number=number,
            lines=[CartLine(rice, 2)],
            idempotency_key="r-1",
        )
        fund = donations.create_fund(s, actor=None, village_id=village, name="资金", kind="social")
        donations.add_funding(s, actor=None, village_id=village, fund_id=fund.id, amount_fen=12_345, note="")
    overview = reports.county_overview(session, village_ids=[village], first=this_month(), last=this_month())
    (row,) = overview.rows
    figures = row.values
    assert figures["households"] == 2 and figures["cards"] == 1
    assert figures["issued"] == 120  # base 100 + 2 × 10
    assert figures["issued_per_household"] == Decimal("60.00")
    assert figures["redeemed"] == 60 and figures["redemptions"] == 1
    assert figures["redemption_yuan"] == 180
    assert figures["outstanding"] == 60
    assert figures["stock_yuan"] == 8 * 30 * 3
    assert figures["funds_yuan"] == Decimal("123.45")
    # (720 + 123.45) ÷ (60 × 3)
    assert figures["cover_ratio"] == Decimal("4.69")
    assert overview.series == [(this_month(), 120, 60)]


def test_an_earlier_period_reads_nothing_of_this_month(session):
    village = make_village("a")
    carded_household(village)
    earlier = date(2020, 1, 1)
    (row,) = reports.county_overview(session, village_ids=[village], first=earlier, last=earlier).rows
    assert row.values["issued"] == 0 and row.values["households"] == 1


def test_ranking_shares_ranks_on_ties_and_puts_missing_values_last(session):
    a, b, c = make_village("a"), make_village("b"), make_village("c")
    for village in (a, b):
        carded_household(village)
    overview = reports.county_overview(session, village_ids=[a, b, c], first=this_month(), last=this_month())
    rows = reports.ranked(overview, "issued_per_household")
    assert [(r.code, r.rank) for r in rows] == [("a", 1), ("b", 1), ("c", None)]
    assert overview.total.values["issued"] == 200 and overview.total.values["households"] == 2


def test_the_report_costs_the_same_for_one_village_or_five(app, session, query_counter):
    ids = [make_village(code) for code in "abcde"]
    for village in ids:
        carded_household(village)

    def cost(village_ids):
        with query_counter() as statements:
            reports.county_overview(session, village_ids=village_ids, first=this_month(), last=this_month())
        session.expire_all()
        return len(statements)

    cost(ids)  # warm: the first report of a session also loads the villages' rows
    assert cost(ids[:1]) == cost(ids)
