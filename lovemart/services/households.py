"""Register, edit and move households and their members; search the registry."""

from dataclasses import asdict, dataclass, replace

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.orm import Session, selectinload

from lovemart.db import utcnow
from lovemart.models import Household, HouseholdStatus, Member, VillagerGroup
from lovemart.models.households import Gender, Relation
from lovemart.services import audit
from lovemart.services.audit import AuditTag
from lovemart.services.errors import DuplicateHouseholdNumber, InvalidInput, NotFound, UnknownGroup
from lovemart.services.paging import Page, paginate


@dataclass(frozen=True)
class HouseholdInput:
    number: str
    group_id: int
    address: str = ""
    phone: str = ""
    status: str = HouseholdStatus.GENERAL.value


@dataclass(frozen=True)
class MemberInput:
    name: str
    relation: str
    gender: str
    birth_year: int | None = None
    party_member: bool = False


@dataclass(frozen=True)
class HouseholdFilter:
    search: str = ""
    group_id: int | None = None
    status: str | None = None
    active: bool | None = True


def search(
    session: Session, *, village_id: int, filters: HouseholdFilter, page: int = 1, per_page: int = 30
) -> Page:
    """Households of one village matching a member's name, the number, address or phone."""
    stmt = (
        select(Household)
        .where(Household.village_id == village_id)
        .options(selectinload(Household.members), selectinload(Household.group))
        .order_by(Household.number)
    )
    if term := filters.search.strip():
        like = f"%{_escape_like(term)}%"
        stmt = stmt.where(
            or_(
                Household.number.like(like, escape="\\"),
                Household.address.like(like, escape="\\"),
                Household.phone.like(like, escape="\\"),
                Household.id.in_(
                    select(Member.household_id).where(
                        Member.village_id == village_id, Member.name.like(like, escape="\\")
                    )
                ),
            )
        )
    if filters.group_id is not None:
        stmt = stmt.where(Household.group_id == filters.group_id)
    if filters.status:
        stmt = stmt.where(Household.status == filters.status)
    if filters.active is not None:
        stmt = stmt.where(Household.active.is_(filters.active))
    return paginate(session, stmt, page=page, per_page=per_page)


def get(session: Session, *, village_id: int, household_id: int) -> Household:
    """:raise NotFound: for an unknown id or one of another village (the two look the same)."""
    household = session.scalar(
        select(Household)
        .where(Household.id == household_id, Household.village_id == village_id)
        .options(selectinload(Household.members), selectinload(Household.group))
    )
    if household is None:
        raise NotFound()
    return household


def create(
    session: Session, *, actor, village_id: int, data: HouseholdInput, members: list[MemberInput]
) -> Household:
    """A household with its members; exactly one of them must be the head (户主)."""
    data = _normalised(data)
    members = [replace(m, name=m.name.strip()) for m in members]
    _check_household(session, village_id=village_id, data=data)
    _check_members(members)
    household = Household(village_id=village_id, **asdict(data))
    session.add(household)
    session.flush()
    for position, member in enumerate(members):
        session.add(
            Member(village_id=village_id, household_id=household.id, position=position, **asdict(member))
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.HOUSEHOLD_CREATE,
        subject=household,
        village_id=village_id,
        data={"after": {**asdict(data), "members": [asdict(m) for m in members]}},
    )
    return household


def update(session: Session, *, actor, village_id: int, household_id: int, data: HouseholdInput) -> Household:
    household = get(session, village_id=village_id, household_id=household_id)
    data = _normalised(data)
    _check_household(session, village_id=village_id, data=data, household_id=household.id)
    before = _household_dict(household)
    for field, value in asdict(data).items():
        setattr(household, field, value)
    session.flush()
    _record_update(session, actor, household, before)
    return household


def set_active(session: Session, *, actor, village_id: int, household_id: int, active: bool) -> Household:
    """Move a household out (kept with its history, hidden from the active list) or back in."""
    household = get(session, village_id=village_id, household_id=household_id)
    before = _household_dict(household)
    household.active = active
    household.moved_out_at = None if active else utcnow()
    session.flush()
    _record_update(session, actor, household, before)
    return household


def add_member(session: Session, *, actor, village_id: int, household_id: int, member: MemberInput) -> Member:
    household = get(session, village_id=village_id, household_id=household_id)
    _check_members([*[_member_input(m) for m in household.members], member])
    row = Member(
        village_id=village_id,
        household_id=household.id,
        position=max((m.position for m in household.members), default=-1) + 1,
        **asdict(member),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.MEMBER_CREATE,
        subject=row,
        village_id=village_id,
        data={"household_id": household.id, "after": asdict(member)},
    )
    return row


def update_member(
    session: Session, *, actor, village_id: int, household_id: int, member_id: int, member: MemberInput
) -> Member:
    household = get(session, village_id=village_id, household_id=household_id)
    row = _member_of(household, member_id)
    _check_members([member if m.id == member_id else _member_input(m) for m in household.members])
    before = asdict(_member_input(row))
    for field, value in asdict(member).items():
        setattr(row, field, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.MEMBER_UPDATE,
        subject=row,
        village_id=village_id,
        data={"household_id": household.id, **audit.changes(before, asdict(member))},
    )
    return row


def remove_member(session: Session, *, actor, village_id: int, household_id: int, member_id: int) -> None:
    """Removing the head is refused: make another member the head first."""
    household = get(session, village_id=village_id, household_id=household_id)
    row = _member_of(household, member_id)
    if row.relation == Relation.HEAD:
        raise InvalidInput(_l("不能删除户主，请先将其他成员设为户主。"), field="member")
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.MEMBER_DELETE,
        subject=row,
        village_id=village_id,
        data={"household_id": household.id, "before": asdict(_member_input(row))},
    )
    session.delete(row)
    session.flush()
    session.expire(household, ["members"])


def party_household_ids(session: Session, *, village_id: int) -> set[int]:
    """The village's 党员户: the households (moved-out ones too) with at least one party member."""
    return set(
        session.scalars(
            select(Member.household_id)
            .where(Member.village_id == village_id, Member.party_member.is_(True))
            .distinct()
        )
    )


def group_by_name(session: Session, *, village_id: int) -> dict[str, VillagerGroup]:
    return {
        g.name: g
        for g in session.scalars(select(VillagerGroup).where(VillagerGroup.village_id == village_id))
    }


def check_household_shape(data: HouseholdInput) -> None:
    """The household's own fields, before the registry is consulted.

    :raise InvalidInput: for the first field that breaks a rule.
    """
    if problems := household_shape_problems(data):
        raise problems[0]


def household_shape_problems(data: HouseholdInput) -> list[InvalidInput]:
    """Every rule the household's own fields break, in field order; the roster import reports them all."""
    problems = []
    if not data.number:
        problems.append(InvalidInput(_l("户号不能为空。"), field="number"))
    if len(data.number) > Household.number.type.length:
        problems.append(InvalidInput(_l("户号最多 32 个字符。"), field="number"))
    if len(data.address) > Household.address.type.length:
        problems.append(InvalidInput(_l("住址最多 200 个字。"), field="address"))
    if data.status not in {s.value for s in HouseholdStatus}:
        problems.append(InvalidInput(_l("未知的户类别。"), field="status"))
    if data.phone and not _valid_phone(data.phone):
        problems.append(InvalidInput(_l("电话号码格式不正确。"), field="phone"))
    return problems


def _check_household(session: Session, *, village_id: int, data: HouseholdInput, household_id=None) -> None:
    check_household_shape(data)
    group = session.get(VillagerGroup, data.group_id)
    if group is None or group.village_id != village_id:
        raise UnknownGroup(name=str(data.group_id))
    clash = session.scalar(
        select(Household.id).where(Household.village_id == village_id, Household.number == data.number)
    )
    if clash is not None and clash != household_id:
        raise DuplicateHouseholdNumber(number=data.number)


def check_member(member: MemberInput) -> None:
    """One member's own fields.

    :raise InvalidInput: for the first field that breaks a rule.
    """
    if problems := member_problems(member):
        raise problems[0]


def member_problems(member: MemberInput) -> list[InvalidInput]:
    """Every rule one member's own fields break, in field order; the roster import reports them all."""
    problems = []
    if not member.name.strip():
        problems.append(InvalidInput(_l("成员姓名不能为空。"), field="name"))
    if len(member.name) > Member.name.type.length:
        problems.append(InvalidInput(_l("姓名最多 32 个字。"), field="name"))
    if member.relation not in {r.value for r in Relation}:
        problems.append(InvalidInput(_l("未知的与户主关系。"), field="relation"))
    if member.gender not in {g.value for g in Gender}:
        problems.append(InvalidInput(_l("性别只能是男或女。"), field="gender"))
    this_year = utcnow().year
    if member.birth_year is not None and not 1900 <= member.birth_year <= this_year:
        problems.append(
            InvalidInput(_l("出生年份须在 1900 到 %(year)d 之间。") % {"year": this_year}, field="birth_year")
        )
    return problems


def _check_members(members: list[MemberInput]) -> None:
    if not members:
        raise InvalidInput(_l("一户至少要有一名成员（户主）。"), field="members")
    for member in members:
        check_member(member)
    heads = sum(1 for m in members if m.relation == Relation.HEAD)
    if heads != 1:
        raise InvalidInput(_l("一户必须有且只有一名户主。"), field="relation")


def _normalised(data: HouseholdInput) -> HouseholdInput:
    return replace(data, number=data.number.strip(), address=data.address.strip(), phone=data.phone.strip())


def _valid_phone(phone: str) -> bool:
    digits = phone.replace("-", "").replace(" ", "")
    return digits.isdigit() and 7 <= len(digits) <= 15


def _member_of(household: Household, member_id: int) -> Member:
    row = next((m for m in household.members if m.id == member_id), None)
    if row is None:
        raise NotFound()
    return row


def _member_input(member: Member) -> MemberInput:
    return MemberInput(
        name=member.name,
        relation=member.relation,
        gender=member.gender,
        birth_year=member.birth_year,
        party_member=member.party_member,
    )


def _household_dict(household: Household) -> dict:
    return {
        "number": household.number,
        "group_id": household.group_id,
        "address": household.address,
        "phone": household.phone,
        "status": household.status,
        "active": household.active,
    }


def _record_update(session: Session, actor, household: Household, before: dict) -> None:
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.HOUSEHOLD_UPDATE,
        subject=household,
        village_id=household.village_id,
        data=audit.changes(before, _household_dict(household)),
    )


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class GroupSummary:
    name: str
    households: int
    people: int
    poor_households: int
    poor_people: int


def summary(session: Session, *, village_id: int) -> list[GroupSummary]:
    """Active households and people per group, with the poor (贫困户) among them; one query."""
    poor = Household.status == HouseholdStatus.POOR.value
    rows = session.execute(
        select(
            VillagerGroup.name,
            func.count(distinct(Household.id)),
            func.count(Member.id),
            func.count(distinct(case((poor, Household.id)))),
            func.count(case((poor, Member.id))),
        )
        .select_from(VillagerGroup)
        .outerjoin(Household, (Household.group_id == VillagerGroup.id) & Household.active.is_(True))
        .outerjoin(Member, Member.household_id == Household.id)
        .where(VillagerGroup.village_id == village_id)
        .group_by(VillagerGroup.id, VillagerGroup.name, VillagerGroup.position)
        .order_by(VillagerGroup.position)
    )
    return [GroupSummary(*row) for row in rows]
