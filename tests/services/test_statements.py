"""Household statements (积分明细): running balances from the stored `balance_after`, periods in village
time (Asia/Shanghai), paging, the passbook, the .xlsx export, and a page cost that does not grow with the
ledger."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from lovemart.authz import Role
from lovemart.db import unit_of_work
from lovemart.services import points, statements, users
from lovemart.services.errors import NotFound
from lovemart.services.statements import Period
from tests.factories import make_household, make_user
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def clock(monkeypatch):
    """Entries get the times given with `clock.set(...)`, one second apart after that."""

    class Clock:
        def __init__(self):
            self.ticks = itertools.count()
            self.start = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)

        def set(self, moment: datetime):
            self.start, self.ticks = moment, itertools.count()

        def __call__(self):
            return self.start + timedelta(seconds=next(self.ticks))

    clock = Clock()
    monkeypatch.setattr(points, "utcnow", clock)
    return clock


def award(village_id, household_id, rule_id, **kwargs):
    with unit_of_work() as session:
        return points.award(
            session,
            actor=kwargs.pop("actor", None),
            village_id=village_id,
            household_id=household_id,
            rule_id=rule_id,
            **kwargs,
        ).entry.id


@pytest.fixture
def book(session, clock):
    """A household with entries in October and November 2026 (village time), and one in another household."""
    village_id = points_village()
    make_user("clerk", Role.ADMIN, "a")
    clerk = users.by_username(session, "clerk")
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    household_id, _ = carded_household(village_id, head="王大山")  # base 100 on 2026-10-20
    labour = make_rule(village_id, "义务劳动", "volunteer", 10)
    litter = make_rule(village_id, "乱倒垃圾", "deduction", -5)
    clock.set(datetime(2026, 10, 31, 15, 30, tzinfo=UTC))  # 2026-10-31 23:30 in Shanghai: October
    award(village_id, household_id, labour, note="十月最后一天", actor=clerk)
    clock.set(datetime(2026, 10, 31, 16, 30, tzinfo=UTC))  # 2026-11-01 00:30 in Shanghai: November
    wrong = award(village_id, household_id, labour, note="十一月第一天", actor=clerk)
    clock.set(datetime(2026, 11, 10, 3, 0, tzinfo=UTC))
    award(village_id, household_id, litter)
    with unit_of_work() as s:
        points.reverse(s, actor=clerk, village_id=village_id, entry_id=wrong, reason="记错了")
    other, _ = carded_household(village_id, head="李小河")
    award(village_id, other, labour)
    return {"village": village_id, "household": household_id, "other": other, "wrong": wrong}


def test_statement_lists_entries_newest_first_with_running_balance(session, book):
    statement = statements.statement(
        session, village_id=book["village"], household_id=book["household"], period=Period()
    )
    lines = statement.lines.items
    assert [(line.kind, line.points, line.balance_after) for line in lines] == [
        ("reversal", -10, 105),
        ("deduction", -5, 115),
        ("award", 10, 120),
        ("award", 10, 110),
        ("base", 100, 100),
    ]
    assert (statement.opening, statement.closing, statement.lines.total) == (0, 105, 5)
    assert statement.account.balance == 105 and statement.household.head.name == "王大山"
    reversal, _, wrong, *_ = lines
    assert wrong.reversed_by_id == reversal.entry_id and reversal.reversal_of_id == wrong.entry_id
    assert (reversal.note, reversal.rule_name, reversal.recorded_by) == ("记错了", "义务劳动", "clerk")
    assert lines[1].recorded_by == "系统"  # recorded without a person (demo loader, CLI)


def test_periods_are_days_in_village_time(session, book):
    def period(start, end):
        return statements.statement(
            session, village_id=book["village"], household_id=book["household"], period=Period(start, end)
        )

    october = period(date(2026, 10, 1), date(2026, 10, 31))
    assert [line.note for line in october.lines.items] == ["十月最后一天", "发卡基础积分"]
    assert (october.opening, october.closing) == (0, 110)
    november = period(date(2026, 11, 1), date(2026, 11, 30))
    assert [line.note for line in november.lines.items] == ["记错了", "", "十一月第一天"]
    assert (november.opening, november.closing) == (110, 105)
    first_days = period(date(2026, 11, 1), date(2026, 11, 9))
    assert (first_days.opening, first_days.closing, first_days.lines.total) == (110, 120, 1)
    since = period(date(2026, 11, 2), None)
    assert (since.opening, since.closing, since.lines.total) == (120, 105, 2)
    until = period(None, date(2026, 10, 31))
    assert (until.opening, until.closing, until.lines.total) == (0, 110, 2)
    empty = period(date(2027, 1, 1), date(2027, 1, 31))
    assert (empty.opening, empty.closing, empty.lines.total) == (105, 105, 0)


def test_statement_pages(session, book):
    def page(number):
        return statements.statement(
            session,
            village_id=book["village"],
            household_id=book["household"],
            period=Period(),
            page=number,
            per_page=2,
        ).lines

    first, last = page(1), page(3)
    assert (first.total, first.pages, [line.points for line in first.items]) == (5, 3, [-10, -5])
    assert [line.points for line in last.items] == [100] and not last.has_next


def test_household_without_a_card_has_an_empty_statement(session, book):
    household_id = make_household(book["village"], head="孙九")
    statement = statements.statement(
        session, village_id=book["village"], household_id=household_id, period=Period()
    )
    assert not statement.has_account and statement.lines.items == [] and statement.closing == 0
    assert (
        statements.passbook(
            session, village_id=book["village"], household_id=household_id, period=Period()
        ).lines
        == []
    )


def test_another_villages_household_is_not_found(session, book):
    other_village = points_village("b")
    with pytest.raises(NotFound):
        statements.statement(
            session, village_id=other_village, household_id=book["household"], period=Period()
        )
    with pytest.raises(NotFound):
        statements.export_xlsx(
            session, village_id=other_village, household_id=book["household"], period=Period()
        )


def test_passbook_is_oldest_first_and_agrees_with_the_statement(session, book):
    passbook = statements.passbook(
        session,
        village_id=book["village"],
        household_id=book["household"],
        period=Period(date(2026, 11, 1), None),
    )
    assert [(line.points, line.balance_after) for line in passbook.lines] == [
        (10, 120),
        (-5, 115),
        (-10, 105),
    ]
    assert passbook.opening + sum(line.points for line in passbook.lines) == passbook.closing == 105


def test_export_is_an_xlsx_of_the_passbook(session, book):
    data = statements.export_xlsx(
        session,
        village_id=book["village"],
        household_id=book["household"],
        period=Period(date(2026, 11, 1), date(2026, 11, 30)),
    )
    rows = list(load_workbook(data, read_only=True).active.iter_rows(values_only=True))
    assert rows[0][0] == "a村 积分明细"
    assert rows[1][:4] == ("户号", rows[1][1], "户主", "王大山")
    assert rows[2][:2] == ("期间", "2026-11-01 至 2026-11-30")
    assert rows[3][:4] == ("期初余额", 110, "期末余额", 105)
    assert rows[5][:8] == ("时间", "类别", "细则", "说明", "积分", "余额", "记录人", "审核人")
    body = [row[:7] for row in rows[6:]]
    assert body == [
        ("2026-11-01 00:30", "加分", "义务劳动", "十一月第一天", 10, 120, "clerk"),
        ("2026-11-10 11:00", "扣分", "乱倒垃圾", None, -5, 115, "系统"),  # an empty note is an empty cell
        ("2026-11-10 11:00", "冲正", "义务劳动", "记错了", -10, 105, "clerk"),
    ]


def test_period_text():
    assert statements.period_text(Period()) == "全部"
    assert statements.period_text(Period(date(2026, 11, 1), date(2026, 11, 30))) == "2026-11-01 至 2026-11-30"
    assert statements.period_text(Period(date(2026, 11, 1), None)) == "2026-11-01 起"
    assert statements.period_text(Period(None, date(2026, 11, 30))) == "截至 2026-11-30"


def test_page_cost_does_not_grow_with_the_ledger(app, session, book, query_counter):
    def cost():
        with query_counter() as statements_run:
            statements.statement(
                session,
                village_id=book["village"],
                household_id=book["household"],
                period=Period(date(2026, 11, 1), date(2026, 12, 31)),
                per_page=3,
            )
        session.expire_all()
        return len(statements_run)

    before = cost()
    labour = make_rule(book["village"], "参加培训", "industry", 1)
    for _ in range(40):
        award(book["village"], book["household"], labour)
    assert cost() == before
