"""The rule catalogue pages (积分细则): everyone who reads the ledger sees it grouped by category; only the
leader (组长) creates, edits, retires and brings rules back, or loads the Adao sample catalogue. Editing never
changes past entries. Another village's rule answers 404."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, LedgerEntry, Rule
from lovemart.services import points
from lovemart.services.rules import ADAO_RULES
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule

NOTE = "修改或停用细则，不会改变已经记入的积分"


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        ids["labour"] = make_rule(ids["a"], "义务劳动（半天）", "volunteer", 5)
        ids["litter"] = make_rule(ids["a"], "乱倒垃圾", "deduction", -5, repeat_points=(-5, -10, -20))
        ids["honour"] = make_rule(ids["a"], "评为“五好家庭”", "honour", 50, requires_approval=True)
        ids["b_rule"] = make_rule(ids["b"], "b村细则", "collective", 2)
        return ids


@pytest.fixture
def login(cached_login):
    return cached_login


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def errors(html: str) -> list[str]:
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)


def rule_form(**overrides) -> dict:
    return {
        "name": "参加秸秆禁烧宣传",
        "category": "collective",
        "points": "3",
        "description": "村委会组织",
        "cap_per_month": "9",
        "repeat_points": "",
        **overrides,
    }


def test_catalogue_is_grouped_by_category_for_every_reader(app, login, ids):
    for username in ("a-admin", "a-supervisor", "a-leader", "county"):
        html = login(username).get("/rules/").get_data(as_text=True)
        assert "a村 · 积分细则" in html, username
        assert NOTE in html
        positions = [
            html.index(label) for label in ("集体活动", "义务劳动", "荣誉表彰", "扣分项") if label in html
        ]
        assert len(positions) == 3 and positions == sorted(positions)  # catalogue order; empty ones left out
        assert "义务劳动（半天）" in html and "+5 分" in html
        assert "同月累犯：-5 / -10 / -20" in html and "需监督员审核" in html
        assert "b村细则" not in html
    assert "新增细则" in login("a-leader").get("/rules/").get_data(as_text=True)
    assert "新增细则" not in login("a-admin").get("/rules/").get_data(as_text=True)


def test_leader_creates_a_rule_with_an_audit_row(app, login, ids):
    leader = login("a-leader")
    response = leader.post("/rules/new", data=rule_form(requires_approval="y"))
    assert response.status_code == 302 and response.headers["Location"] == "/rules/"
    assert "已新增细则“参加秸秆禁烧宣传”" in leader.get("/rules/").get_data(as_text=True)
    with fresh_session(app) as session:
        rule = session.scalar(select(Rule).where(Rule.name == "参加秸秆禁烧宣传"))
        assert (rule.village_id, rule.category, rule.points, rule.cap_per_month) == (
            ids["a"],
            "collective",
            3,
            9,
        )
        assert (rule.requires_approval, rule.allow_negative, rule.active) == (True, False, True)
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.tag == "points:rule:create", AuditEvent.subject_id == rule.id)
        )
        assert event.actor_name == "a-leader" and event.data["after"]["points"] == 3


def test_a_deduction_with_escalation_accepts_chinese_commas(app, login, ids):
    response = login("a-leader").post(
        "/rules/new",
        data=rule_form(
            name="乱堆柴草",
            category="deduction",
            points="-5",
            cap_per_month="",
            repeat_points="-5，-10、-20",
            allow_negative="y",
        ),
    )
    assert response.status_code == 302
    with fresh_session(app) as session:
        rule = session.scalar(select(Rule).where(Rule.name == "乱堆柴草"))
        assert (rule.points, rule.repeat_points, rule.allow_negative) == (-5, [-5, -10, -20], True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"category": "deduction", "points": "5", "cap_per_month": ""},
            "扣分项的分值须为负数，其他类别须为正数。",
        ),
        ({"points": "-3", "cap_per_month": ""}, "扣分项的分值须为负数，其他类别须为正数。"),
        ({"cap_per_month": "2"}, "每月上限只用于加分项，且不能小于单次分值。"),
        ({"repeat_points": "-5,-10"}, "累犯加重只用于扣分项，各次分值须为负数。"),
        (
            {"category": "deduction", "points": "-5", "cap_per_month": "", "repeat_points": "-10,-20"},
            "累犯加重的第 1 次分值须与细则分值相同。",
        ),
        (
            {"category": "deduction", "points": "-5", "cap_per_month": "", "repeat_points": "五,十"},
            "请用逗号分隔各次分值，如 -5,-10,-20。",
        ),
        ({"allow_negative": "y"}, "只有扣分项可以允许扣成负分。"),
        ({"name": "义务劳动（半天）"}, "本村已有同名细则。"),
        ({"points": ""}, "请填写分值。"),
    ],
)
def test_refusals_are_shown_on_the_form_and_nothing_is_written(app, login, ids, overrides, message):
    with fresh_session(app) as session:
        before = session.query(Rule).count()
    response = login("a-leader").post("/rules/new", data=rule_form(**overrides))
    assert response.status_code == 200
    assert message in errors(response.get_data(as_text=True))
    with fresh_session(app) as session:
        assert session.query(Rule).count() == before


def test_editing_a_rule_keeps_past_entries_and_audits_before_and_after(app, login, ids):
    with app.app_context():
        household_id, _ = carded_household(ids["a"])
        with unit_of_work() as session:
            points.award(
                session, actor=None, village_id=ids["a"], household_id=household_id, rule_id=ids["labour"]
            )
    leader = login("a-leader")
    form_page = leader.get(f"/rules/{ids['labour']}/edit").get_data(as_text=True)
    assert 'value="义务劳动（半天）"' in form_page and "已经记入的积分保留当时的名称和分值" in form_page
    response = leader.post(
        f"/rules/{ids['labour']}/edit",
        data=rule_form(name="义务劳动（半日）", category="volunteer", points="8", cap_per_month=""),
    )
    assert response.status_code == 302
    assert "已记入的积分不变" in leader.get("/rules/").get_data(as_text=True)
    with fresh_session(app) as session:
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "award"))
        assert (entry.points, entry.rule_name) == (5, "义务劳动（半天）")
        assert session.get(Rule, ids["labour"]).points == 8
        event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "points:rule:update"))
        assert event.data["before"]["points"] == 5 and event.data["after"]["points"] == 8
        assert (
            event.data["before"]["name"] == "义务劳动（半天）"
            and event.data["after"]["name"] == "义务劳动（半日）"
        )
        assert "category" not in event.data["before"]  # only what changed


def test_edit_page_shows_escalation_as_typed(app, login, ids):
    html = login("a-leader").get(f"/rules/{ids['litter']}/edit").get_data(as_text=True)
    assert 'value="-5,-10,-20"' in html


def test_retire_and_bring_back(app, login, ids):
    leader = login("a-leader")
    response = leader.post(f"/rules/{ids['labour']}/active", data={"active": "0"})
    assert response.status_code == 302
    html = leader.get("/rules/").get_data(as_text=True)
    assert "已停用“义务劳动（半天）”：不能再按它记分，已记入的积分不变。" in html
    assert html.index("已停用的细则") < html.index("义务劳动（半天）</span>")
    with fresh_session(app) as session:
        assert session.get(Rule, ids["labour"]).active is False
        event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "points:rule:update"))
        assert event.data == {"before": {"active": True}, "after": {"active": False}}
    leader.post(f"/rules/{ids['labour']}/active", data={"active": "1"})
    with fresh_session(app) as session:
        assert session.get(Rule, ids["labour"]).active is True


def test_only_the_leader_writes_rules(app, login, ids):
    for username in ("a-admin", "a-supervisor", "county"):
        client = login(username)
        assert client.get("/rules/new").status_code == 403, username
        assert client.post("/rules/new", data=rule_form()).status_code == 403
        assert client.get(f"/rules/{ids['labour']}/edit").status_code == 403
        assert client.post(f"/rules/{ids['labour']}/active", data={"active": "0"}).status_code == 403
        assert client.post("/rules/seed").status_code == 403
    assert login("sysadmin").get("/rules/").status_code == 403
    assert app.test_client().get("/rules/").status_code == 302  # to the sign-in page
    with fresh_session(app) as session:
        assert session.get(Rule, ids["labour"]).active is True
        assert session.scalar(select(Rule).where(Rule.name == "参加秸秆禁烧宣传")) is None


def test_another_villages_rule_is_not_found(app, login, ids):
    leader = login("a-leader")
    assert leader.get(f"/rules/{ids['b_rule']}/edit").status_code == 404
    assert leader.post(f"/rules/{ids['b_rule']}/edit", data=rule_form()).status_code == 404
    assert leader.post(f"/rules/{ids['b_rule']}/active", data={"active": "0"}).status_code == 404
    with fresh_session(app) as session:
        rule = session.get(Rule, ids["b_rule"])
        assert (rule.name, rule.active) == ("b村细则", True)


def test_leader_loads_the_adao_sample_when_the_catalogue_is_empty(app, login, ids):
    leader = login("b-leader")
    with fresh_session(app) as session:
        session.delete(session.get(Rule, ids["b_rule"]))
        session.commit()
    html = leader.get("/rules/").get_data(as_text=True)
    assert "本村还没有积分细则。" in html and "载入啊道村示范细则" in html
    assert "载入啊道村示范细则" not in login("b-admin").get("/rules/").get_data(as_text=True)
    response = leader.post("/rules/seed")
    assert response.status_code == 302
    html = leader.get("/rules/").get_data(as_text=True)
    assert f"已载入 {len(ADAO_RULES)} 条示范细则" in html
    assert "评为“最美婆婆”" in html and "载入啊道村示范细则" not in html
    with fresh_session(app) as session:
        assert session.query(Rule).filter_by(village_id=ids["b"]).count() == len(ADAO_RULES)
        assert session.query(Rule).filter_by(village_id=ids["a"]).count() == 3
