"""The rule catalogue (积分细则): seed, create, edit, retire. Changing a rule never touches past entries:
each ledger entry keeps its own points and the rule's name as they were."""

from dataclasses import asdict, dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.models import Rule
from lovemart.models.rules import RuleCategory
from lovemart.services import audit
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class RuleInput:
    name: str
    category: str
    points: int
    description: str = ""
    cap_per_month: int | None = None
    repeat_points: tuple[int, ...] | None = None
    requires_approval: bool = False
    allow_negative: bool = False


#: The Adao catalogue: earning categories from the report, with point values a village can edit.
ADAO_RULES = (
    RuleInput("五净一规范检查达标", "environment", 10, "月度入户检查六项全部达标", cap_per_month=10),
    RuleInput("庭院美化、门前三包落实", "environment", 5, "", cap_per_month=10),
    RuleInput("孝敬老人、赡养父母", "family_virtue", 10, "经村民小组核实", requires_approval=True),
    RuleInput("邻里互助、热心助人", "family_virtue", 5, "", cap_per_month=20),
    RuleInput("红白事简办、移风易俗", "family_virtue", 10, ""),
    RuleInput("发展种植养殖产业", "industry", 20, "新建果园、大棚或养殖达到规模", requires_approval=True),
    RuleInput("自主创业、带动就业", "industry", 30, "", requires_approval=True),
    RuleInput("参加技能培训", "industry", 5, "", cap_per_month=10),
    RuleInput("参加村组会议", "collective", 2, "", cap_per_month=6),
    RuleInput("参加村里文体活动", "collective", 3, "", cap_per_month=9),
    RuleInput("义务劳动（半天）", "volunteer", 5, ""),
    RuleInput("义务劳动（全天）", "volunteer", 10, ""),
    RuleInput("评为“五好家庭”", "honour", 50, "", requires_approval=True),
    RuleInput("评为“最美婆婆”", "honour", 30, "", requires_approval=True),
    RuleInput("评为“好媳妇”", "honour", 30, "", requires_approval=True),
    RuleInput("乱倒垃圾、污水乱排", "deduction", -5, "同月再犯加倍扣分", repeat_points=(-5, -10, -20)),
    RuleInput("柴草杂物乱堆乱放", "deduction", -5, ""),
    RuleInput("五净一规范检查不达标", "deduction", -5, "月度入户检查"),
    RuleInput("打架斗殴、家庭不和睦", "deduction", -20, "", requires_approval=True),
    RuleInput("违反村规民约", "deduction", -10, "", requires_approval=True),
)


def seed(session: Session, *, actor, village_id: int, rules=ADAO_RULES) -> list[Rule]:
    """Add the catalogue's rules the village does not have yet (by name)."""
    existing = set(session.scalars(select(Rule.name).where(Rule.village_id == village_id)))
    return [
        create(session, actor=actor, village_id=village_id, data=r) for r in rules if r.name not in existing
    ]


def create(session: Session, *, actor, village_id: int, data: RuleInput) -> Rule:
    data = _checked(session, village_id, data)
    rule = Rule(village_id=village_id, **_columns(data))
    session.add(rule)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.RULE_CREATE,
        subject=rule,
        village_id=village_id,
        data={"after": _columns(data)},
    )
    return rule


def update(session: Session, *, actor, village_id: int, rule_id: int, data: RuleInput) -> Rule:
    rule = get(session, village_id=village_id, rule_id=rule_id)
    data = _checked(session, village_id, data, rule_id=rule_id)
    before = _snapshot(rule)
    for column, value in _columns(data).items():
        setattr(rule, column, value)
    session.flush()
    _record_update(session, actor, rule, before)
    return rule


def set_active(session: Session, *, actor, village_id: int, rule_id: int, active: bool) -> Rule:
    """Retire a rule (no new entries under it) or bring it back."""
    rule = get(session, village_id=village_id, rule_id=rule_id)
    before = _snapshot(rule)
    rule.active = active
    session.flush()
    _record_update(session, actor, rule, before)
    return rule


def get(session: Session, *, village_id: int, rule_id: int) -> Rule:
    rule = session.scalar(select(Rule).where(Rule.id == rule_id, Rule.village_id == village_id))
    if rule is None:
        raise NotFound()
    return rule


def catalogue(session: Session, *, village_id: int, include_retired: bool = True) -> list[Rule]:
    """Rules in category order, then by name."""
    stmt = select(Rule).where(Rule.village_id == village_id)
    if not include_retired:
        stmt = stmt.where(Rule.active.is_(True))
    order = {c.value: i for i, c in enumerate(RuleCategory)}
    return sorted(session.scalars(stmt), key=lambda r: (order[r.category], not r.active, r.name))


def _checked(session: Session, village_id: int, data: RuleInput, rule_id: int | None = None) -> RuleInput:
    name = data.name.strip()
    if not name:
        raise InvalidInput(_l("细则名称不能为空。"), field="name")
    if data.category not in {c.value for c in RuleCategory}:
        raise InvalidInput(_l("未知的细则类别。"), field="category")
    deduction = data.category == RuleCategory.DEDUCTION
    if data.points == 0 or (data.points < 0) != deduction:
        raise InvalidInput(_l("扣分项的分值须为负数，其他类别须为正数。"), field="points")
    if data.cap_per_month is not None and (deduction or data.cap_per_month < data.points):
        raise InvalidInput(_l("每月上限只用于加分项，且不能小于单次分值。"), field="cap_per_month")
    if data.repeat_points and (not deduction or any(p >= 0 for p in data.repeat_points)):
        raise InvalidInput(_l("累犯加重只用于扣分项，各次分值须为负数。"), field="repeat_points")
    if data.repeat_points and data.repeat_points[0] != data.points:
        raise InvalidInput(_l("累犯加重的第 1 次分值须与细则分值相同。"), field="repeat_points")
    if data.allow_negative and not deduction:
        raise InvalidInput(_l("只有扣分项可以允许扣成负分。"), field="allow_negative")
    clash = session.scalar(select(Rule.id).where(Rule.village_id == village_id, Rule.name == name))
    if clash is not None and clash != rule_id:
        raise InvalidInput(_l("本村已有同名细则。"), field="name")
    return RuleInput(**{**asdict(data), "name": name, "description": data.description.strip()})


def _columns(data: RuleInput) -> dict:
    columns = asdict(data)
    columns["repeat_points"] = list(data.repeat_points) if data.repeat_points else None
    return columns


def _snapshot(rule: Rule) -> dict:
    return {column: getattr(rule, column) for column in (*_columns(RuleInput("", "", 0)).keys(), "active")}


def _record_update(session: Session, actor, rule: Rule, before: dict) -> None:
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.RULE_UPDATE,
        subject=rule,
        village_id=rule.village_id,
        data=audit.changes(before, _snapshot(rule)),
    )
