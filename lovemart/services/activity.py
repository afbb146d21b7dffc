"""Who takes part and who has gone quiet (参与率, 冷清提醒): what county and township officers watch per
village, and what the supervisor follows up door to door.

- **Participation** over a period: of a village's households in the register, the share that earned points
  (an award), that redeemed, and that were inspected (五净一规范) in the period.
- **Quiet households**: households in the register, holding a points account, whose last ledger entry (of
  any kind) is older than the village's `quiet_days` (a setting, 60 by default). A household without a
  card has no entries to age; it shows on the register as without a card, not here.
- **Quiet villages**: a village with no redemption, or with no published notice, for the last month.
- **Quiet groups**: a villager group with a grid worker (网格员) in charge, where none of its grid workers has
  recorded anything for its households this calendar month (village time): no inspection, no ledger entry,
  no proposal waiting for approval. A group nobody is in charge of is not named (there is no one to ask).

Each figure is a grouped count over all the villages asked for: the number of statements is fixed,
whatever the number of villages.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lovemart.authz import Role
from lovemart.models import (
    Household,
    Inspection,
    LedgerEntry,
    Notice,
    PointsAccount,
    PointsClaim,
    User,
    UserGroup,
    Village,
    VillageMonth,
    VillagerGroup,
)
from lovemart.models.notices import NoticeStatus
from lovemart.models.points import EntryKind
from lovemart.services.points import household_labels, local_day_bounds
from lovemart.services.totals import VILLAGE_TIMEZONE, month_of

#: A village setting's bounds: shorter would flag every household between two monthly rounds.
QUIET_DAYS_MIN, QUIET_DAYS_MAX = 14, 365


@dataclass(frozen=True)
class Participation:
    """How many of a village's households in the register earned, redeemed and were inspected."""

    earned: int = 0
    redeemed: int = 0
    inspected: int = 0


@dataclass(frozen=True)
class QuietHousehold:
    household: str
    household_id: int
    #: The village-time day of the household's last entry.
    last_entry_on: date
    days: int


@dataclass
class VillageWarnings:
    village_id: int
    name: str
    quiet_days: int
    quiet_households: int = 0
    #: What is missing for the last month: 无兑换, 未公示.
    missing: list = field(default_factory=list)
    #: Groups whose grid workers recorded nothing this month (`QuietGroup.label`s).
    quiet_groups: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.quiet_households or self.missing or self.quiet_groups)


@dataclass(frozen=True)
class QuietGroup:
    village_id: int
    group_id: int
    group: str
    #: Display names of the group's grid workers.
    workers: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.group}（{'、'.join(self.workers)}）"


def participation(session: Session, village_ids, first: date, last: date) -> dict[int, Participation]:
    """Per village, for the local days `first`..`last`: two statements, grouped by village. The shares'
    denominator, the households in the register, is the reports' own count."""
    village_ids = list(village_ids)
    start, end = local_day_bounds(first, last)
    by_kind: dict[tuple[int, str], int] = {}
    for village_id, kind, count in session.execute(
        select(LedgerEntry.village_id, LedgerEntry.kind, func.count(func.distinct(LedgerEntry.account_id)))
        .join(PointsAccount, PointsAccount.id == LedgerEntry.account_id)
        .join(Household, Household.id == PointsAccount.household_id)
        .where(
            LedgerEntry.village_id.in_(village_ids),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
            LedgerEntry.kind.in_((EntryKind.AWARD.value, EntryKind.REDEMPTION.value)),
            Household.active.is_(True),
        )
        .group_by(LedgerEntry.village_id, LedgerEntry.kind)
    ):
        by_kind[village_id, kind] = count
    inspected = dict(
        session.execute(
            select(Inspection.village_id, func.count(func.distinct(Inspection.household_id)))
            .join(Household, Household.id == Inspection.household_id)
            .where(
                Inspection.village_id.in_(village_ids),
                Inspection.inspected_on.between(first, last),
                Household.active.is_(True),
            )
            .group_by(Inspection.village_id)
        ).all()
    )
    return {
        village_id: Participation(
            earned=by_kind.get((village_id, EntryKind.AWARD.value), 0),
            redeemed=by_kind.get((village_id, EntryKind.REDEMPTION.value), 0),
            inspected=inspected.get(village_id, 0),
        )
        for village_id in village_ids
    }


def quiet_households(session: Session, *, village_id: int, now: datetime) -> list[QuietHousehold]:
    """The village's quiet households, the longest quiet first."""
    village = session.get(Village, village_id)
    found = session.execute(_quiet_accounts({village_id: now - timedelta(days=village.quiet_days)})).all()
    labels = household_labels(session, village_id=village_id, account_ids={row.account_id for row in found})
    today = now.astimezone(VILLAGE_TIMEZONE).date()
    quiet = []
    for row in found:
        last_on = row.last_at.astimezone(VILLAGE_TIMEZONE).date()
        label = labels[row.account_id]
        quiet.append(QuietHousehold(str(label), label.household_id, last_on, (today - last_on).days))
    return sorted(quiet, key=lambda q: (q.last_entry_on, q.household))


def warnings(session: Session, village_ids, *, now: datetime) -> list[VillageWarnings]:
    """Per village that has something to warn about, in code order: how many households are quiet, and
    whether last month went without a redemption or without a published notice."""
    villages = session.scalars(
        select(Village).where(Village.id.in_(list(village_ids))).order_by(Village.code)
    )
    found = {v.id: VillageWarnings(v.id, v.name, v.quiet_days) for v in villages}
    if not found:
        return []
    quiet = _quiet_accounts({v: now - timedelta(days=w.quiet_days) for v, w in found.items()}).subquery()
    quiet_counts = dict(
        session.execute(select(quiet.c.village_id, func.count()).group_by(quiet.c.village_id)).all()
    )
    last_month = month_of(now.astimezone(VILLAGE_TIMEZONE).date().replace(day=1) - timedelta(days=1))
    redeemed = set(
        session.scalars(
            select(VillageMonth.village_id).where(
                VillageMonth.village_id.in_(found),
                VillageMonth.month == last_month,
                VillageMonth.redemption_count > 0,
            )
        )
    )
    published = set(
        session.scalars(
            select(Notice.village_id).where(
                Notice.village_id.in_(found),
                Notice.period_start == last_month,
                Notice.status == NoticeStatus.PUBLISHED.value,
            )
        )
    )
    groups_by_village: dict[int, list[str]] = {}
    for group in quiet_groups(session, list(found), now=now):
        groups_by_village.setdefault(group.village_id, []).append(group.label)
    for village_id, warning in found.items():
        warning.quiet_households = quiet_counts.get(village_id, 0)
        warning.quiet_groups = groups_by_village.get(village_id, [])
        if village_id not in redeemed:
            warning.missing.append(_l("%(month)s 无兑换", month=f"{last_month:%Y-%m}"))
        if village_id not in published:
            warning.missing.append(_l("%(month)s 未公示", month=f"{last_month:%Y-%m}"))
    return [warning for warning in found.values() if warning]


def quiet_groups(session: Session, village_ids, *, now: datetime) -> list[QuietGroup]:
    """The groups of these villages whose grid workers recorded nothing for them this calendar month, in
    the villages' group order; four statements whatever the number of villages."""
    village_ids = list(village_ids)
    month_start = datetime.combine(month_of(now), datetime.min.time(), VILLAGE_TIMEZONE)
    in_charge: dict[tuple[int, int], list[str]] = {}
    names: dict[int, tuple[int, str]] = {}
    for village_id, group_id, group_name, position, worker in session.execute(
        select(
            UserGroup.village_id,
            UserGroup.group_id,
            VillagerGroup.name,
            VillagerGroup.position,
            User.display_name,
        )
        .join(User, (User.id == UserGroup.user_id) & (User.village_id == UserGroup.village_id))
        .join(VillagerGroup, VillagerGroup.id == UserGroup.group_id)
        .where(
            UserGroup.village_id.in_(village_ids),
            VillagerGroup.village_id.in_(village_ids),
            User.role == Role.GRID.value,
            User.active.is_(True),
        )
        .order_by(UserGroup.village_id, VillagerGroup.position, VillagerGroup.id, User.display_name)
    ):
        in_charge.setdefault((village_id, group_id), []).append(worker)
        names[group_id] = (position, group_name)
    if not in_charge:
        return []
    worked = set()
    for model, household in (
        (Inspection, Inspection.household_id == Household.id),
        (
            LedgerEntry,
            (PointsAccount.id == LedgerEntry.account_id) & (Household.id == PointsAccount.household_id),
        ),
        (
            PointsClaim,
            (PointsAccount.id == PointsClaim.account_id) & (Household.id == PointsAccount.household_id),
        ),
    ):
        stmt = select(model.village_id, Household.group_id).distinct().select_from(model)
        if model is not Inspection:
            stmt = stmt.join(PointsAccount, PointsAccount.id == model.account_id)
        stmt = stmt.join(Household, household).join(
            UserGroup,
            (UserGroup.user_id == model.recorded_by_id)
            & (UserGroup.group_id == Household.group_id)
            & (UserGroup.village_id == model.village_id),
        )
        worked |= set(
            session.execute(
                stmt.where(
                    model.village_id.in_(village_ids),
                    Household.village_id.in_(village_ids),
                    model.created_at >= month_start,
                )
            ).all()
        )
    return [
        QuietGroup(village_id, group_id, names[group_id][1], tuple(workers))
        for (village_id, group_id), workers in in_charge.items()
        if (village_id, group_id) not in worked
    ]


def _quiet_accounts(cutoffs: dict[int, datetime]):
    """(village, account, time of its last entry) for the accounts of households in the register whose last
    entry is older than their village's cutoff."""
    last_at = func.max(LedgerEntry.created_at)
    return (
        select(LedgerEntry.village_id, LedgerEntry.account_id, last_at.label("last_at"))
        .join(PointsAccount, PointsAccount.id == LedgerEntry.account_id)
        .join(Household, Household.id == PointsAccount.household_id)
        .where(LedgerEntry.village_id.in_(list(cutoffs)), Household.active.is_(True))
        .group_by(LedgerEntry.village_id, LedgerEntry.account_id)
        .having(or_(*(and_(LedgerEntry.village_id == v, last_at < cutoff) for v, cutoff in cutoffs.items())))
    )
