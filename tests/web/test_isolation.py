"""Village isolation: a user of village a gets 404 for anything of village b, by any page or API call, and
nothing of b is ever listed or changed. County users see exactly the villages of their county."""

import io
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lovemart.authz import signed_in
from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Household, Member, VillagerGroup
from lovemart.services import users
from tests.factories import make_household, make_two_villages, make_village

NOT_FOUND = "找不到该页面或记录"


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        ids["c"] = make_village("c", county="other")  # another county: not even the county user sees it
        ids["c_household"] = make_household(ids["c"], head="孙九")
        return ids


@contextmanager
def fresh_session(app):
    """A session of its own, unrestricted, like the CLI (never the one a request restricted)."""
    with app.app_context():
        yield db.session
        db.session.remove()


def snapshot(app, household_id) -> dict:
    with fresh_session(app) as session:
        household = session.get(Household, household_id)
        return {
            "number": household.number,
            "status": household.status,
            "address": household.address,
            "active": household.active,
            "members": [(m.id, m.name, m.relation) for m in household.members],
        }


def member_ids(app, household_id) -> list[int]:
    with fresh_session(app) as session:
        return list(session.scalars(select(Member.id).where(Member.household_id == household_id)))


def first_group(app, village_id) -> int:
    with fresh_session(app) as session:
        return session.scalar(select(VillagerGroup.id).where(VillagerGroup.village_id == village_id))


def table_body(html: str) -> str:
    """The rows of the page's table, without the search box that echoes the query."""
    return html[html.index("<tbody>") : html.index("</tbody>")]


def main_part(response) -> str:
    """The page's content, without the footer's links back to the requested path."""
    html = response.get_data(as_text=True)
    return html[html.index("<main") : html.index("</main>")]


def audit_count(app) -> int:
    with fresh_session(app) as session:
        return session.query(AuditEvent).count()


def token_for(app, username) -> dict:
    with app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, username))
    return {"Authorization": f"Bearer {token}"}


# --- pages -------------------------------------------------------------------------------------------


def test_village_admin_gets_404_for_every_page_of_another_villages_household(app, login, ids):
    b, b_member = ids["b_household"], member_ids(app, ids["b_household"])[0]
    a_member = member_ids(app, ids["a_household"])[1]
    before, writes = snapshot(app, b), audit_count(app)
    client = login("a-admin")
    b_group = first_group(app, ids["b"])
    requests = [
        ("get", f"/households/{b}", None),
        ("get", f"/households/{b}/edit", None),
        ("post", f"/households/{b}/edit", {"number": "HACK", "group_id": b_group, "status": "poor"}),
        ("get", f"/households/{b}/members/new", None),
        ("post", f"/households/{b}/members/new", {"name": "入侵者", "relation": "child", "gender": "male"}),
        ("get", f"/households/{b}/members/{b_member}/edit", None),
        (
            "post",
            f"/households/{b}/members/{b_member}/edit",
            {"name": "改名", "relation": "head", "gender": "female"},
        ),
        ("post", f"/households/{b}/members/{b_member}/delete", None),
        ("post", f"/households/{b}/active", {"active": "0"}),
        # a's own household with b's member, and b's household with a's member
        ("get", f"/households/{ids['a_household']}/members/{b_member}/edit", None),
        ("post", f"/households/{ids['a_household']}/members/{b_member}/delete", None),
        ("post", f"/households/{b}/members/{a_member}/delete", None),
    ]
    for method, path, data in requests:
        response = getattr(client, method)(path, data=data)
        assert response.status_code == 404, (method, path)
        assert NOT_FOUND in response.get_data(as_text=True)
    assert snapshot(app, b) == before
    assert len(member_ids(app, ids["a_household"])) == 2
    assert audit_count(app) == writes
    # another village's household looks exactly like one that does not exist: no way to probe for ids
    assert main_part(client.get(f"/households/{b}")) == main_part(client.get("/households/987654"))


def test_household_list_search_and_export_never_show_another_village(app, login, ids):
    client = login("a-admin")
    for query in ("", "?active=all", "?q=李四", "?q=孙九", "?active=0", "?q=H"):
        rows = table_body(client.get(f"/households/{query}").get_data(as_text=True))
        assert "李四" not in rows and "孙九" not in rows, query
        assert f'/households/{ids["b_household"]}"' not in rows
    assert "张三" in table_body(client.get("/households/").get_data(as_text=True))
    assert "没有符合条件的农户" in client.get("/households/?q=李四").get_data(as_text=True)

    export = client.get("/households/export.xlsx")
    assert export.status_code == 200
    cells = {str(c.value) for row in load_workbook(io.BytesIO(export.data)).active.iter_rows() for c in row}
    assert "张三" in cells and "李四" not in cells


def test_village_user_cannot_switch_to_another_village(login, ids):
    client = login("a-supervisor")  # a reader: the same 404 as the administrator
    assert client.get(f"/households/{ids['a_household']}").status_code == 200
    client.post("/village", data={"village_id": ids["b"]})
    text = table_body(client.get("/households/").get_data(as_text=True))
    assert "张三" in text and "李四" not in text
    assert client.get(f"/households/{ids['b_household']}").status_code == 404


def test_county_user_switches_between_the_villages_of_the_county_only(login, ids):
    client = login("county")
    home = client.get("/").get_data(as_text=True)
    assert "a村" in home and "b村" in home and "c村" not in home  # the switcher lists a and b only
    text = table_body(client.get("/households/").get_data(as_text=True))
    assert "张三" in text and "李四" not in text  # the first village by code

    switched = client.post(
        "/village", data={"village_id": ids["b"]}, headers={"Referer": "http://localhost/households/"}
    )
    assert switched.status_code == 302 and switched.headers["Location"] == "/households/"
    text = table_body(client.get("/households/").get_data(as_text=True))
    assert "李四" in text and "张三" not in text
    assert client.get(f"/households/{ids['b_household']}").status_code == 200
    assert client.get(f"/households/{ids['a_household']}").status_code == 404  # only the village in view

    client.post("/village", data={"village_id": ids["c"]})  # another county: ignored
    text = table_body(client.get("/households/").get_data(as_text=True))
    assert "李四" in text and "孙九" not in text
    assert client.get(f"/households/{ids['c_household']}").status_code == 404


# --- API ---------------------------------------------------------------------------------------------


def test_api_answers_404_json_for_another_villages_household(app, client, ids):
    headers = token_for(app, "a-admin")
    response = client.get(f"/api/v1/households/{ids['b_household']}", headers=headers)
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]
    assert response.get_json() == client.get("/api/v1/households/987654", headers=headers).get_json()
    own = client.get(f"/api/v1/households/{ids['a_household']}", headers=headers)
    assert own.status_code == 200 and own.get_json()["id"] == ids["a_household"]


def test_api_list_never_includes_another_village(app, client, ids):
    headers = token_for(app, "a-admin")
    for query in ("", "?active=false", f"?village={ids['b']}", "?q=李四", f"?village={ids['c']}&q=孙九"):
        body = client.get(f"/api/v1/households/{query}", headers=headers).get_json()
        assert {h["id"] for h in body["items"]} <= {ids["a_household"]}, query
    body = client.get("/api/v1/households/", headers=headers).get_json()
    assert [h["id"] for h in body["items"]] == [ids["a_household"]]
    assert body["meta"]["total"] == 1


def test_api_county_token_reads_a_chosen_village_of_its_county_only(app, client, ids):
    headers = token_for(app, "county")
    first = client.get("/api/v1/households/", headers=headers).get_json()
    assert [h["id"] for h in first["items"]] == [ids["a_household"]]
    chosen = client.get(f"/api/v1/households/?village={ids['b']}", headers=headers).get_json()
    assert [h["id"] for h in chosen["items"]] == [ids["b_household"]]
    other_county = client.get(f"/api/v1/households/?village={ids['c']}", headers=headers)
    if other_county.status_code == 200:  # answered with a village it may read, or refused outright
        assert ids["c_household"] not in {h["id"] for h in other_county.get_json()["items"]}
    else:
        assert other_county.status_code == 404
        assert other_county.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/households/{ids['c_household']}", headers=headers).status_code == 404


def test_api_create_with_another_villages_group_writes_nothing(app, client, ids):
    headers = token_for(app, "a-admin")
    writes = audit_count(app)
    response = client.post(
        "/api/v1/households/",
        headers=headers,
        json={
            "number": "B-ROGUE",
            "group_id": first_group(app, ids["b"]),
            "members": [{"name": "越界", "relation": "head", "gender": "male"}],
        },
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_group"
    with fresh_session(app) as session:
        assert session.scalar(select(Household).where(Household.number == "B-ROGUE")) is None
    assert audit_count(app) == writes


def test_api_ignores_the_session_cookie(app, login, ids):
    client = login("a-admin")
    assert client.get("/households/").status_code == 200  # the cookie works for pages
    for path in ("/api/v1/households/", f"/api/v1/households/{ids['a_household']}"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "unauthorized"
    created = client.post(
        "/api/v1/households/",
        json={
            "number": "C1",
            "group_id": first_group(app, ids["a"]),
            "members": [{"name": "甲", "relation": "head", "gender": "male"}],
        },
    )
    assert created.status_code == 401
    with fresh_session(app) as session:
        assert session.query(Household).count() == 3


def test_api_refuses_missing_bad_and_unauthorised_tokens(app, client, ids):
    for authorization in (
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Basic YS1hZG1pbjpwYXNzd29yZDEyMw==",
    ):
        response = client.get("/api/v1/households/", headers={"Authorization": authorization})
        assert response.status_code == 401, authorization
        assert response.get_json() == {"error": {"code": "unauthorized", "message": "需要有效的访问令牌。"}}
    sysadmin = token_for(app, "sysadmin")  # a valid token of a role without household permissions
    assert client.get("/api/v1/households/", headers=sysadmin).status_code == 403
    forbidden = client.get(f"/api/v1/households/{ids['a_household']}", headers=sysadmin)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"


def test_api_token_of_a_deactivated_user_stops_working(app, client, ids):
    headers = token_for(app, "a-admin")
    assert client.get("/api/v1/households/", headers=headers).status_code == 200
    with app.app_context(), unit_of_work() as session:
        users.set_active(session, actor=None, user_id=users.by_username(session, "a-admin").id, active=False)
    assert client.get("/api/v1/households/", headers=headers).status_code == 401


# --- the request's ORM scope ---------------------------------------------------------------------------


@pytest.fixture
def seen(app, ids):
    """Routes that answer which households an ORM query without any village filter finds during the
    request: what the request's scope alone lets through."""

    def households_seen():
        return {"households": sorted(db.session.scalars(select(Household.id)))}

    app.add_url_rule("/_scope", "test_scope", signed_in(households_seen))
    app.add_url_rule("/api/v1/_scope", "test_api_scope", signed_in(households_seen))
    return lambda client, path="/_scope", **kw: set(client.get(path, **kw).get_json()["households"])


def test_county_users_request_is_scoped_to_its_working_village_only(login, ids, seen):
    client = login("county")
    assert seen(client) == {ids["a_household"]}
    client.post("/village", data={"village_id": ids["b"]})
    assert seen(client) == {ids["b_household"]}


def test_county_api_request_is_scoped_to_the_chosen_village_only(app, client, ids, seen):
    headers = token_for(app, "county")
    assert seen(client, "/api/v1/_scope", headers=headers) == {ids["a_household"]}
    assert seen(client, f"/api/v1/_scope?village={ids['b']}", headers=headers) == {ids["b_household"]}
    # a village it may not read: nothing at all (and the working village, asked for, is a 404)
    assert seen(client, f"/api/v1/_scope?village={ids['c']}", headers=headers) == set()


def test_village_users_request_is_scoped_to_its_village(login, ids, seen):
    assert seen(login("b-leader")) == {ids["b_household"]}
