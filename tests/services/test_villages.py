"""Counties, townships and villages: creation rules, settings with an audited before/after, and lookups."""

import pytest
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, County, Township, Village, VillagerGroup
from lovemart.services import users, villages
from lovemart.services.errors import InvalidInput, NotFound, VillageCodeTaken
from lovemart.services.villages import VillageSettings
from tests.factories import make_user, make_village


def create(
    code="adao",
    groups=("啊道", "富庄", "杜河沟"),
    settings=None,
    county="yichuan",
    township="英旺乡",
    actor=None,
    name="啊道村",
):
    with unit_of_work() as s:
        return villages.create_village(
            s,
            actor=actor,
            county_code=county,
            county_name="宜川县",
            township_name=township,
            code=code,
            name=name,
            groups=list(groups),
            settings=settings,
        ).id


def counts(session) -> tuple:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (County, Township, Village, VillagerGroup, AuditEvent)
    )


def test_create_village_with_groups_defaults_and_audit(session):
    village_id = create(code="  AdAo ", groups=[" 啊道 ", "", "富庄", "  ", "杜河沟"], name=" 啊道村 ")
    village = session.get(Village, village_id)
    assert (village.code, village.name) == ("adao", "啊道村")
    assert (village.base_points, village.yuan_per_point, village.card_prefix) == (100, 3, "ADAO")
    assert (
        village.township.name == "英旺乡"
        and village.county.code == "yichuan"
        and village.county.name == "宜川县"
    )
    assert [(g.name, g.position) for g in villages.groups(session, village_id)] == [
        ("啊道", 0),
        ("富庄", 1),
        ("杜河沟", 2),
    ]
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "village:village:create"))
    assert event.subject_id == village_id and event.village_id == village_id and event.actor_name == "system"
    assert event.data == {
        "after": {
            "code": "adao",
            "name": "啊道村",
            "groups": ["啊道", "富庄", "杜河沟"],
            "base_points": 100,
            "yuan_per_point": 3,
            "card_prefix": "ADAO",
            "credit_after_notice": False,
            "notice_days": 7,
            "quiet_days": 60,
            "offline_cap_points": 100,
            "grid_awards_direct": False,
        }
    }


def test_create_village_with_settings_and_shared_county_and_township(session):
    first = create("adao")
    second = create("xialiyuan", groups=["下里垣"], settings=VillageSettings(80, 2, "XLY"), name="下里垣村")
    third = create("hexi", groups=["一组"], township="集义镇", name="河西村")
    assert session.scalar(select(func.count(County.id))) == 1
    assert session.scalar(select(func.count(Township.id))) == 2
    assert session.get(Village, first).township_id == session.get(Village, second).township_id
    assert session.get(Village, third).township.name == "集义镇"
    village = session.get(Village, second)
    assert (village.base_points, village.yuan_per_point, village.card_prefix) == (80, 2, "XLY")
    county_id = village.township.county_id
    assert villages.county_village_ids(session, county_id) == [first, third, second]  # by code
    assert [v.code for v in villages.many(session, [second, first])] == ["adao", "xialiyuan"]
    assert [v.code for v in villages.all_villages(session)] == ["adao", "hexi", "xialiyuan"]


def test_create_village_refusals_write_nothing(session):
    create("adao")
    before = counts(session)
    cases = [
        ({"code": "adao"}, VillageCodeTaken, "村代码 adao 已被使用。", None),
        ({"code": " ADAO "}, VillageCodeTaken, "村代码 adao 已被使用。", None),
        ({"code": ""}, InvalidInput, "村代码只能包含字母、数字和连字符。", "code"),
        ({"code": "a b"}, InvalidInput, "村代码只能包含字母、数字和连字符。", "code"),
        ({"code": "a/b"}, InvalidInput, "村代码只能包含字母、数字和连字符。", "code"),
        ({"groups": []}, InvalidInput, "至少需要一个村民小组。", "groups"),
        ({"groups": [" ", ""]}, InvalidInput, "至少需要一个村民小组。", "groups"),
        ({"groups": ["一组", " 一组 "]}, InvalidInput, "村民小组名称不能重复。", "groups"),
        ({"settings": VillageSettings(base_points=-1)}, InvalidInput, "基础积分不能为负数。", "base_points"),
        (
            {"settings": VillageSettings(yuan_per_point=0)},
            InvalidInput,
            "每分折合金额必须大于零。",
            "yuan_per_point",
        ),
        (
            {"county": "new-county", "settings": VillageSettings(yuan_per_point=-3)},
            InvalidInput,
            "每分折合金额必须大于零。",
            "yuan_per_point",
        ),
    ]
    for kwargs, error, message, field in cases:
        with pytest.raises(error) as refused:
            create(**{"code": "new", **kwargs})
        assert refused.value.message == message, kwargs
        assert getattr(refused.value, "field", None) == field, kwargs
    session.expire_all()
    assert counts(session) == before  # not even a county or township was left behind


def test_update_settings_records_only_what_changed(session):
    village_id = create("adao")
    make_user("root", Role.SYSADMIN)
    with unit_of_work() as s:
        root = users.by_username(s, "root")
        villages.update_settings(s, actor=root, village_id=village_id, settings=VillageSettings(120, 3, ""))
    session.expire_all()
    village = session.get(Village, village_id)
    assert (village.base_points, village.yuan_per_point, village.card_prefix) == (
        120,
        3,
        "ADAO",
    )  # "" keeps it
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.tag == "village:village:update")).all()
    assert event.actor_name == "root" and event.subject_id == village_id and event.village_id == village_id
    assert event.data == {"before": {"base_points": 100}, "after": {"base_points": 120}}

    with unit_of_work() as s:
        villages.update_settings(s, actor=None, village_id=village_id, settings=VillageSettings(120, 4, "AD"))
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "village:village:update").order_by(AuditEvent.id)
    ).all()
    assert events[-1].data == {
        "before": {"yuan_per_point": 3, "card_prefix": "ADAO"},
        "after": {"yuan_per_point": 4, "card_prefix": "AD"},
    }


def test_update_settings_refusals_change_nothing(session):
    village_id = create("adao")
    for settings, message in [
        (VillageSettings(-5, 3, "X"), "基础积分不能为负数。"),
        (VillageSettings(100, 0, "X"), "每分折合金额必须大于零。"),
    ]:
        with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
            villages.update_settings(s, actor=None, village_id=village_id, settings=settings)
        assert refused.value.message == message
    with pytest.raises(NotFound), unit_of_work() as s:
        villages.update_settings(s, actor=None, village_id=village_id + 999, settings=VillageSettings())
    session.expire_all()
    village = session.get(Village, village_id)
    assert (village.base_points, village.yuan_per_point, village.card_prefix) == (100, 3, "ADAO")
    assert session.scalar(select(AuditEvent).where(AuditEvent.tag == "village:village:update")) is None


def test_lookups_raise_not_found(session):
    make_village("a")
    assert villages.by_code(session, "a").name == "a村"
    with pytest.raises(NotFound):
        villages.by_code(session, "zz")
    with pytest.raises(NotFound):
        villages.get(session, 99999)
    assert villages.groups(session, 99999) == []
