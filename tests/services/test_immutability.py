"""The books are append-only in the database itself: UPDATE and DELETE of ledger entries, stock movements,
fund movements and audit rows are refused by triggers, through the ORM and through raw SQL alike, on SQLite
and PostgreSQL. Inserting (what the services do) still works."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, FundMovement, LedgerEntry, StockMovement
from lovemart.services import donations, points
from tests.points_helpers import carded_household, make_rule, points_village
from tests.shop_helpers import make_product

APPEND_ONLY = {
    "ledger_entries": LedgerEntry,
    "stock_movements": StockMovement,
    "fund_movements": FundMovement,
    "audit_events": AuditEvent,
}


@pytest.fixture
def books(session):
    village = points_village()
    household, _ = carded_household(village)
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    with unit_of_work() as s:
        points.award(s, actor=None, village_id=village, household_id=household, rule_id=rule)
    make_product(village, "大米", 30, stock=5)
    with unit_of_work() as s:
        fund = donations.create_fund(s, actor=None, village_id=village, name="资金", kind="social")
        donations.add_funding(s, actor=None, village_id=village, fund_id=fund.id, amount_fen=100, note="")
    return village


def snapshot(session, table: str) -> list:
    query = f"SELECT * FROM {table} ORDER BY id"  # noqa: S608 - table names from the test's own list
    return session.execute(text(query)).all()


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_raw_sql_cannot_change_or_remove_a_row(session, books, table):
    before = snapshot(session, table)
    assert before
    session.rollback()
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):  # noqa: S608 - our table names
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as s:
            s.execute(text(statement))
    assert snapshot(session, table) == before


@pytest.mark.parametrize("table", sorted(APPEND_ONLY))
def test_the_orm_cannot_change_or_remove_a_row(session, books, table):
    model = APPEND_ONLY[table]
    before = snapshot(session, table)
    session.rollback()
    column = {
        "ledger_entries": "note",
        "stock_movements": "note",
        "fund_movements": "note",
        "audit_events": "actor_name",
    }[table]
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as s:
        row = s.scalars(select(model).limit(1)).one()
        setattr(row, column, "改过了")
    with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as s:
        s.delete(s.scalars(select(model).limit(1)).one())
    assert snapshot(session, table) == before


def test_appending_still_works_and_the_books_verify(session, books):
    entries = len(snapshot(session, "ledger_entries"))
    household = session.scalar(select(LedgerEntry.account_id))
    session.rollback()
    with unit_of_work() as s:
        account = s.get(__import__("lovemart.models", fromlist=["PointsAccount"]).PointsAccount, household)
        points.append_entry(s, recorded_by_id=None, account=account, points=5, kind=points.EntryKind.AWARD)
    assert len(snapshot(session, "ledger_entries")) == entries + 1
    assert points.verify(session) == []
