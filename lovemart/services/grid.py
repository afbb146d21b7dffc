"""The grid worker's round (网格员): the households of their villager groups, and the guard every writing
service applies to them.

A grid worker (`Role.GRID`) belongs to one village and is linked to one or more of its groups
(`UserGroup`). They inspect and propose points for the households of those groups only:
`ensure_household` is called by `inspections.record` and `points.award` themselves, so any path (page,
API, a future one) that reaches those services with a grid worker as the actor is refused for a household
outside their groups, not only the views. Their awards and deductions wait for the supervisor's approval
unless the village's `grid_awards_direct` setting is on (`counts_at_once`).

`round_rows` is the round list: the worker's households in group order, each with its latest inspection,
its points of this month and what waits for approval.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lovemart.authz import Role
from lovemart.db import utcnow
from lovemart.models import (
    Household,
    Inspection,
    LedgerEntry,
    PointsAccount,
    PointsClaim,
    UserGroup,
    Village,
    VillagerGroup,
)
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.services.errors import NotFound, OutsideGroups
from lovemart.services.totals import VILLAGE_TIMEZONE, month_of


def is_grid(actor) -> bool:
    return actor is not None and getattr(actor, "role", None) == Role.GRID.value


def group_ids(session: Session, *, village_id: int, user_id: int) -> list[int]:
    """The ids of the villager groups a grid worker is linked to, in the village's group order."""
    return list(
        session.scalars(
            select(UserGroup.group_id)
            .join(VillagerGroup, VillagerGroup.id == UserGroup.group_id)
            .where(UserGroup.user_id == user_id, UserGroup.village_id == village_id)
            .order_by(VillagerGroup.position, VillagerGroup.id)
        )
    )


def groups(session: Session, *, village_id: int, user_id: int) -> list[VillagerGroup]:
    return list(
        session.scalars(
            select(VillagerGroup)
            .join(UserGroup, UserGroup.group_id == VillagerGroup.id)
            .where(UserGroup.user_id == user_id, UserGroup.village_id == village_id)
            .order_by(VillagerGroup.position, VillagerGroup.id)
        )
    )


def ensure_household(session: Session, *, actor, village_id: int, household_id: int) -> None:
    """Nothing for anyone but a grid worker; for a grid worker, the household must be of their groups.

    :raise NotFound: not a household of the village. :raise OutsideGroups: not of their groups.
    """
    if not is_grid(actor):
        return
    if actor.village_id != village_id:
        raise NotFound()
    group_id = session.scalar(
        select(Household.group_id).where(Household.id == household_id, Household.village_id == village_id)
    )
    if group_id is None:
        raise NotFound()
    if group_id not in group_ids(session, village_id=village_id, user_id=actor.id):
        raise OutsideGroups()


def counts_at_once(session: Session, *, actor, village_id: int) -> bool:
    """Whether the actor's awards and deductions go to the ledger without the supervisor: always, except a
    grid worker's in a village that has not turned `grid_awards_direct` on."""
    if not is_grid(actor):
        return True
    return bool(session.scalar(select(Village.grid_awards_direct).where(Village.id == village_id)))


@dataclass(frozen=True)
class RoundRow:
    household: Household
    group: str
    #: The latest inspection (date, passed), if any.
    inspected_on: date | None
    passed: bool | None
    #: Points entered for the household this month (awards and deductions; redemptions are not scores).
    month_points: int
    month_entries: int
    #: Awards and deductions proposed this month, still waiting for the supervisor.
    pending_points: int
    pending_count: int
    #: Whether points can be recorded: the household holds a points account (has had a card).
    has_account: bool
    #: Whether it was inspected this calendar month.
    inspected_this_month: bool

    @property
    def scored_this_month(self) -> bool:
        return bool(self.month_entries or self.pending_count)

    @property
    def head(self) -> str:
        head = self.household.head
        return head.name if head else ""


def round_rows(session: Session, *, actor, village_id: int, now: datetime | None = None) -> list[RoundRow]:
    """The grid worker's active households, group by group in the village's order, then by number; five
    queries whatever the number of households."""
    ids = group_ids(session, village_id=village_id, user_id=actor.id)
    if not ids:
        return []
    now = now or utcnow()
    month = month_of(now)
    month_start = datetime.combine(month, datetime.min.time(), VILLAGE_TIMEZONE)
    position = {group_id: index for index, group_id in enumerate(ids)}
    found = list(
        session.scalars(
            select(Household)
            .where(
                Household.village_id == village_id,
                Household.group_id.in_(ids),
                Household.active.is_(True),
            )
            .options(selectinload(Household.members), selectinload(Household.group))
        )
    )
    found.sort(key=lambda h: (position[h.group_id], h.number))
    household_ids = [h.id for h in found]
    accounts = dict(
        session.execute(
            select(PointsAccount.household_id, PointsAccount.id).where(
                PointsAccount.village_id == village_id, PointsAccount.household_id.in_(household_ids)
            )
        ).all()
    )
    latest = _latest_inspections(session, village_id, household_ids)
    month_points = {
        account_id: (total, count)
        for account_id, total, count in session.execute(
            select(LedgerEntry.account_id, func.sum(LedgerEntry.points), func.count())
            .where(
                LedgerEntry.village_id == village_id,
                LedgerEntry.account_id.in_(list(accounts.values())),
                LedgerEntry.created_at >= month_start,
                LedgerEntry.kind.in_((EntryKind.AWARD.value, EntryKind.DEDUCTION.value)),
            )
            .group_by(LedgerEntry.account_id)
        )
    }
    pending = {
        account_id: (total, count)
        for account_id, total, count in session.execute(
            select(PointsClaim.account_id, func.sum(PointsClaim.points), func.count())
            .where(
                PointsClaim.village_id == village_id,
                PointsClaim.account_id.in_(list(accounts.values())),
                PointsClaim.status == ClaimStatus.PENDING.value,
                PointsClaim.from_villager.is_(False),
            )
            .group_by(PointsClaim.account_id)
        )
    }
    rows = []
    for household in found:
        account_id = accounts.get(household.id)
        inspection = latest.get(household.id)
        waiting = pending.get(account_id, (0, 0))
        entered = month_points.get(account_id, (0, 0))
        rows.append(
            RoundRow(
                household=household,
                group=household.group.name,
                inspected_on=inspection[0] if inspection else None,
                passed=inspection[1] if inspection else None,
                month_points=int(entered[0] or 0),
                month_entries=int(entered[1]),
                pending_points=int(waiting[0] or 0),
                pending_count=int(waiting[1]),
                has_account=account_id is not None,
                inspected_this_month=bool(inspection and inspection[0] >= month),
            )
        )
    return rows


def round_household(session: Session, *, actor, village_id: int, household_id: int) -> Household:
    """One household of the worker's round, for its forms. :raise NotFound, OutsideGroups:"""
    ensure_household(session, actor=actor, village_id=village_id, household_id=household_id)
    household = session.scalar(
        select(Household)
        .where(Household.id == household_id, Household.village_id == village_id)
        .options(selectinload(Household.members), selectinload(Household.group))
    )
    if household is None:
        raise NotFound()
    return household


def _latest_inspections(session: Session, village_id: int, household_ids: list[int]) -> dict:
    """(date, passed) of each household's latest inspection (newest date, then newest record)."""
    ranked = (
        select(
            Inspection.household_id,
            Inspection.inspected_on,
            Inspection.passed,
            func.row_number()
            .over(
                partition_by=Inspection.household_id,
                order_by=(Inspection.inspected_on.desc(), Inspection.id.desc()),
            )
            .label("rank"),
        )
        .where(Inspection.village_id == village_id, Inspection.household_id.in_(household_ids))
        .subquery()
    )
    return {
        row.household_id: (row.inspected_on, row.passed)
        for row in session.execute(select(ranked).where(ranked.c.rank == 1))
    }
