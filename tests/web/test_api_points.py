"""`getAccount`, `listEntries`, `createRule`, `awardPoints`, `reverseEntry`, `approveEntry`: success, refusals
with their codes, idempotency, roles, and 404 across villages."""

import pytest
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import Card, LedgerEntry, PointsAccount, PointsClaim, Rule
from lovemart.services import cards, points, rules, users
from tests.factories import make_household, make_user
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def world(app):
    with app.app_context():
        a = points_village("a", yuan_per_point=3, card_prefix="A")
        household, _ = carded_household(a, head="张三")
        uncarded = make_household(a, head="王五")
        b = points_village("b", card_prefix="B")
        b_household, _ = carded_household(b, head="李四")
        ids = {
            "a": a,
            "household": household,
            "uncarded": uncarded,
            "b": b,
            "b_household": b_household,
            "labour": make_rule(a, "义务劳动", "volunteer", 10),
            "meeting": make_rule(a, "参加村组会议", "collective", 2, cap_per_month=2),
            "litter": make_rule(a, "乱倒垃圾", "deduction", -150),
            "honour": make_rule(a, "五好家庭", "honour", 50, requires_approval=True),
            "retired": make_rule(a, "旧细则", "volunteer", 3),
            "b_rule": make_rule(b, "b村细则", "volunteer", 7),
        }
        with unit_of_work() as session:
            rules.set_active(session, actor=None, village_id=a, rule_id=ids["retired"], active=False)
        for village in ("a", "b"):
            for role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER):
                make_user(f"{village}-{role.value}", role, village)
        make_user("county", Role.COUNTY, "a")
        db.session.remove()
        return ids


@pytest.fixture
def auth(app, world):
    """`auth(username)` → headers with a new bearer token for that user."""

    def make(username: str) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"}

    return make


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
        return n


def balance(app, household_id) -> int:
    with app.app_context():
        value = db.session.scalar(
            select(PointsAccount.balance).where(PointsAccount.household_id == household_id)
        )
        db.session.remove()
        return value


def award_url(household_id) -> str:
    return f"/api/v1/households/{household_id}/points"


# --- getAccount --------------------------------------------------------------------------------------


def test_get_account_by_household_and_by_card(client, world, auth):
    headers = auth("a-admin")
    by_household = client.get(f"/api/v1/accounts?household={world['household']}", headers=headers)
    assert by_household.status_code == 200
    assert by_household.get_json() == {
        "household_id": world["household"],
        "balance": 100,
        "yuan": 300,
        "status": "active",
        "card_number": "A00001",
        "held": 0,  # nothing 公示中
        "pending": 0,  # nothing 待审核
    }
    by_card = client.get("/api/v1/accounts?card=a00001", headers=headers)  # as typed at the counter
    assert by_card.get_json() == by_household.get_json()
    for reader in ("a-supervisor", "a-leader", "county"):
        assert (
            client.get(f"/api/v1/accounts?household={world['household']}", headers=auth(reader)).status_code
            == 200
        )


def test_get_account_refusals(app, client, world, auth):
    headers = auth("a-admin")
    assert_error(client.get("/api/v1/accounts", headers=headers), 422, "invalid_input")
    both = client.get(f"/api/v1/accounts?household={world['household']}&card=A00001", headers=headers)
    assert_error(both, 422, "invalid_input")
    assert_error(
        client.get(f"/api/v1/accounts?household={world['uncarded']}", headers=headers),
        409,
        "no_points_account",
    )
    assert_error(client.get("/api/v1/accounts?card=A99999", headers=headers), 404, "not_found")
    with app.app_context(), unit_of_work() as session:
        card = session.scalar(select(Card).where(Card.number == "A00001"))
        cards.recover(session, actor=None, village_id=world["a"], card_id=card.id)
    assert_error(client.get("/api/v1/accounts?card=A00001", headers=headers), 409, "card_inactive")
    frozen = client.get(f"/api/v1/accounts?household={world['household']}", headers=headers).get_json()
    assert frozen["status"] == "frozen" and frozen["card_number"] is None and frozen["balance"] == 100


def test_get_account_is_404_across_villages(client, world, auth):
    headers = auth("a-admin")
    assert_error(
        client.get(f"/api/v1/accounts?household={world['b_household']}", headers=headers), 404, "not_found"
    )
    assert_error(client.get("/api/v1/accounts?card=B00001", headers=headers), 404, "not_found")
    # a county user reads every village of the county, one at a time
    county = auth("county")
    assert_error(
        client.get(f"/api/v1/accounts?household={world['b_household']}", headers=county), 404, "not_found"
    )
    in_b = client.get(
        f"/api/v1/accounts?household={world['b_household']}&village={world['b']}", headers=county
    )
    assert in_b.get_json()["card_number"] == "B00001"


def test_get_account_needs_a_token(client, world):
    assert_error(client.get(f"/api/v1/accounts?household={world['household']}"), 401, "unauthorized")


# --- listEntries -------------------------------------------------------------------------------------


def test_list_entries_newest_first_and_paged(app, client, world, auth):
    headers = auth("a-admin")
    for _ in range(4):
        assert (
            client.post(
                award_url(world["household"]), json={"rule_id": world["labour"]}, headers=headers
            ).status_code
            == 201
        )
    first = client.get(
        f"/api/v1/households/{world['household']}/entries?per_page=2", headers=headers
    ).get_json()
    assert first["meta"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert [e["balance_after"] for e in first["items"]] == [140, 130]
    last = client.get(
        f"/api/v1/households/{world['household']}/entries?per_page=2&page=3", headers=headers
    ).get_json()
    assert [(e["kind"], e["points"], e["rule_name"]) for e in last["items"]] == [("base", 100, "")]
    item = first["items"][0]
    assert {
        "id",
        "seq",
        "points",
        "balance_after",
        "kind",
        "rule_id",
        "rule_name",
        "note",
        "created_at",
        "hash",
    } <= set(item)
    assert_error(
        client.get(f"/api/v1/households/{world['household']}/entries?per_page=500", headers=headers),
        422,
        "invalid_input",
    )


def test_list_entries_refusals_and_isolation(client, world, auth):
    headers = auth("a-supervisor")
    assert_error(
        client.get(f"/api/v1/households/{world['uncarded']}/entries", headers=headers),
        409,
        "no_points_account",
    )
    assert_error(
        client.get(f"/api/v1/households/{world['b_household']}/entries", headers=headers), 404, "not_found"
    )
    assert_error(client.get("/api/v1/households/999999/entries", headers=headers), 404, "not_found")


# --- createRule --------------------------------------------------------------------------------------


def test_create_rule_as_leader(app, client, world, auth):
    body = {
        "name": "植树造林",
        "category": "volunteer",
        "points": 6,
        "cap_per_month": 12,
        "description": "春季",
    }
    response = client.post("/api/v1/rules", json=body, headers=auth("a-leader"))
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    assert created["name"] == "植树造林" and created["active"] is True and created["cap_per_month"] == 12
    with app.app_context():
        rule = db.session.get(Rule, created["id"])
        assert rule.village_id == world["a"]
        db.session.remove()
    escalating = {"name": "乱扔秸秆", "category": "deduction", "points": -5, "repeat_points": [-5, -10]}
    assert client.post("/api/v1/rules", json=escalating, headers=auth("a-leader")).get_json()[
        "repeat_points"
    ] == [-5, -10]


def test_create_rule_refusals(client, world, auth):
    leader = auth("a-leader")
    wrong_sign = {"name": "错误", "category": "deduction", "points": 5}
    assert_error(client.post("/api/v1/rules", json=wrong_sign, headers=leader), 422, "invalid_input")
    duplicate = {"name": "义务劳动", "category": "volunteer", "points": 5}
    assert_error(client.post("/api/v1/rules", json=duplicate, headers=leader), 422, "invalid_input")
    assert_error(client.post("/api/v1/rules", json={"name": "x"}, headers=leader), 422, "invalid_input")
    body = {"name": "新细则", "category": "volunteer", "points": 5}
    for other in ("a-admin", "a-supervisor", "county"):
        assert_error(client.post("/api/v1/rules", json=body, headers=auth(other)), 403, "forbidden")


def test_rule_created_in_village_b_is_not_usable_in_a(client, world, auth):
    created = client.post(
        "/api/v1/rules",
        json={"name": "b新细则", "category": "volunteer", "points": 5},
        headers=auth("b-leader"),
    ).get_json()
    response = client.post(
        award_url(world["household"]), json={"rule_id": created["id"]}, headers=auth("a-admin")
    )
    assert_error(response, 404, "not_found")


# --- awardPoints -------------------------------------------------------------------------------------


def test_award_points_records_an_entry(app, client, world, auth):
    response = client.post(
        award_url(world["household"]),
        json={"rule_id": world["labour"], "note": "修路"},
        headers=auth("a-admin"),
    )
    assert response.status_code == 201
    entry = response.get_json()
    assert (entry["kind"], entry["points"], entry["balance_after"], entry["rule_name"], entry["note"]) == (
        "award",
        10,
        110,
        "义务劳动",
        "修路",
    )
    assert balance(app, world["household"]) == 110


def test_award_points_under_a_rule_needing_approval_gives_202_with_a_claim(app, client, world, auth):
    response = client.post(
        award_url(world["household"]), json={"rule_id": world["honour"]}, headers=auth("a-admin")
    )
    assert response.status_code == 202
    claim = response.get_json()
    assert (claim["status"], claim["points"], claim["from_villager"]) == ("pending", 50, False)
    assert balance(app, world["household"]) == 100


def test_award_points_is_idempotent_by_key(app, client, world, auth):
    headers = auth("a-admin") | {"Idempotency-Key": "labour-2026-11-01-zhang"}
    first = client.post(award_url(world["household"]), json={"rule_id": world["labour"]}, headers=headers)
    again = client.post(award_url(world["household"]), json={"rule_id": world["labour"]}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert balance(app, world["household"]) == 110
    pending = headers | {"Idempotency-Key": "honour-1"}
    one = client.post(award_url(world["household"]), json={"rule_id": world["honour"]}, headers=pending)
    two = client.post(award_url(world["household"]), json={"rule_id": world["honour"]}, headers=pending)
    assert one.status_code == two.status_code == 202 and one.get_json() == two.get_json()
    assert count(app, PointsClaim) == 1
    # the same key for something else is refused
    clash = client.post(award_url(world["household"]), json={"rule_id": world["meeting"]}, headers=headers)
    assert_error(clash, 422, "idempotency_conflict")
    # a key names one request of the village: from another of its users the same request is a replay
    with app.app_context():
        make_user("a-admin-2", Role.ADMIN, "a")
    other = client.post(
        award_url(world["household"]),
        json={"rule_id": world["labour"]},
        headers=auth("a-admin-2") | {"Idempotency-Key": "labour-2026-11-01-zhang"},
    )
    assert other.status_code == 201 and other.get_json()["id"] == first.get_json()["id"]
    assert balance(app, world["household"]) == 110
    bad_key = client.post(
        award_url(world["household"]),
        json={"rule_id": world["labour"]},
        headers=auth("a-admin") | {"Idempotency-Key": "x" * 65},
    )
    assert_error(bad_key, 422, "invalid_input")


@pytest.mark.parametrize(
    ("setup", "rule", "code"),
    [
        ("cap", "meeting", "cap_exceeded"),
        ("none", "litter", "insufficient_points"),
        ("none", "retired", "rule_retired"),
        ("recover", "labour", "account_frozen"),
        ("uncarded", "labour", "no_points_account"),
    ],
)
def test_award_points_refusals_are_409_with_codes(app, client, world, auth, setup, rule, code):
    headers = auth("a-admin")
    household = world["uncarded"] if setup == "uncarded" else world["household"]
    if setup == "cap":
        assert (
            client.post(award_url(household), json={"rule_id": world["meeting"]}, headers=headers).status_code
            == 201
        )
    if setup == "recover":
        with app.app_context(), unit_of_work() as session:
            card = session.scalar(select(Card).where(Card.household_id == household))
            cards.recover(session, actor=None, village_id=world["a"], card_id=card.id)
    entries = count(app, LedgerEntry)
    assert_error(client.post(award_url(household), json={"rule_id": world[rule]}, headers=headers), 409, code)
    assert count(app, LedgerEntry) == entries


def test_award_points_is_404_across_villages_and_403_for_readers(app, client, world, auth):
    admin = auth("a-admin")
    assert_error(
        client.post(award_url(world["b_household"]), json={"rule_id": world["labour"]}, headers=admin),
        404,
        "not_found",
    )
    assert_error(
        client.post(award_url(world["household"]), json={"rule_id": world["b_rule"]}, headers=admin),
        404,
        "not_found",
    )
    assert balance(app, world["b_household"]) == 100
    for reader in ("a-supervisor", "a-leader", "county"):
        response = client.post(
            award_url(world["household"]), json={"rule_id": world["labour"]}, headers=auth(reader)
        )
        assert_error(response, 403, "forbidden")
    assert_error(client.post(award_url(world["household"]), json={}, headers=admin), 422, "invalid_input")


# --- reverseEntry ------------------------------------------------------------------------------------


def _awarded_entry(client, world, auth) -> int:
    response = client.post(
        award_url(world["household"]), json={"rule_id": world["labour"]}, headers=auth("a-admin")
    )
    return response.get_json()["id"]


def test_reverse_entry(app, client, world, auth):
    entry_id = _awarded_entry(client, world, auth)
    headers = auth("a-admin") | {"Idempotency-Key": "fix-1"}
    response = client.post(f"/api/v1/entries/{entry_id}/reversal", json={"reason": "录错户"}, headers=headers)
    assert response.status_code == 201
    reversal = response.get_json()
    assert (reversal["kind"], reversal["points"], reversal["reversal_of_id"], reversal["note"]) == (
        "reversal",
        -10,
        entry_id,
        "录错户",
    )
    again = client.post(f"/api/v1/entries/{entry_id}/reversal", json={"reason": "录错户"}, headers=headers)
    assert again.status_code == 201 and again.get_json() == reversal  # the retry, not a second reversal
    assert balance(app, world["household"]) == 100
    twice = client.post(
        f"/api/v1/entries/{entry_id}/reversal", json={"reason": "再冲"}, headers=auth("a-admin")
    )
    assert_error(twice, 409, "already_reversed")
    of_reversal = client.post(
        f"/api/v1/entries/{reversal['id']}/reversal", json={"reason": "x"}, headers=auth("a-admin")
    )
    assert_error(of_reversal, 422, "invalid_input")
    assert_error(
        client.post(f"/api/v1/entries/{entry_id}/reversal", json={}, headers=auth("a-admin")),
        422,
        "invalid_input",
    )
    with app.app_context():
        assert points.verify(db.session) == []
        db.session.remove()


def test_reverse_entry_is_404_across_villages_and_admin_only(app, client, world, auth):
    entry_id = _awarded_entry(client, world, auth)
    assert_error(
        client.post(f"/api/v1/entries/{entry_id}/reversal", json={"reason": "x"}, headers=auth("b-admin")),
        404,
        "not_found",
    )
    assert_error(
        client.post(
            f"/api/v1/entries/{entry_id}/reversal", json={"reason": "x"}, headers=auth("a-supervisor")
        ),
        403,
        "forbidden",
    )
    assert_error(
        client.post("/api/v1/entries/999999/reversal", json={"reason": "x"}, headers=auth("a-admin")),
        404,
        "not_found",
    )


# --- approveEntry ------------------------------------------------------------------------------------


def _pending_claim(client, world, auth) -> int:
    response = client.post(
        award_url(world["household"]), json={"rule_id": world["honour"]}, headers=auth("a-admin")
    )
    assert response.status_code == 202
    return response.get_json()["id"]


def test_approve_entry(app, client, world, auth):
    claim_id = _pending_claim(client, world, auth)
    response = client.post(f"/api/v1/claims/{claim_id}/approval", headers=auth("a-supervisor"))
    assert response.status_code == 201, response.get_data(as_text=True)
    entry = response.get_json()
    assert (entry["points"], entry["balance_after"], entry["rule_name"]) == (50, 150, "五好家庭")
    with app.app_context():
        supervisor = users.by_username(db.session, "a-supervisor")
        assert entry["approved_by_id"] == supervisor.id
        db.session.remove()
    assert balance(app, world["household"]) == 150
    assert_error(
        client.post(f"/api/v1/claims/{claim_id}/approval", headers=auth("a-supervisor")),
        409,
        "claim_not_open",
    )


def test_approve_entry_refusals_roles_and_isolation(app, client, world, auth):
    claim_id = _pending_claim(client, world, auth)
    for other in ("a-admin", "a-leader", "county"):
        assert_error(
            client.post(f"/api/v1/claims/{claim_id}/approval", headers=auth(other)), 403, "forbidden"
        )
    assert_error(
        client.post(f"/api/v1/claims/{claim_id}/approval", headers=auth("b-supervisor")), 404, "not_found"
    )
    with app.app_context(), unit_of_work() as session:
        card = session.scalar(select(Card).where(Card.household_id == world["household"]))
        cards.recover(session, actor=None, village_id=world["a"], card_id=card.id)
    assert_error(
        client.post(f"/api/v1/claims/{claim_id}/approval", headers=auth("a-supervisor")),
        409,
        "account_frozen",
    )
    assert balance(app, world["household"]) == 100


# --- the OpenAPI document ----------------------------------------------------------------------------


def test_openapi_lists_the_points_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    found = {
        op["operationId"]: (path, method)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert found["getAccount"] == ("/api/v1/accounts", "get")
    assert found["listEntries"] == ("/api/v1/households/{household_id}/entries", "get")
    assert found["createRule"] == ("/api/v1/rules", "post")
    assert found["awardPoints"] == ("/api/v1/households/{household_id}/points", "post")
    assert found["reverseEntry"] == ("/api/v1/entries/{entry_id}/reversal", "post")
    assert found["approveEntry"] == ("/api/v1/claims/{claim_id}/approval", "post")
    award = spec["paths"]["/api/v1/households/{household_id}/points"]["post"]
    assert {"201", "202", "409"} <= set(award["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in award["parameters"])
