"""Flat cost: the paths a county runs all day issue the same number of SQL statements whether the books hold
a few entries or hundreds (stored balances, indexed lookups, maintained totals: no count or sum over the
ledger). Counted with the `query_counter` fixture, never timed."""

import pytest

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.services import cards, points, users
from tests.factories import make_user
from tests.points_helpers import carded_household, make_rule, points_village
from tests.shop_helpers import make_product


@pytest.fixture
def books(app):
    with app.app_context():
        village = points_village("a")
        household, token = carded_household(village, head="王建华")
        rule = make_rule(village, "义务劳动", "volunteer", 10)
        rice = make_product(village, "大米", 3, stock=10_000)
        make_user("a-admin", Role.ADMIN, "a")
        number = cards.active_card(db.session, village_id=village, household_id=household).number
        with unit_of_work() as session:
            api = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
        db.session.remove()
    return {
        "village": village,
        "household": household,
        "rule": rule,
        "rice": rice,
        "card": number,
        "token": token,
        "api": api,
    }


def grow(app, books, entries: int) -> None:
    with app.app_context(), unit_of_work() as session:
        for _ in range(entries):
            points.award(
                session,
                actor=None,
                village_id=books["village"],
                household_id=books["household"],
                rule_id=books["rule"],
            )


def redeem(client, books, key: str):
    return client.post(
        "/api/v1/redemptions/",
        json={"card_number": books["card"], "lines": [{"product_id": books["rice"], "quantity": 1}]},
        headers={"Authorization": f"Bearer {books['api']}", "Idempotency-Key": key},
    )


def test_a_redemption_costs_the_same_with_10_or_500_entries(app, client, books, query_counter):
    grow(app, books, 10)
    with query_counter() as few:
        assert redeem(client, books, "k-1").status_code == 201
    grow(app, books, 490)
    with query_counter() as many:
        assert redeem(client, books, "k-2").status_code == 201
    assert len(many) == len(few)
    assert not any("count(" in s.lower() or "sum(" in s.lower() for s in many if "ledger_entries" in s)


def test_the_statement_page_costs_the_same_with_10_or_500_entries(app, login, books, query_counter):
    admin = login("a-admin")
    grow(app, books, 10)
    with query_counter() as few:
        assert admin.get(f"/statements/{books['household']}").status_code == 200
    grow(app, books, 490)
    with query_counter() as many:
        assert admin.get(f"/statements/{books['household']}").status_code == 200
    assert len(many) == len(few)
