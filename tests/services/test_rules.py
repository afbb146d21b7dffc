"""The rule catalogue service: what a rule may be (signs, caps, escalation, negative balances), the audit row
of every change with what it was before and after, seeding, retiring, and village isolation."""

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, LedgerEntry, Rule
from lovemart.models.rules import RuleCategory
from lovemart.services import points, rules
from lovemart.services.errors import InvalidInput, NotFound, RuleRetired
from lovemart.services.rules import ADAO_RULES, RuleInput
from tests.points_helpers import carded_household, points_village


def create(village_id, data: RuleInput) -> int:
    with unit_of_work() as session:
        return rules.create(session, actor=None, village_id=village_id, data=data).id


def update(village_id, rule_id, data: RuleInput):
    with unit_of_work() as session:
        return rules.update(session, actor=None, village_id=village_id, rule_id=rule_id, data=data)


def audit_rows(session, tag):
    return session.scalars(select(AuditEvent).where(AuditEvent.tag == tag).order_by(AuditEvent.id)).all()


def test_create_stores_the_rule_and_an_audit_row_with_what_it_is(session):
    village_id = points_village()
    rule_id = create(village_id, RuleInput("  参加村组会议 ", "collective", 2, " 每月例会 ", cap_per_month=6))
    rule = session.get(Rule, rule_id)
    assert (rule.name, rule.description, rule.points, rule.cap_per_month, rule.active) == (
        "参加村组会议",
        "每月例会",
        2,
        6,
        True,
    )
    (event,) = audit_rows(session, "points:rule:create")
    assert (event.subject_type, event.subject_id, event.village_id, event.actor_name) == (
        "Rule",
        rule_id,
        village_id,
        "system",
    )
    assert event.data["after"] == {
        "name": "参加村组会议",
        "category": "collective",
        "points": 2,
        "description": "每月例会",
        "cap_per_month": 6,
        "repeat_points": None,
        "requires_approval": False,
        "allow_negative": False,
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (RuleInput(" ", "collective", 2), "name", "细则名称不能为空。"),
        (RuleInput("x", "gossip", 2), "category", "未知的细则类别。"),
        (RuleInput("x", "collective", 0), "points", "扣分项的分值须为负数，其他类别须为正数。"),
        (RuleInput("x", "collective", -2), "points", "扣分项的分值须为负数，其他类别须为正数。"),
        (RuleInput("x", "deduction", 5), "points", "扣分项的分值须为负数，其他类别须为正数。"),
        (
            RuleInput("x", "collective", 5, cap_per_month=4),
            "cap_per_month",
            "每月上限只用于加分项，且不能小于单次分值。",
        ),
        (
            RuleInput("x", "deduction", -5, cap_per_month=10),
            "cap_per_month",
            "每月上限只用于加分项，且不能小于单次分值。",
        ),
        (
            RuleInput("x", "collective", 5, repeat_points=(5, 10)),
            "repeat_points",
            "累犯加重只用于扣分项，各次分值须为负数。",
        ),
        (
            RuleInput("x", "deduction", -5, repeat_points=(-5, 10)),
            "repeat_points",
            "累犯加重只用于扣分项，各次分值须为负数。",
        ),
        (
            RuleInput("x", "deduction", -5, repeat_points=(-10, -20)),
            "repeat_points",
            "累犯加重的第 1 次分值须与细则分值相同。",
        ),
        (RuleInput("x", "honour", 5, allow_negative=True), "allow_negative", "只有扣分项可以允许扣成负分。"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(session, data, field, message):
    village_id = points_village()
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        rules.create(s, actor=None, village_id=village_id, data=data)
    assert (refused.value.field, refused.value.message) == (field, message)
    assert session.query(Rule).count() == 0
    assert audit_rows(session, "points:rule:create") == []


def test_names_are_unique_within_a_village_only(session):
    a, b = points_village("a"), points_village("b")
    first = create(a, RuleInput("义务劳动", "volunteer", 5))
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        rules.create(s, actor=None, village_id=a, data=RuleInput("义务劳动", "volunteer", 10))
    assert refused.value.message == "本村已有同名细则。"
    create(b, RuleInput("义务劳动", "volunteer", 10))
    update(a, first, RuleInput("义务劳动", "volunteer", 8))  # keeping its own name is fine


def test_update_audits_only_what_changed_before_and_after(session):
    village_id = points_village()
    rule_id = create(village_id, RuleInput("乱倒垃圾", "deduction", -5, repeat_points=(-5, -10)))
    update(
        village_id,
        rule_id,
        RuleInput("乱倒垃圾", "deduction", -5, "再犯加倍", repeat_points=(-5, -10, -20), allow_negative=True),
    )
    (event,) = audit_rows(session, "points:rule:update")
    assert event.data == {
        "before": {"description": "", "repeat_points": [-5, -10], "allow_negative": False},
        "after": {"description": "再犯加倍", "repeat_points": [-5, -10, -20], "allow_negative": True},
    }
    assert session.get(Rule, rule_id).repeat_points == [-5, -10, -20]


def test_editing_never_changes_past_entries_or_balances(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = create(village_id, RuleInput("义务劳动", "volunteer", 10))
    with unit_of_work() as s:
        points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id)
    update(village_id, rule_id, RuleInput("义务劳动（全天）", "volunteer", 20))
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "award"))
    assert (entry.points, entry.rule_name, entry.balance_after) == (10, "义务劳动", 110)
    assert points.verify(session) == []


def test_retire_and_reactivate_are_audited_and_retired_rules_cannot_be_used(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = create(village_id, RuleInput("义务劳动", "volunteer", 10))
    with unit_of_work() as s:
        rules.set_active(s, actor=None, village_id=village_id, rule_id=rule_id, active=False)
    with pytest.raises(RuleRetired) as refused, unit_of_work() as s:
        points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id)
    assert refused.value.message == "积分细则“义务劳动”已停用。"
    with unit_of_work() as s:
        rules.set_active(s, actor=None, village_id=village_id, rule_id=rule_id, active=True)
        points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id)
    events = audit_rows(session, "points:rule:update")
    assert [e.data for e in events] == [
        {"before": {"active": True}, "after": {"active": False}},
        {"before": {"active": False}, "after": {"active": True}},
    ]


def test_catalogue_is_in_category_order_and_can_leave_out_retired(session):
    village_id = points_village()
    retired = create(village_id, RuleInput("旧规定", "collective", 1))
    for data in (
        RuleInput("扣分", "deduction", -1),
        RuleInput("环境", "environment", 1),
        RuleInput("会议", "collective", 2),
    ):
        create(village_id, data)
    with unit_of_work() as s:
        rules.set_active(s, actor=None, village_id=village_id, rule_id=retired, active=False)
    everything = rules.catalogue(session, village_id=village_id)
    assert [r.name for r in everything] == ["环境", "会议", "旧规定", "扣分"]
    assert [r.name for r in rules.catalogue(session, village_id=village_id, include_retired=False)] == [
        "环境",
        "会议",
        "扣分",
    ]


def test_seed_loads_the_adao_catalogue_once(session):
    village_id = points_village()
    with unit_of_work() as s:
        added = rules.seed(s, actor=None, village_id=village_id)
    assert len(added) == len(ADAO_RULES)
    categories = {r.category for r in rules.catalogue(session, village_id=village_id)}
    assert categories == {c.value for c in RuleCategory}
    assert len(audit_rows(session, "points:rule:create")) == len(ADAO_RULES)
    with unit_of_work() as s:
        assert rules.seed(s, actor=None, village_id=village_id) == []
    names = [r.name for r in rules.catalogue(session, village_id=village_id)]
    assert "评为“五好家庭”" in names and "评为“最美婆婆”" in names


def test_another_villages_rule_is_not_found(session):
    a, b = points_village("a"), points_village("b")
    rule_id = create(b, RuleInput("义务劳动", "volunteer", 5))
    with pytest.raises(NotFound):
        rules.get(session, village_id=a, rule_id=rule_id)
    with pytest.raises(NotFound), unit_of_work() as s:
        rules.update(s, actor=None, village_id=a, rule_id=rule_id, data=RuleInput("改名", "volunteer", 5))
    with pytest.raises(NotFound), unit_of_work() as s:
        rules.set_active(s, actor=None, village_id=a, rule_id=rule_id, active=False)
    rule = session.get(Rule, rule_id)
    assert (rule.name, rule.active) == ("义务劳动", True)
