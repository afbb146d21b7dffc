"""System administration pages: villages with their groups and settings, staff accounts of every role,
and deactivation that signs a person out on their next request."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lovemart.db import db
from lovemart.models import AuditEvent, County, Township, User, Village, VillagerGroup
from tests.conftest import PASSWORD
from tests.factories import make_two_villages


@pytest.fixture
def ids(app):
    with app.app_context():
        return make_two_villages()


@pytest.fixture
def sysadmin(login, ids):
    return login("sysadmin")


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def errors(html: str) -> list[str]:
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)


def audit_rows(app, tag: str) -> list[AuditEvent]:
    with fresh_session(app) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.tag == tag).order_by(AuditEvent.id)).all()
        session.expunge_all()
        return rows


def village_form(**overrides) -> dict:
    return {
        "county_code": "yanchuan",
        "county_name": "延川县",
        "township_name": "文安驿镇",
        "code": "liangjiahe",
        "name": "梁家河村",
        "groups": "一组\r\n二组\n\n  三组  \n",
        "base_points": "80",
        "yuan_per_point": "2",
        "card_prefix": "LJH",
        **overrides,
    }


def user_form(**overrides) -> dict:
    return {
        "username": "new-user",
        "display_name": "新用户",
        "role": "admin",
        "village_id": "0",
        "password": "long-enough-1",
        **overrides,
    }


# --- villages ----------------------------------------------------------------------------------------


def test_create_village_with_groups_one_per_line(app, sysadmin, ids):
    assert sysadmin.get("/admin/villages/new").status_code == 200
    response = sysadmin.post("/admin/villages/new", data=village_form())
    assert response.status_code == 302 and response.headers["Location"] == "/admin/villages"
    listing = sysadmin.get("/admin/villages").get_data(as_text=True)
    assert "已创建村" in listing and "梁家河村" in listing and "文安驿镇" in listing and "延川县" in listing
    with fresh_session(app) as session:
        village = session.scalar(select(Village).where(Village.code == "liangjiahe"))
        assert (village.name, village.base_points, village.yuan_per_point, village.card_prefix) == (
            "梁家河村",
            80,
            2,
            "LJH",
        )
        assert village.township.name == "文安驿镇" and village.county.code == "yanchuan"
        groups = session.scalars(
            select(VillagerGroup.name)
            .where(VillagerGroup.village_id == village.id)
            .order_by(VillagerGroup.position)
        ).all()
        assert groups == ["一组", "二组", "三组"]
        village_id = village.id
    (event,) = audit_rows(app, "village:village:create")[-1:]
    assert event.subject_id == village_id and event.actor_name == "sysadmin"
    assert event.data["after"]["groups"] == ["一组", "二组", "三组"]
    assert event.data["after"]["base_points"] == 80

    second = sysadmin.post(
        "/admin/villages/new", data=village_form(code="zhaojiahe", name="赵家河村", card_prefix="")
    )
    assert second.status_code == 302
    with fresh_session(app) as session:
        assert session.query(County).filter_by(code="yanchuan").count() == 1
        assert session.query(Township).filter_by(name="文安驿镇").count() == 1
        village = session.scalar(select(Village).where(Village.code == "zhaojiahe"))
        assert village.card_prefix == "ZHAOJIAHE"  # defaults to the code


def test_bad_village_input_shows_errors_and_writes_nothing(app, sysadmin, ids):
    cases = [
        ({"code": "a"}, ["村代码 a 已被使用。"]),
        ({"code": "A"}, ["村代码 a 已被使用。"]),  # codes are case-insensitive
        ({"code": "bad code!"}, ["村代码只能包含字母、数字和连字符。"]),
        ({"groups": "一组\n一组"}, ["村民小组名称不能重复。"]),
        ({"groups": "\n \n"}, ["该字段是必填字段。"]),
        ({"name": ""}, ["该字段是必填字段。"]),
        ({"yuan_per_point": "0"}, ["数值大小必须介于 1 到 1000 之间。"]),
        ({"base_points": "-1"}, ["数值大小必须介于 0 到 100000 之间。"]),
    ]
    for override, messages in cases:
        response = sysadmin.post("/admin/villages/new", data=village_form(**override))
        assert response.status_code == 200, override
        assert errors(response.get_data(as_text=True)) == messages, override
    with fresh_session(app) as session:
        assert session.query(Village).count() == 2
        assert session.query(County).count() == 1
    assert len(audit_rows(app, "village:village:create")) == 2


def test_edit_village_settings_records_before_and_after(app, sysadmin, ids):
    page = sysadmin.get(f"/admin/villages/{ids['a']}")
    assert page.status_code == 200 and "a村 的设置" in page.get_data(as_text=True)
    response = sysadmin.post(
        f"/admin/villages/{ids['a']}", data={"base_points": "120", "yuan_per_point": "3", "card_prefix": "AA"}
    )
    assert response.status_code == 302
    with fresh_session(app) as session:
        village = session.get(Village, ids["a"])
        assert (village.base_points, village.yuan_per_point, village.card_prefix) == (120, 3, "AA")
    (event,) = audit_rows(app, "village:village:update")
    assert event.data == {
        "before": {"base_points": 100, "card_prefix": "A"},
        "after": {"base_points": 120, "card_prefix": "AA"},
    }
    refused = sysadmin.post(
        f"/admin/villages/{ids['a']}", data={"base_points": "120", "yuan_per_point": "0", "card_prefix": "AA"}
    )
    assert refused.status_code == 200 and errors(refused.get_data(as_text=True)) == [
        "数值大小必须介于 1 到 1000 之间。"
    ]
    assert sysadmin.get("/admin/villages/99999").status_code == 404


def test_the_quiet_warning_days_are_set_per_village_within_bounds(app, sysadmin, ids):
    form = {"base_points": "100", "yuan_per_point": "3", "card_prefix": "A"}
    page = sysadmin.get(f"/admin/villages/{ids['a']}").get_data(as_text=True)
    assert "冷清提醒（天）" in page and 'value="60"' in page
    refused = sysadmin.post(f"/admin/villages/{ids['a']}", data={**form, "quiet_days": "10"})
    assert errors(refused.get_data(as_text=True)) == ["数值大小必须介于 14 到 365 之间。"]
    assert sysadmin.post(f"/admin/villages/{ids['a']}", data={**form, "quiet_days": "90"}).status_code == 302
    with fresh_session(app) as session:
        assert session.get(Village, ids["a"]).quiet_days == 90
    (event,) = audit_rows(app, "village:village:update")
    assert event.data == {"before": {"quiet_days": 60}, "after": {"quiet_days": 90}}


# --- users -------------------------------------------------------------------------------------------


def test_create_a_user_of_each_role(app, sysadmin, ids):
    cases = [  # role, village picked on the form, village the user is bound to, bound to a county
        ("admin", "a", "a", False),
        ("supervisor", "b", "b", False),
        ("leader", "a", "a", False),
        ("county", "b", None, True),
        ("sysadmin", None, None, False),
    ]
    for role, village, expect_village, expect_county in cases:
        form = user_form(username=f"new-{role}", role=role, village_id=str(ids[village]) if village else "0")
        response = sysadmin.post("/admin/users/new", data=form)
        assert response.status_code == 302 and response.headers["Location"] == "/admin/users", role
        listing = sysadmin.get("/admin/users").get_data(as_text=True)
        assert "已创建用户" in listing and f"new-{role}" in listing
        with fresh_session(app) as session:
            user = session.scalar(select(User).where(User.username == f"new-{role}"))
            assert user.role == role and user.display_name == "新用户" and user.active
            assert user.village_id == (ids[expect_village] if expect_village else None), role
            assert (user.county_id is not None) == expect_county, role
            assert "long-enough-1" not in user.password_hash
        (event,) = audit_rows(app, "user:user:create")[-1:]
        assert event.actor_name == "sysadmin" and event.data["after"] == {
            "username": f"new-{role}",
            "role": role,
        }


def test_new_user_can_sign_in(app, sysadmin, ids):
    sysadmin.post("/admin/users/new", data=user_form(village_id=str(ids["b"])))
    client = app.test_client()
    assert (
        client.post("/login", data={"username": "new-user", "password": "long-enough-1"}).status_code == 302
    )
    text = client.get("/households/").get_data(as_text=True)
    assert "李四" in text and "张三" not in text  # bound to village b


def test_bad_user_input_shows_errors_and_writes_nothing(app, sysadmin, ids):
    cases = [
        ({"username": "a-admin", "village_id": str(ids["a"])}, ["用户名 a-admin 已被使用。"]),
        ({"password": "short"}, ["字段长度必须介于 8 到 256 个字符之间。"]),
        ({"role": "admin", "village_id": "0"}, ["该角色必须属于一个村。"]),
        ({"role": "county", "village_id": "0"}, ["县级用户必须属于一个县。"]),
        ({"role": "king", "village_id": str(ids["a"])}, ["不是有效的选择。"]),
        ({"village_id": "99999"}, ["不是有效的选择。"]),
        ({"username": ""}, ["该字段是必填字段。"]),
    ]
    for override, messages in cases:
        response = sysadmin.post("/admin/users/new", data=user_form(**override))
        assert response.status_code == 200, override
        assert errors(response.get_data(as_text=True)) == messages, override
    with fresh_session(app) as session:
        assert session.query(User).count() == 8
    assert len(audit_rows(app, "user:user:create")) == 8


def test_deactivating_a_user_signs_them_out_on_their_next_request(app, login, sysadmin, ids):
    victim = login("a-admin")
    assert victim.get("/households/").status_code == 200
    with fresh_session(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "a-admin"))

    response = sysadmin.post(f"/admin/users/{user_id}/active/0")
    assert response.status_code == 302
    assert "已停用 a-admin" in sysadmin.get("/admin/users").get_data(as_text=True)

    next_request = victim.get("/households/")
    assert next_request.status_code == 302 and next_request.headers["Location"].startswith("/login")
    refused = victim.post("/login", data={"username": "a-admin", "password": PASSWORD})
    assert refused.status_code == 200 and "用户名或密码不正确" in refused.get_data(as_text=True)
    (event,) = audit_rows(app, "user:user:update")
    assert event.subject_id == user_id and event.actor_name == "sysadmin"
    assert event.data == {"before": {"active": True}, "after": {"active": False}}

    sysadmin.post(f"/admin/users/{user_id}/active/1")
    assert "已启用 a-admin" in sysadmin.get("/admin/users").get_data(as_text=True)
    assert victim.post("/login", data={"username": "a-admin", "password": PASSWORD}).status_code == 302
    assert victim.get("/households/").status_code == 200

    assert sysadmin.post("/admin/users/99999/active/0").status_code == 404
