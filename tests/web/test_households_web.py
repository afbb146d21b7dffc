"""Household registry pages, as the village administrator uses them: register, edit, members, move out and
back, search, filters and paging. Each write is checked in the database and in the audit log."""

import io
import re
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Household, Member, VillagerGroup
from lovemart.models.households import HouseholdStatus
from lovemart.services import users
from tests.factories import make_household, make_two_villages


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        groups = db.session.scalars(
            select(VillagerGroup).where(VillagerGroup.village_id == ids["a"]).order_by(VillagerGroup.position)
        ).all()
        ids["group1"], ids["group2"] = groups[0].id, groups[1].id
        return ids


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def errors(html: str) -> list[str]:
    """The refusals shown on a form: field errors and form-wide errors."""
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)


def table_body(html: str) -> str:
    return html[html.index("<tbody>") : html.index("</tbody>")]


def audit_rows(app, tag: str) -> list[AuditEvent]:
    with fresh_session(app) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.tag == tag).order_by(AuditEvent.id)).all()
        session.expunge_all()
        return rows


def new_household(ids, **overrides) -> dict:
    return {
        "number": "02001",
        "group_id": ids["group2"],
        "status": "poor",
        "phone": "13912345678",
        "address": "a村二组1号",
        "head_name": "刘建军",
        "head_gender": "male",
        "head_birth_year": "1966",
        **overrides,
    }


# --- create ------------------------------------------------------------------------------------------


def test_register_a_household_with_its_head(app, admin, ids):
    response = admin.post("/households/new", data=new_household(ids))
    assert response.status_code == 302
    with fresh_session(app) as session:
        household = session.scalar(select(Household).where(Household.number == "02001"))
        assert household.village_id == ids["a"] and household.group_id == ids["group2"]
        assert (household.status, household.phone, household.address) == ("poor", "13912345678", "a村二组1号")
        assert [(m.name, m.relation, m.gender, m.birth_year) for m in household.members] == [
            ("刘建军", "head", "male", 1966)
        ]
        household_id = household.id
    assert response.headers["Location"] == f"/households/{household_id}"

    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "已登记新户" in page
    assert "刘建军" in page and "02001" in page and "贫困户" in page and "二组" in page and "户主" in page

    (event,) = audit_rows(app, "household:household:create")[-1:]
    assert event.subject_id == household_id and event.actor_name == "a-admin" and event.village_id == ids["a"]
    assert event.data["after"]["number"] == "02001"
    assert event.data["after"]["members"][0]["name"] == "刘建军"


def test_duplicate_number_is_shown_on_the_form_and_nothing_is_written(app, admin, ids):
    with fresh_session(app) as session:
        taken = session.get(Household, ids["a_household"]).number
    before = len(audit_rows(app, "household:household:create"))
    response = admin.post("/households/new", data=new_household(ids, number=taken, head_name="重复户"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert f"户号 {taken} 在本村已存在。" in text
    assert 'value="重复户"' in text  # the form keeps what was typed
    with fresh_session(app) as session:
        assert session.query(Household).filter_by(village_id=ids["a"]).count() == 1
        assert session.scalar(select(Member).where(Member.name == "重复户")) is None
    assert len(audit_rows(app, "household:household:create")) == before

    with fresh_session(app) as session:  # numbers are unique within a village only
        b_number = session.get(Household, ids["b_household"]).number
    assert admin.post("/households/new", data=new_household(ids, number=b_number)).status_code == 302


def test_bad_input_is_refused_on_the_form_in_chinese(app, admin, ids):
    cases = [
        ({"phone": "12ab"}, ["电话号码格式不正确。"]),
        ({"head_name": ""}, ["该字段是必填字段。"]),
        ({"number": ""}, ["该字段是必填字段。"]),
        ({"group_id": str(ids["group1"] + 1000)}, ["不是有效的选择。"]),
        ({"status": "rich"}, ["不是有效的选择。"]),
        ({"head_birth_year": "1800"}, ["数值大小必须介于 1900 到 2100 之间。"]),
        ({"head_birth_year": "2099"}, [f"出生年份须在 1900 到 {datetime.now(UTC).year} 之间。"]),
    ]
    for override, messages in cases:
        response = admin.post("/households/new", data=new_household(ids, **override))
        assert response.status_code == 200, override
        assert errors(response.get_data(as_text=True)) == messages, override
    with fresh_session(app) as session:
        assert session.query(Household).filter_by(village_id=ids["a"]).count() == 1
        assert session.query(Member).filter_by(village_id=ids["a"]).count() == 2
    assert len(audit_rows(app, "household:household:create")) == 2  # the factory's a and b


# --- edit --------------------------------------------------------------------------------------------


def test_edit_household_records_before_and_after(app, admin, ids):
    h = ids["a_household"]
    form = admin.get(f"/households/{h}/edit").get_data(as_text=True)
    assert "编辑农户" in form
    with fresh_session(app) as session:
        number = session.get(Household, h).number
    response = admin.post(
        f"/households/{h}/edit",
        data={
            "number": number,
            "group_id": ids["group2"],
            "status": "lifted",
            "address": "新地址 8 号",
            "phone": "",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/households/{h}"
    with fresh_session(app) as session:
        household = session.get(Household, h)
        assert (household.group_id, household.status, household.address) == (
            ids["group2"],
            "lifted",
            "新地址 8 号",
        )
    (event,) = audit_rows(app, "household:household:update")
    assert event.subject_id == h and event.actor_name == "a-admin"
    assert event.data["before"] == {"group_id": ids["group1"], "status": "general", "address": ""}
    assert event.data["after"] == {"group_id": ids["group2"], "status": "lifted", "address": "新地址 8 号"}
    page = admin.get(f"/households/{h}").get_data(as_text=True)
    assert "已保存" in page and "脱贫户" in page and "新地址 8 号" in page


def test_edit_to_a_taken_number_changes_nothing(app, admin, ids):
    with app.app_context():
        other = make_household(ids["a"], head="钱五", number="09009")
    response = admin.post(
        f"/households/{other}/edit", data={"number": "09009", "group_id": ids["group1"], "status": "general"}
    )
    assert response.status_code == 302  # its own number is no clash
    with fresh_session(app) as session:
        taken = session.get(Household, ids["a_household"]).number
    updates = len(audit_rows(app, "household:household:update"))
    refused = admin.post(
        f"/households/{other}/edit", data={"number": taken, "group_id": ids["group1"], "status": "poor"}
    )
    assert refused.status_code == 200
    assert f"户号 {taken} 在本村已存在。" in refused.get_data(as_text=True)
    with fresh_session(app) as session:
        assert (session.get(Household, other).number, session.get(Household, other).status) == (
            "09009",
            "general",
        )
    assert len(audit_rows(app, "household:household:update")) == updates


# --- members -----------------------------------------------------------------------------------------


def test_add_edit_and_delete_a_member(app, admin, ids):
    h = ids["a_household"]
    added = admin.post(
        f"/households/{h}/members/new",
        data={"name": "张小明", "relation": "grandchild", "gender": "male", "birth_year": "2015"},
    )
    assert added.status_code == 302 and added.headers["Location"] == f"/households/{h}"
    with fresh_session(app) as session:
        member = session.scalar(select(Member).where(Member.name == "张小明"))
        assert (member.household_id, member.village_id, member.relation, member.birth_year) == (
            h,
            ids["a"],
            "grandchild",
            2015,
        )
        member_id = member.id
    assert "张小明" in admin.get(f"/households/{h}").get_data(as_text=True)

    edited = admin.post(
        f"/households/{h}/members/{member_id}/edit",
        data={"name": "张晓明", "relation": "grandchild", "gender": "male", "birth_year": "2016"},
    )
    assert edited.status_code == 302
    (update,) = audit_rows(app, "household:member:update")
    assert update.data["before"] == {"name": "张小明", "birth_year": 2015}
    assert update.data["after"] == {"name": "张晓明", "birth_year": 2016}

    deleted = admin.post(f"/households/{h}/members/{member_id}/delete")
    assert deleted.status_code == 302
    assert "已删除成员" in admin.get(f"/households/{h}").get_data(as_text=True)
    with fresh_session(app) as session:
        assert session.get(Member, member_id) is None
    (delete,) = audit_rows(app, "household:member:delete")
    assert delete.subject_id == member_id and delete.data["before"]["name"] == "张晓明"
    assert [e.subject_id for e in audit_rows(app, "household:member:create")][-1] == member_id


def _member_id(app, name: str) -> int:
    with fresh_session(app) as session:
        return session.scalar(select(Member.id).where(Member.name == name))


def test_marking_a_member_as_party_member_shows_badges_and_leaves_an_audit_row(app, admin, ids):
    h = ids["a_household"]
    page = admin.get(f"/households/{h}").get_data(as_text=True)
    assert 'class="tag party"' not in page  # nobody is a 党员 yet
    member_id = _member_id(app, "张小红")
    form = admin.get(f"/households/{h}/members/{member_id}/edit").get_data(as_text=True)
    assert 'name="party_member"' in form and "党员" in form

    edited = admin.post(
        f"/households/{h}/members/{member_id}/edit",
        data={
            "name": "张小红",
            "relation": "child",
            "gender": "female",
            "birth_year": "1995",
            "party_member": "y",
        },
    )
    assert edited.status_code == 302
    with fresh_session(app) as session:
        assert session.get(Member, member_id).party_member is True
        assert session.get(Household, h).party_household is True
    (update,) = audit_rows(app, "household:member:update")
    assert (update.subject_id, update.village_id, update.actor_name) == (member_id, ids["a"], "a-admin")
    assert update.data["before"] == {"party_member": False}
    assert update.data["after"] == {"party_member": True}

    page = admin.get(f"/households/{h}").get_data(as_text=True)
    members = table_body(page[page.index("家庭成员") :])
    assert re.search(r'张小红 <span class="tag party">党员</span>', members)
    assert '<span class="tag party">党员</span>' not in members.split("张小红")[0]  # 张三 is not
    assert '<span class="tag party">党员户</span>' in page  # the household counts as a 党员户
    form = admin.get(f"/households/{h}/members/{member_id}/edit").get_data(as_text=True)
    assert re.search(r'<input checked id="party_member" name="party_member" type="checkbox"', form)

    unmarked = {"name": "张小红", "relation": "child", "gender": "female", "birth_year": "1995"}
    assert admin.post(f"/households/{h}/members/{member_id}/edit", data=unmarked).status_code == 302
    assert 'class="tag party"' not in admin.get(f"/households/{h}").get_data(as_text=True)
    assert audit_rows(app, "household:member:update")[-1].data["after"] == {"party_member": False}


def test_register_a_household_whose_head_is_a_party_member(app, admin, ids):
    response = admin.post("/households/new", data=new_household(ids, head_party_member="y"))
    assert response.status_code == 302
    with fresh_session(app) as session:
        household = session.scalar(select(Household).where(Household.number == "02001"))
        assert [(m.name, m.party_member) for m in household.members] == [("刘建军", True)]
    (event,) = audit_rows(app, "household:household:create")[-1:]
    assert event.data["after"]["members"][0]["party_member"] is True
    assert '<span class="tag party">党员</span>' in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_second_head_and_deleting_the_head_are_refused(app, admin, ids):
    h = ids["a_household"]
    second = admin.post(
        f"/households/{h}/members/new", data={"name": "张四", "relation": "head", "gender": "male"}
    )
    assert second.status_code == 200
    assert "一户必须有且只有一名户主" in second.get_data(as_text=True)
    with fresh_session(app) as session:
        head = session.scalar(select(Member).where(Member.household_id == h, Member.relation == "head"))
        assert session.query(Member).filter_by(household_id=h).count() == 2
    refused = admin.post(
        f"/households/{h}/members/{head.id}/delete", headers={"Referer": f"http://localhost/households/{h}"}
    )
    assert refused.status_code == 302 and refused.headers["Location"] == f"/households/{h}"
    assert "不能删除户主" in admin.get(f"/households/{h}").get_data(as_text=True)
    with fresh_session(app) as session:
        assert session.get(Member, head.id) is not None
    assert audit_rows(app, "household:member:delete") == []


# --- move out and back -------------------------------------------------------------------------------


def test_move_out_and_back(app, admin, ids):
    h = ids["a_household"]
    out = admin.post(f"/households/{h}/active", data={"active": "0"})
    assert out.status_code == 302 and out.headers["Location"] == f"/households/{h}"
    page = admin.get(f"/households/{h}").get_data(as_text=True)
    assert "已标记为迁出" in page and "恢复在册" in page
    with fresh_session(app) as session:
        household = session.get(Household, h)
        assert not household.active and household.moved_out_at is not None
    assert "张三" not in table_body(admin.get("/households/").get_data(as_text=True))
    assert "张三" in table_body(admin.get("/households/?active=0").get_data(as_text=True))
    assert "张三" in table_body(admin.get("/households/?active=all").get_data(as_text=True))

    back = admin.post(f"/households/{h}/active", data={"active": "1"})
    assert back.status_code == 302
    assert "已恢复为在册户" in admin.get(f"/households/{h}").get_data(as_text=True)
    with fresh_session(app) as session:
        household = session.get(Household, h)
        assert household.active and household.moved_out_at is None
    assert "张三" in table_body(admin.get("/households/").get_data(as_text=True))
    moves = audit_rows(app, "household:household:update")
    assert [(e.data["before"]["active"], e.data["after"]["active"]) for e in moves] == [
        (True, False),
        (False, True),
    ]


# --- search, filters, paging -------------------------------------------------------------------------


def test_search_by_member_name_number_address_and_phone(app, admin, ids):
    with app.app_context():
        make_household(ids["a"], head="王建华", number="03007", others=("李秀英",))
        make_household(ids["a"], head="王建军", number="03008")
    rows = lambda query: table_body(admin.get(f"/households/?q={query}").get_data(as_text=True))  # noqa: E731
    assert "王建华" in rows("王建华") and "王建军" not in rows("王建华")
    assert "王建华" in rows("李秀英")  # a member, not the head, finds the household
    assert "王建华" in rows("王建") and "王建军" in rows("王建")
    assert "王建军" in rows("03008") and "王建华" not in rows("03008")
    assert "没有符合条件的农户" in rows("不存在的人")
    assert "张三" not in rows("%") and "张三" not in rows("_")  # LIKE wildcards are searched for literally
    text = admin.get("/households/?q=王建华").get_data(as_text=True)
    assert "共 1 户" in text


def test_filters_by_group_status_and_activity(app, admin, ids):
    with app.app_context():
        make_household(ids["a"], head="贫一", group="二组", status=HouseholdStatus.POOR)
        make_household(ids["a"], head="贫二", group="一组", status=HouseholdStatus.POOR)
        make_household(ids["a"], head="脱一", group="二组", status=HouseholdStatus.LIFTED)

    def heads(query):
        body = table_body(admin.get(f"/households/?{query}").get_data(as_text=True))
        return {name for name in ("张三", "贫一", "贫二", "脱一") if name in body}

    assert heads("") == {"张三", "贫一", "贫二", "脱一"}
    assert heads("status=poor") == {"贫一", "贫二"}
    assert heads(f"group={ids['group2']}") == {"贫一", "脱一"}
    assert heads(f"group={ids['group2']}&status=poor") == {"贫一"}
    assert heads("status=general") == {"张三"}
    assert heads("group=not-a-number&status=") == {"张三", "贫一", "贫二", "脱一"}


def test_list_pages(app, admin, ids):
    app.config["PAGE_SIZE"] = 2
    with app.app_context():
        for n, name in enumerate(("甲一", "乙二", "丙三", "丁四"), start=1):
            make_household(ids["a"], head=name, number=f"Z{n}")
    # numbers sort as text: H0001 (张三), Z1, Z2, Z3, Z4
    first = admin.get("/households/").get_data(as_text=True)
    assert "共 5 户" in first and "第 1 / 3 页" in first
    assert _names(first) == ["张三", "甲一"]
    assert 'href="/households/?page=2"' in first and "上一页" not in first

    second = admin.get("/households/?page=2").get_data(as_text=True)
    assert "第 2 / 3 页" in second and _names(second) == ["乙二", "丙三"]

    last = admin.get("/households/?page=3").get_data(as_text=True)
    assert _names(last) == ["丁四"] and "下一页" not in last

    filtered = admin.get("/households/?q=Z").get_data(
        as_text=True
    )  # Z1..Z4: 2 pages; paging keeps the filter
    assert "共 4 户" in filtered and _names(filtered) == ["甲一", "乙二"]
    (next_link,) = re.findall(r'href="([^"]*page=2[^"]*)"', filtered)
    assert "q=Z" in next_link
    assert _names(admin.get(next_link.replace("&amp;", "&")).get_data(as_text=True)) == ["丙三", "丁四"]

    beyond = admin.get("/households/?page=99")
    assert beyond.status_code == 200 and "没有符合条件的农户" in beyond.get_data(as_text=True)


def _names(html: str) -> list[str]:
    body = table_body(html)
    return [name for name in ("张三", "甲一", "乙二", "丙三", "丁四") if name in body]


def test_export_lists_every_member_of_the_village(app, admin, ids):
    response = admin.get("/households/export.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "a-households.xlsx" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [row[2] for row in rows[1:]] == ["张三", "张小红"]
    assert rows[0][-1] == "党员" and [row[-1] for row in rows[1:]] == ["否", "否"]


def test_absurd_numbers_in_urls_are_answered_not_server_errors(app, admin, ids):
    """Ids and pages beyond any database integer: not found or an empty page, never a 500."""
    big = "9" * 20
    for path, status in [
        (f"/households/{big}", 404),
        (f"/households/{2**31}", 404),
        (f"/households/{big}/edit", 404),
        (f"/households/{ids['a_household']}/members/{big}/edit", 404),
        (f"/households/?page={big}", 200),
        ("/households/?page=-3", 200),
        (f"/households/?group={big}", 200),
        (f"/households/?group={big}&status=poor&q={big}", 200),
    ]:
        assert admin.get(path).status_code == status, path
    page = admin.get(f"/households/?group={big}").get_data(as_text=True)
    assert "张三" in table_body(page)  # the impossible group is ignored

    with app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    missing = api.get(f"/api/v1/households/{big}", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert api.get(f"/api/v1/households/?page={big}", headers=headers).get_json()["items"] == []
    assert api.get(f"/api/v1/households/?group_id={big}", headers=headers).status_code == 422
    created = api.post(
        "/api/v1/households/",
        headers=headers,
        json={
            "number": "X",
            "group_id": int(big),
            "members": [{"name": "甲", "relation": "head", "gender": "male"}],
        },
    )
    assert created.status_code == 422 and created.get_json()["error"]["code"] == "invalid_input"
