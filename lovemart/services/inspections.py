"""五净一规范 inspections: record one or a whole group's round, and answer "may this household get a card?"."""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart.models import Household, Inspection
from lovemart.models.inspections import CHECKS
from lovemart.services import audit, households, points
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput, NotFound, UnknownGroup

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


def record(session: Session, *, actor, village_id: int, household_id: int, data: InspectionInput) -> Inspection:
    household = households.get(session, village_id=village_id, household_id=household_id)
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
    )
    session.add(inspection)
    session.flush()
    audit.record(
        session, actor=actor, tag=AuditTag.INSPECTION_RECORD, subject=inspection, village_id=village_id,
        data={"household_id": household.id, "passed": inspection.passed, "checks": checks},
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
) -> RoundOutcome:
    """The monthly door-to-door check of one group, all in one transaction, with points where asked."""
    members = {h.id for h in group_households(session, village_id=village_id, group_id=group_id)}
    outcome = RoundOutcome()
    for result in results:
        if result.household_id not in members:
            raise NotFound()
        outcome.inspections.append(
            record(
                session, actor=actor, village_id=village_id, household_id=result.household_id,
                data=InspectionInput(inspected_on, inspector, result.checks, result.note),
            )
        )
        if result.rule_id is not None:
            outcome.recorded.append(
                points.award(
                    session, actor=actor, village_id=village_id, household_id=result.household_id,
                    rule_id=result.rule_id, note=str(_l("五净一规范检查")) + f" {inspected_on.isoformat()}",
                    request_key=f"{request_key}:{result.household_id}" if request_key else None,
                )
            )
    return outcome


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
    """Each household's latest inspection, in two queries whatever the village's size."""
    newest = (
        select(Inspection.household_id, func.max(Inspection.id).label("id"))
        .where(Inspection.village_id == village_id)
        .group_by(Inspection.household_id)
        .subquery()
    )
    rows = session.scalars(select(Inspection).join(newest, Inspection.id == newest.c.id))
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
    stmt = select(Household).where(Household.village_id == village_id, Household.active.is_(True))
    if group_id is not None:
        if not any(g.id == group_id for g in households.group_by_name(session, village_id=village_id).values()):
            raise UnknownGroup(name=str(group_id))
        stmt = stmt.where(Household.group_id == group_id)
    return list(session.scalars(stmt.order_by(Household.number)))


def _checked(data: InspectionInput) -> dict[str, bool]:
    if not data.inspector.strip():
        raise InvalidInput(_l("请填写检查人。"), field="inspector")
    if set(data.checks) != set(CHECK_COLUMNS):
        raise InvalidInput(_l("六项检查必须逐项填写。"), field="checks")
    return {column: bool(data.checks[column]) for column in CHECK_COLUMNS}
