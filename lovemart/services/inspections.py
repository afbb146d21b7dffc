"""五净一规范 inspections: record one or a whole group's round, and answer "may this household get a card?".

"Latest" always means the newest inspection date, then the newest record of that day, in every query here, so
a back-dated record never hides a later result.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lovemart.models import AuditEvent, Household, Inspection, LedgerEntry, PointsClaim, VillagerGroup
from lovemart.models.inspections import CHECKS
from lovemart.services import audit, grid, households, points
from lovemart.services.audit import AuditTag
from lovemart.services.errors import DomainError, HouseholdInactive, InvalidInput, NotFound, UnknownGroup

CHECK_COLUMNS = tuple(column for column, _ in CHECKS)


@dataclass(frozen=True)
class InspectionInput:
    inspected_on: date
    inspector: str
    checks: dict[str, bool]
    note: str = ""
    photo: str | None = None


@dataclass(frozen=True)
class RoundResult:
    """One household's result in a group round, with an optional rule to award or deduct at once."""

    household_id: int
    checks: dict[str, bool]
    rule_id: int | None = None
    note: str = ""


@dataclass
class RoundOutcome:
    inspections: list[Inspection] = field(default_factory=list)
    recorded: list = field(default_factory=list)
    #: True when the request key had been used already: nothing was written, this is the first result.
    replayed: bool = False

    @property
    def passed(self) -> int:
        return sum(1 for inspection in self.inspections if inspection.passed)


def today() -> date:
    """Today where the villages are (Asia/Shanghai): the default inspection date and the latest allowed."""
    return datetime.now(points.VILLAGE_TIMEZONE).date()


def record(
    session: Session,
    *,
    actor,
    village_id: int,
    household_id: int,
    data: InspectionInput,
    at: datetime | None = None,
) -> Inspection:
    """:raise NotFound, HouseholdInactive: :raise InvalidInput: future date, no inspector, a check missing.
    :raise OutsideGroups: a grid worker's household outside their villager groups."""
    grid.ensure_household(session, actor=actor, village_id=village_id, household_id=household_id)
    household = households.get(session, village_id=village_id, household_id=household_id)
    if not household.active:
        raise HouseholdInactive()
    checks = _checked(data)
    inspection = Inspection(
        village_id=village_id,
        household_id=household.id,
        inspected_on=data.inspected_on,
        inspector=data.inspector.strip(),
        passed=all(checks.values()),
        note=data.note.strip(),
        photo=data.photo,
        recorded_by_id=actor.id if actor is not None else None,
        **checks,
        **({"created_at": at} if at is not None else {}),
    )
    session.add(inspection)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.INSPECTION_RECORD,
        subject=inspection,
        village_id=village_id,
        data={"household_id": household.id, "passed": inspection.passed, "checks": checks},
        at=at,
    )
    return inspection


def record_round(
    session: Session,
    *,
    actor,
    village_id: int,
    group_id: int,
    inspected_on: date,
    inspector: str,
    results: list[RoundResult],
    request_key: str | None = None,
    at: datetime | None = None,
) -> RoundOutcome:
    """The monthly door-to-door check of one group, all in one transaction, with points where asked.

    A repeated `request_key` (a double click, a resent form) writes nothing and returns the first round's
    result. Rounds with a key are serialised per village on the ledger book's lock, so two copies of one
    request cannot both pass the check.

    :raise UnknownGroup: for a group of another village. :raise NotFound: for a household outside the group.
    :raise InvalidInput: naming the household, when its points cannot be awarded or deducted.
    """
    members = {h.id: h for h in group_households(session, village_id=village_id, group_id=group_id)}
    if not results:
        raise InvalidInput(_l("这个小组没有需要检查的农户。"))
    if request_key:
        points.lock_book(session, village_id)
        if done := _round_done(session, village_id=village_id, group_id=group_id, request_key=request_key):
            return done
    outcome = RoundOutcome()
    for result in results:
        household = members.get(result.household_id)
        if household is None:
            raise NotFound()
        outcome.inspections.append(
            record(
                session,
                actor=actor,
                village_id=village_id,
                household_id=result.household_id,
                data=InspectionInput(inspected_on, inspector, result.checks, result.note),
                at=at,
            )
        )
        if result.rule_id is not None:
            outcome.recorded.append(
                _round_points(session, actor, village_id, household, result, inspected_on, request_key, at)
            )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.INSPECTION_ROUND,
        subject=session.get(VillagerGroup, group_id),
        village_id=village_id,
        data={
            "request_key": request_key,
            "inspected_on": inspected_on.isoformat(),
            "inspections": [inspection.id for inspection in outcome.inspections],
            "passed": outcome.passed,
        },
        at=at,
    )
    return outcome


def _round_points(session, actor, village_id, household, result, inspected_on, request_key, at=None):
    """Award or deduct by the row's rule; a refusal names the household, so the whole round is understood."""
    try:
        return points.award(
            session,
            actor=actor,
            village_id=village_id,
            household_id=household.id,
            rule_id=result.rule_id,
            note=str(_l("五净一规范检查")) + f" {inspected_on.isoformat()}",
            request_key=f"{request_key}:{household.id}" if request_key else None,
            at=at,
        )
    except NotFound:
        raise
    except DomainError as error:
        who = household.head.name if household.head else household.number
        reason = str(_l("%(number)s 号 %(who)s 户：%(reason)s")) % {
            "number": household.number,
            "who": who,
            "reason": error.message,
        }
        raise InvalidInput(reason) from error


def _round_done(session: Session, *, village_id: int, group_id: int, request_key: str) -> RoundOutcome | None:
    """The outcome of an earlier round of this group sent with the same key, read back from its audit row."""
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.village_id == village_id,
            AuditEvent.tag == AuditTag.INSPECTION_ROUND.value,
            AuditEvent.subject_type == VillagerGroup.__name__,
            AuditEvent.subject_id == group_id,
        )
    )
    event = next((e for e in events if e.data.get("request_key") == request_key), None)
    if event is None:
        return None
    found = session.scalars(select(Inspection).where(Inspection.id.in_(event.data["inspections"])))
    by_id = {inspection.id: inspection for inspection in found}
    inspections = [by_id[i] for i in event.data["inspections"]]
    keys = [f"{request_key}:{inspection.household_id}" for inspection in inspections]
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.request_key.in_(keys)))
    claims = session.scalars(select(PointsClaim).where(PointsClaim.request_key.in_(keys)))
    recorded = [points.Recorded(entry=e) for e in entries] + [points.Recorded(claim=c) for c in claims]
    return RoundOutcome(inspections=inspections, recorded=recorded, replayed=True)


def latest(session: Session, *, village_id: int, household_id: int) -> Inspection | None:
    return session.scalar(
        select(Inspection)
        .where(Inspection.village_id == village_id, Inspection.household_id == household_id)
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        .limit(1)
    )


def history(session: Session, *, village_id: int, household_id: int) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(Inspection.village_id == village_id, Inspection.household_id == household_id)
            .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
        )
    )


def latest_by_household(session: Session, *, village_id: int) -> dict[int, Inspection]:
    """Each household's latest inspection (ordered as `latest` does), in one query whatever the size."""
    ranked = (
        select(
            Inspection.id,
            func.row_number()
            .over(
                partition_by=Inspection.household_id,
                order_by=(Inspection.inspected_on.desc(), Inspection.id.desc()),
            )
            .label("rank"),
        )
        .where(Inspection.village_id == village_id)
        .subquery()
    )
    rows = session.scalars(
        select(Inspection).join(ranked, Inspection.id == ranked.c.id).where(ranked.c.rank == 1)
    )
    return {inspection.household_id: inspection for inspection in rows}


def not_passing(session: Session, *, village_id: int) -> list[tuple[Household, Inspection | None]]:
    """Active households whose latest inspection failed, or that were never inspected."""
    latest_rows = latest_by_household(session, village_id=village_id)
    result = []
    for household in group_households(session, village_id=village_id, group_id=None):
        inspection = latest_rows.get(household.id)
        if inspection is None or not inspection.passed:
            result.append((household, inspection))
    return result


def group_households(session: Session, *, village_id: int, group_id: int | None) -> list[Household]:
    stmt = (
        select(Household)
        .where(Household.village_id == village_id, Household.active.is_(True))
        .options(selectinload(Household.members), selectinload(Household.group))
    )
    if group_id is not None:
        if not any(
            g.id == group_id for g in households.group_by_name(session, village_id=village_id).values()
        ):
            raise UnknownGroup(name=str(group_id))
        stmt = stmt.where(Household.group_id == group_id)
    return list(session.scalars(stmt.order_by(Household.number)))


def _checked(data: InspectionInput) -> dict[str, bool]:
    if data.inspected_on > today():
        raise InvalidInput(_l("检查日期不能晚于今天。"), field="inspected_on")
    if not data.inspector.strip():
        raise InvalidInput(_l("请填写检查人。"), field="inspector")
    if set(data.checks) != set(CHECK_COLUMNS):
        raise InvalidInput(_l("六项检查必须逐项填写。"), field="checks")
    return {column: bool(data.checks[column]) for column in CHECK_COLUMNS}
