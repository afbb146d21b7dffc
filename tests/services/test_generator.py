"""The county generator writes, in bulk, books the services would have written: `verify` finds nothing."""

from sqlalchemy import func, select

from lovemart.db import unit_of_work
from lovemart.models import LedgerBook, LedgerEntry, Redemption, StockMovement, Village, Wish
from lovemart.services import generator, inventory, points, totals


def test_a_small_county_has_the_asked_sizes_and_verifies(session):
    plan = generator.CountyPlan(villages=3, households=12, entries=400, years=2, wishes=4)
    written = []
    for index in range(plan.villages):
        with unit_of_work() as s:
            generator.generate_village(s, plan, index, written.append)
    assert sum(written) == 400
    assert session.scalar(select(func.count()).select_from(Village)) == 3
    per_village = dict(
        session.execute(select(LedgerEntry.village_id, func.count()).group_by(LedgerEntry.village_id)).all()
    )
    assert sorted(per_village.values()) == [133, 133, 134]
    assert session.scalar(select(func.count()).select_from(Wish)) == 12
    redemptions = session.scalar(select(func.count()).select_from(Redemption))
    assert redemptions > 0
    assert (
        session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "redemption")
        )
        == redemptions
    )
    books = session.scalars(select(LedgerBook)).all()
    assert {b.village_id: b.entry_count for b in books} == per_village
    assert points.verify(session) == []
    assert inventory.verify(session) == []
    assert totals.verify(session) == []
    # in time order along each chain, and really spread over the years
    for village_id in per_village:
        times = session.scalars(
            select(LedgerEntry.created_at)
            .where(LedgerEntry.village_id == village_id)
            .order_by(LedgerEntry.seq)
        ).all()
        assert times == sorted(times)
    months = {totals.month_of(at) for at in session.scalars(select(LedgerEntry.created_at))}
    assert len(months) >= 20


def test_the_same_plan_makes_the_same_history(session):
    plan = generator.CountyPlan(villages=1, households=5, entries=60, years=1, wishes=0, code_prefix="x")
    with unit_of_work() as s:
        generator.generate_village(s, plan, 0, lambda n: None)
    first = session.scalars(select(LedgerEntry.points).order_by(LedgerEntry.seq)).all()
    again = generator.CountyPlan(
        villages=1, households=5, entries=60, years=1, wishes=0, code_prefix="y", end=plan.end
    )
    with unit_of_work() as s:
        village_id = generator.generate_village(s, again, 0, lambda n: None)
    second = session.scalars(
        select(LedgerEntry.points).where(LedgerEntry.village_id == village_id).order_by(LedgerEntry.seq)
    ).all()
    assert first == second and len(first) == 60
