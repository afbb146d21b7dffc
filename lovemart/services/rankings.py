"""The village's household ranking (积分排行): the households of one village ranked by the points they
earned less the points deducted over a period of local days, all of them or only the 党员户.

What counts is what the ledger holds (入账): awards and deductions made in the period, except a line
reversed (冲正) within the period, which counts for neither, as on the 红黑榜. Base points of a new card
and redemptions are not a household's merit and do not count. Every active household with a points
account is ranked, a household with nothing in the period too (at 0). Two queries' worth of work in one
statement: the period's sums per account, joined to the households.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session, aliased

from lovemart.models import Household, LedgerEntry, Member, PointsAccount, VillagerGroup
from lovemart.models.households import Relation
from lovemart.models.points import EntryKind
from lovemart.services.points import local_day_bounds


class Who(StrEnum):
    """Whose households a ranking or a 红黑榜 shows (the `who` query parameter)."""

    ALL = "all"
    PARTY = "party"

    @property
    def label(self):
        return _l("全部") if self is Who.ALL else _l("党员户")

    @classmethod
    def parse(cls, value: str | None) -> "Who":
        """The filter a query parameter names; anything unknown is 全部."""
        return cls(value) if value in {w.value for w in cls} else cls.ALL


@dataclass(frozen=True)
class RankRow:
    rank: int
    household_id: int
    number: str
    head: str
    group: str
    party: bool
    earned: int
    deducted: int

    @property
    def net(self) -> int:
        return self.earned - self.deducted


def _party_household(village_id: int):
    """SQL: whether the outer query's household has a member who is a party member (党员户)."""
    member = aliased(Member)
    return (
        exists()
        .where(
            member.village_id == village_id,
            member.household_id == Household.id,
            member.party_member.is_(True),
        )
        .correlate(Household)
    )


def household_ranking(
    session: Session, *, village_id: int, first: date, last: date, who: Who = Who.ALL
) -> list[RankRow]:
    """The active households of the village ranked by net points earned in the local days `first`..`last`
    (both included); ties share a rank (1, 1, 3). `who=Who.PARTY` ranks only the 党员户."""
    start, end = local_day_bounds(first, last)
    reversal = aliased(LedgerEntry)
    reversed_in_period = exists().where(
        reversal.village_id == village_id,
        reversal.reversal_of_id == LedgerEntry.id,
        reversal.created_at >= start,
        reversal.created_at < end,
    )
    award, deduction = EntryKind.AWARD.value, EntryKind.DEDUCTION.value
    flows = (
        select(
            LedgerEntry.account_id.label("account_id"),
            func.sum(case((LedgerEntry.kind == award, LedgerEntry.points), else_=0)).label("earned"),
            func.sum(case((LedgerEntry.kind == deduction, -LedgerEntry.points), else_=0)).label("deducted"),
        )
        .where(
            LedgerEntry.village_id == village_id,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            LedgerEntry.kind.in_((award, deduction)),
            ~reversed_in_period,
        )
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    party = _party_household(village_id)
    stmt = (
        select(
            Household.id,
            Household.number,
            Member.name,
            VillagerGroup.name,
            party.label("party"),
            func.coalesce(flows.c.earned, 0),
            func.coalesce(flows.c.deducted, 0),
        )
        .select_from(PointsAccount)
        .join(Household, (Household.id == PointsAccount.household_id) & (Household.village_id == village_id))
        .join(
            VillagerGroup,
            (VillagerGroup.id == Household.group_id) & (VillagerGroup.village_id == village_id),
        )
        .outerjoin(
            Member,
            (Member.household_id == Household.id)
            & (Member.village_id == village_id)
            & (Member.relation == Relation.HEAD.value),
        )
        .outerjoin(flows, flows.c.account_id == PointsAccount.id)
        .where(PointsAccount.village_id == village_id, Household.active.is_(True))
    )
    if who is Who.PARTY:
        stmt = stmt.where(party)
    found = sorted(
        session.execute(stmt),
        key=lambda r: (-(r[5] - r[6]), -r[5], r[1], r[0]),
    )
    rows, rank, previous = [], 0, None
    for position, (household_id, number, head, group, is_party, earned, deducted) in enumerate(found, 1):
        if earned - deducted != previous:
            rank, previous = position, earned - deducted
        rows.append(
            RankRow(rank, household_id, number, head or "", group, bool(is_party), int(earned), int(deducted))
        )
    return rows
