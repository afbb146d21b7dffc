"""`listHouseholds`, `getHousehold`, `createHousehold`: bearer tokens, paging, one error shape, isolation."""

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Household
from lovemart.models.households import HouseholdStatus
from lovemart.services import households, users, villages
from tests.factories import make_household, make_two_villages, make_village

URL = "/api/v1/households/"


@pytest.fixture
def ids(app):
    # an app context of its own, so each request gets a fresh one, as in production
    with app.app_context():
        return make_two_villages()


@pytest.fixture
def token(app, ids):
    """`token(username)` → the headers of a new bearer token for that user."""

    def make(username: str) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"}

    return make


def group_ids(app, village_id) -> dict[str, int]:
    with app.app_context():
        return {g.name: g.id for g in villages.groups(db.session, village_id)}


def household_count(app, village_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Household).where(Household.village_id == village_id)
        )


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "details"}
    return body["error"]


def new_household(app, village, **changes) -> dict:
    body = {
        "number": "N-1",
        "group_id": group_ids(app, village)["二组"],
        "address": "二组8号",
        "phone": "0911-1234567",
        "status": "poor",
        "members": [
            {"name": "马兰", "relation": "head", "gender": "female", "birth_year": 1966},
            {"name": "马小兵", "relation": "child", "gender": "male", "birth_year": 1990},
            {"name": "马奶奶", "relation": "parent", "gender": "female"},
        ],
    }
    return body | changes


# --- authentication


BAD_CREDENTIALS = [
    {},
    {"Authorization": "Bearer not-a-real-token"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic YS1hZG1pbjpwYXNzd29yZDEyMw=="},
    {"Authorization": "not-a-scheme"},
]


def test_without_a_valid_token_every_operation_is_401_json(client, ids):
    for headers in BAD_CREDENTIALS:
        for response in (
            client.get(URL, headers=headers),
            client.get(f"{URL}{ids['a_household']}", headers=headers),
            client.post(URL, json={}, headers=headers),
        ):
            error = assert_error(response, 401, "unauthorized")
            assert error["message"] == "需要有效的访问令牌。", headers


def test_a_signed_in_browser_session_is_not_an_api_credential(login, ids):
    """Cookies never authenticate API calls (the API is exempt from CSRF because of that)."""
    assert_error(login("a-admin").get(URL), 401, "unauthorized")


def test_token_of_a_deactivated_user_stops_working(app, client, ids, token):
    headers = token("a-admin")
    assert client.get(URL, headers=headers).status_code == 200
    with app.app_context(), unit_of_work() as session:
        user = users.by_username(session, "a-admin")
        users.set_active(session, actor=None, user_id=user.id, active=False)
    assert_error(client.get(URL, headers=headers), 401, "unauthorized")


# --- listHouseholds


def test_list_returns_own_village_households_with_members_and_meta(client, ids, token):
    response = client.get(URL, headers=token("a-admin"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"] == {"page": 1, "per_page": 30, "total": 1, "pages": 1}
    (item,) = body["items"]
    assert item["id"] == ids["a_household"]
    assert item["group"] == "一组" and item["status"] == "general" and item["active"] is True
    assert [(m["name"], m["relation"]) for m in item["members"]] == [("张三", "head"), ("张小红", "child")]
    assert set(item["members"][0]) == {"id", "name", "relation", "gender", "birth_year", "party_member"}
    assert [m["party_member"] for m in item["members"]] == [False, False]


def test_list_pages(app, client, ids, token):
    with app.app_context():
        for n in range(2, 8):
            make_household(ids["a"], head=f"户主{n}", number=f"P{n:02d}")
    headers = token("a-admin")

    body = client.get(f"{URL}?per_page=3&page=2", headers=headers).get_json()
    assert body["meta"] == {"page": 2, "per_page": 3, "total": 7, "pages": 3}
    assert len(body["items"]) == 3
    last = client.get(f"{URL}?per_page=3&page=3", headers=headers).get_json()
    assert len(last["items"]) == 1
    beyond = client.get(f"{URL}?per_page=3&page=9", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["meta"]["total"] == 7

    every = [
        item["number"]
        for page in (1, 2, 3)
        for item in client.get(f"{URL}?per_page=3&page={page}", headers=headers).get_json()["items"]
    ]
    assert len(every) == len(set(every)) == 7
    assert every == sorted(every)


def test_list_search_and_filters(app, client, ids, token):
    with app.app_context():
        poor = make_household(ids["a"], head="李贫", number="Q1", group="二组", status=HouseholdStatus.POOR)
        moved = make_household(ids["a"], head="赵迁", number="Q2", group="二组")
        with unit_of_work() as session:
            households.set_active(session, actor=None, village_id=ids["a"], household_id=moved, active=False)
    groups = group_ids(app, ids["a"])
    headers = token("a-admin")

    def numbers(query: str) -> list[str]:
        response = client.get(f"{URL}?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["number"] for item in response.get_json()["items"]]

    assert numbers("q=张小红") == numbers("q=小红") != []  # a member's name, not only the head's
    assert numbers("q=李贫") == ["Q1"]
    assert numbers("q=Q1") == ["Q1"]
    assert numbers("q=李四") == []  # village b's household is not searchable from a
    assert numbers("q=%25") == []  # LIKE wildcards are matched literally
    assert numbers("status=poor") == ["Q1"]
    assert numbers(f"group_id={groups['二组']}") == ["Q1"]
    assert numbers("active=false") == ["Q2"]
    assert "Q2" not in numbers("active=true")
    assert poor and "Q2" not in numbers("")


BAD_QUERIES = [
    ("per_page=1000", "per_page"),
    ("per_page=0", "per_page"),
    ("page=0", "page"),
    ("page=abc", "page"),
    ("status=rich", "status"),
    ("group_id=x", "group_id"),
    ("village=x", "village"),
    ("active=maybe", "active"),
    ("q=" + "长" * 65, "q"),
]


def test_list_bad_query_is_422_with_details(client, ids, token):
    headers = token("a-admin")
    for query, field in BAD_QUERIES:
        error = assert_error(client.get(f"{URL}?{query}", headers=headers), 422, "invalid_input")
        assert error["message"] == "提交的数据有误。"
        assert list(error["details"]["query"]) == [field], query


def test_county_user_reads_each_of_its_villages(app, client, ids, token):
    headers = token("county")

    def names(village_id) -> set[str]:
        response = client.get(f"{URL}?village={village_id}", headers=headers)
        assert response.status_code == 200
        return {m["name"] for item in response.get_json()["items"] for m in item["members"]}

    assert names(ids["a"]) == {"张三", "张小红"}
    assert names(ids["b"]) == {"李四"}
    one = client.get(f"{URL}{ids['b_household']}?village={ids['b']}", headers=headers)
    assert one.status_code == 200 and one.get_json()["members"][0]["name"] == "李四"
    # a household is only found in the village it belongs to
    assert_error(
        client.get(f"{URL}{ids['b_household']}?village={ids['a']}", headers=headers), 404, "not_found"
    )
    # a county user may read but not write
    assert_error(
        client.post(f"{URL}?village={ids['a']}", json=new_household(app, ids["a"]), headers=headers),
        403,
        "forbidden",
    )


def test_county_user_asking_for_a_village_outside_its_county_gets_404(app, client, ids, token):
    with app.app_context():
        elsewhere = make_village("far", county="other")
        make_household(elsewhere, head="远方人")
    headers = token("county")
    assert_error(client.get(f"{URL}?village={elsewhere}", headers=headers), 404, "not_found")


def test_village_user_cannot_pick_another_village(client, ids, token):
    """A village user always works in their own village, whatever `village` says."""
    response = client.get(f"{URL}?village={ids['b']}", headers=token("a-admin"))
    names = {m["name"] for item in response.get_json()["items"] for m in item["members"]}
    assert response.status_code == 200 and "李四" not in names


def test_sysadmin_has_no_household_access(client, ids, token):
    assert_error(client.get(URL, headers=token("sysadmin")), 403, "forbidden")


# --- getHousehold


def test_get_household_of_own_village(client, ids, token):
    response = client.get(f"{URL}{ids['a_household']}", headers=token("a-supervisor"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == ids["a_household"] and body["group"] == "一组"
    assert [m["name"] for m in body["members"]] == ["张三", "张小红"]


def test_get_household_of_another_village_is_404_like_a_missing_one(client, ids, token):
    headers = token("a-admin")
    other = assert_error(client.get(f"{URL}{ids['b_household']}", headers=headers), 404, "not_found")
    missing = assert_error(client.get(f"{URL}999999", headers=headers), 404, "not_found")
    assert other == missing


# --- createHousehold


def test_create_household_returns_201_with_members(app, client, ids, token):
    response = client.post(URL, json=new_household(app, ids["a"]), headers=token("a-admin"))

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["number"] == "N-1" and body["group"] == "二组" and body["status"] == "poor"
    assert body["address"] == "二组8号" and body["phone"] == "0911-1234567" and body["active"] is True
    assert [(m["name"], m["relation"], m["gender"], m["birth_year"]) for m in body["members"]] == [
        ("马兰", "head", "female", 1966),
        ("马小兵", "child", "male", 1990),
        ("马奶奶", "parent", "female", None),
    ]
    fetched = client.get(f"{URL}{body['id']}", headers=token("a-supervisor")).get_json()
    assert fetched == body
    assert household_count(app, ids["a"]) == 2
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tag == "household:household:create", AuditEvent.subject_id == body["id"]
            )
        )
        assert event.actor_name == "a-admin" and event.village_id == ids["a"]


def test_create_with_defaults(app, client, ids, token):
    body = {
        "number": "D1",
        "group_id": group_ids(app, ids["a"])["一组"],
        "members": [{"name": "独居", "relation": "head", "gender": "male"}],
    }
    response = client.post(URL, json=body, headers=token("a-admin"))
    assert response.status_code == 201
    created = response.get_json()
    assert (created["address"], created["phone"], created["status"]) == ("", "", "general")


SCHEMA_ERRORS = {
    "no-members": ({"members": None}, ("members",)),
    "empty-members": ({"members": []}, ("members",)),
    "empty-number": ({"number": ""}, ("number",)),
    "group-not-int": ({"group_id": "one"}, ("group_id",)),
    "bad-status": ({"status": "rich"}, ("status",)),
    "bad-relation": (
        {"members": [{"name": "马兰", "relation": "wife", "gender": "female"}]},
        ("members", "0", "relation"),
    ),
    "bad-gender": (
        {"members": [{"name": "马兰", "relation": "head", "gender": "f"}]},
        ("members", "0", "gender"),
    ),
    "birth-year": (
        {"members": [{"name": "马兰", "relation": "head", "gender": "male", "birth_year": 1800}]},
        ("members", "0", "birth_year"),
    ),
    "no-name": ({"members": [{"relation": "head", "gender": "male"}]}, ("members", "0", "name")),
    "read-only-id": ({"id": 5}, ("id",)),
    "unknown-field": ({"village_id": 2}, ("village_id",)),
}


def test_create_with_schema_errors_is_422_with_details(app, client, ids, token):
    headers = token("a-admin")
    for case, (changes, path) in SCHEMA_ERRORS.items():
        body = {k: v for k, v in new_household(app, ids["a"], **changes).items() if v is not None}
        error = assert_error(client.post(URL, json=body, headers=headers), 422, "invalid_input")
        assert error["message"] == "提交的数据有误。", case
        node = error["details"]["json"]
        for key in path:
            assert key in node, (case, error["details"])
            node = node[key]
        assert node and all(isinstance(m, str) for m in node), case  # the messages for that field
    assert household_count(app, ids["a"]) == 1


def test_create_with_a_body_that_is_not_json_is_an_error_in_the_json_shape(client, ids, token):
    response = client.post(URL, data="{not json", content_type="application/json", headers=token("a-admin"))
    assert_error(response, 400, "bad_request")


def test_create_duplicate_number_is_409(app, client, ids, token):
    headers = token("a-admin")
    assert client.post(URL, json=new_household(app, ids["a"]), headers=headers).status_code == 201
    error = assert_error(
        client.post(URL, json=new_household(app, ids["a"]), headers=headers),
        409,
        "duplicate_household_number",
    )
    assert error["message"] == "户号 N-1 在本村已存在。"
    assert household_count(app, ids["a"]) == 2
    # the same number in another village is fine
    assert client.post(URL, json=new_household(app, ids["b"]), headers=token("b-admin")).status_code == 201


@pytest.mark.parametrize(
    "members, message",
    [
        ([{"name": "马兰", "relation": "spouse", "gender": "female"}], "一户必须有且只有一名户主。"),
        (
            [
                {"name": "马兰", "relation": "head", "gender": "female"},
                {"name": "马强", "relation": "head", "gender": "male"},
            ],
            "一户必须有且只有一名户主。",
        ),
        ([{"name": "  ", "relation": "head", "gender": "female"}], "成员姓名不能为空。"),
    ],
    ids=["no-head", "two-heads", "blank-name"],
)
def test_create_breaking_a_household_rule_is_422_invalid_input(app, client, ids, token, members, message):
    response = client.post(URL, json=new_household(app, ids["a"], members=members), headers=token("a-admin"))
    error = assert_error(response, 422, "invalid_input")
    assert error["message"] == message
    assert household_count(app, ids["a"]) == 1


def test_create_with_another_villages_group_is_422_unknown_group(app, client, ids, token):
    body = new_household(app, ids["a"], group_id=group_ids(app, ids["b"])["一组"])
    assert_error(client.post(URL, json=body, headers=token("a-admin")), 422, "unknown_group")
    assert household_count(app, ids["a"]) == household_count(app, ids["b"]) == 1


def test_create_with_a_bad_phone_is_422(app, client, ids, token):
    body = new_household(app, ids["a"], phone="call me")
    error = assert_error(client.post(URL, json=body, headers=token("a-admin")), 422, "invalid_input")
    assert error["message"] == "电话号码格式不正确。"


@pytest.mark.parametrize("username", ["a-supervisor", "a-leader"])
def test_read_only_roles_get_403_json_on_create(app, client, ids, token, username):
    headers = token(username)
    assert client.get(URL, headers=headers).status_code == 200  # they may read
    error = assert_error(
        client.post(URL, json=new_household(app, ids["a"]), headers=headers), 403, "forbidden"
    )
    assert error["message"] == "您没有权限执行此操作。"
    assert household_count(app, ids["a"]) == 1


def test_create_lands_in_the_callers_village_whatever_the_query_says(app, client, ids, token):
    response = client.post(
        f"{URL}?village={ids['b']}", json=new_household(app, ids["a"]), headers=token("a-admin")
    )
    assert response.status_code == 201
    assert household_count(app, ids["a"]) == 2 and household_count(app, ids["b"]) == 1


# --- the rest of the error shape


def test_unknown_path_and_method_answer_in_the_json_shape(client, ids, token):
    headers = token("a-admin")
    assert_error(client.get("/api/v1/no-such-thing", headers=headers), 404, "not_found")
    assert_error(client.delete(f"{URL}{ids['a_household']}", headers=headers), 405, "method_not_allowed")
