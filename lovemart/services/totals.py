"""Per-village, per-month totals (`VillageMonth`): advanced by the writers of entries and donations in their
own transaction, read by reports, and recomputed from the books by `verify`.

Every writer holds the village's ledger book lock (`points.lock_book`) when it calls `add`, so the
update-then-insert below never races another writer of the same village.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from lovemart.models import Donation, LedgerEntry, VillageMonth

VILLAGE_TIMEZONE = ZoneInfo("Asia/Shanghai")

#: The columns `add` may advance, in the order `verify` reports them.
COUNTERS = (
    "entry_count",
    "base_points",
    "award_points",
    "deduction_points",
    "redemption_points",
    "reversal_points",
    "redemption_count",
    "donation_count",
    "donation_fen",
)


def month_of(moment: datetime | date) -> date:
    """The first day of the village-time month of a UTC moment, or of a (local) date."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(VILLAGE_TIMEZONE).date()
    return moment.replace(day=1)


def entry_deltas(kind: str, points: int) -> dict[str, int]:
    """What one ledger entry adds to its month."""
    deltas = {"entry_count": 1, f"{kind}_points": points}
    if kind == "redemption":
        deltas["redemption_count"] = 1
    return deltas


def add(session: Session, *, village_id: int, month: date, **deltas: int) -> None:
    """Advance the month's counters; the caller holds the village's book lock. (Core statements on the
    session's connection: the ORM's VillageMonth objects are only ever read.)"""
    connection = session.connection()
    values = {"village": village_id, "in_month": month} | {
        f"d_{name}": amount for name, amount in deltas.items()
    }
    if not connection.execute(_advance(tuple(sorted(deltas))), values).rowcount:
        connection.execute(
            _INSERT, {"village_id": village_id, "month": month} | dict.fromkeys(COUNTERS, 0) | deltas
        )


_months = VillageMonth.__table__
_INSERT = insert(_months)


@cache
def _advance(names: tuple[str, ...]):
    """The UPDATE that advances these counters (a handful of combinations, each built once)."""
    return (
        update(_months)
        .where(_months.c.village_id == bindparam("village"), _months.c.month == bindparam("in_month"))
        .values({name: _months.c[name] + bindparam(f"d_{name}") for name in names})
    )


def months(session: Session, *, village_ids, first: date, last: date) -> list[VillageMonth]:
    """The stored totals of the villages for the months from `first` to `last` (both month starts)."""
    return list(
        session.scalars(
            select(VillageMonth)
            .where(VillageMonth.village_id.in_(list(village_ids)), VillageMonth.month.between(first, last))
            .order_by(VillageMonth.village_id, VillageMonth.month)
        )
    )


@dataclass(frozen=True)
class MonthDiscrepancy:
    village_id: int
    month: date
    what: str


def verify(session: Session, *, village_ids: list[int] | None = None) -> list[MonthDiscrepancy]:
    """Recompute every month from the ledger entries and donations and compare with the stored totals."""
    expected: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    entries = select(LedgerEntry.village_id, LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.points)
    donations = select(Donation.village_id, Donation.received_on, Donation.amount_fen)
    stored = select(VillageMonth)
    if village_ids is not None:
        entries = entries.where(LedgerEntry.village_id.in_(village_ids))
        donations = donations.where(Donation.village_id.in_(village_ids))
        stored = stored.where(VillageMonth.village_id.in_(village_ids))
    for village_id, created_at, kind, points in session.execute(entries.execution_options(yield_per=5000)):
        row = expected[village_id, month_of(created_at)]
        for name, amount in entry_deltas(kind, points).items():
            row[name] += amount
    for village_id, received_on, amount_fen in session.execute(donations):
        row = expected[village_id, month_of(received_on)]
        row["donation_count"] += 1
        row["donation_fen"] += amount_fen or 0
    problems = []
    for month in session.scalars(stored):
        want = expected.pop((month.village_id, month.month), dict.fromkeys(COUNTERS, 0))
        problems.extend(
            MonthDiscrepancy(
                month.village_id, month.month, f"{name} stored {getattr(month, name)} ≠ {want[name]}"
            )
            for name in COUNTERS
            if getattr(month, name) != want[name]
        )
    problems.extend(
        MonthDiscrepancy(village_id, month, "no stored totals for a month with entries")
        for (village_id, month), want in sorted(expected.items())
        if any(want.values())
    )
    return problems
