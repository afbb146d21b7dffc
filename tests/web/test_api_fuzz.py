"""Fuzzing the API from its own OpenAPI document with schemathesis, in process (WSGI): for every operation,
generated paths, queries, headers and bodies, valid and not, sent with an administrator's bearer token
against a village with households, cards, goods and stock. Each case is also sent as one of the input
classes that once answered 500 (issue 13): every string of its body with a lone surrogate, a body
nested 100,000 deep, or an Idempotency-Key that the other village already used for every keyed operation.
No answer is a 5xx; afterwards the books verify. (Forms are fuzzed in test_form_fuzz.py.)"""

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import Card, Household, LedgerEntry, Product, Rule, Zone
from lovemart.services import users
from tests.books import problems
from tests.factories import make_two_villages, make_user
from tests.figures import record
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product

EXAMPLES = 100 if os.environ.get("LOVEMART_SOAK") == "1" else 12
#: The key village b used for each keyed operation before the fuzz starts.
SHARED_KEY = "used-by-the-other-village"
#: How each case is sent: as generated, or turned into one of the hostile input classes.
HOSTILE = (None, "lone surrogate", "deep nesting", "another village's key")


@pytest.fixture
def fuzz_world(app) -> dict:
    """A village with two carded households and goods in stock, its administrator's token and its ids; the
    other village's use of `SHARED_KEY`."""
    app.config["CARD_PAGE_RATE_LIMIT"] = "100000 per minute"
    with app.app_context():
        ids = make_two_villages()
        for head in ("王建华", "李秀英"):
            carded_household(ids["a"], head=head)
        make_product(ids["a"], "大米", 30, stock=50)
        make_product(ids["a"], "洗洁精", 5, stock=50, zone="洗化区", unit="瓶")
        make_user("fuzz-admin", Role.ADMIN, "a")
        _use_the_shared_key_in_village_b(app, ids)
        with unit_of_work() as session:
            token = users.create_api_token(session, actor=None, user=users.by_username(session, "fuzz-admin"))
        own = _own_values(ids["a"])
        db.session.remove()
    return {"headers": {"Authorization": f"Bearer {token}"}, "own": own}


def _own_values(village_id: int) -> dict[str, list]:
    """Village a's real ids by the names the API gives them, for hostile cases that must reach a service."""
    tables = {
        "household_id": Household,
        "rule_id": Rule,
        "zone_id": Zone,
        "product_id": Product,
        "entry_id": LedgerEntry,
    }
    own = {
        name: list(db.session.scalars(select(model.id).where(model.village_id == village_id)))
        for name, model in tables.items()
    }
    own["card_number"] = list(db.session.scalars(select(Card.number).where(Card.village_id == village_id)))
    return own


def _use_the_shared_key_in_village_b(app, ids: dict) -> None:
    """Village b's own wish, award and redemption through the API, each under `SHARED_KEY`."""
    household, _ = carded_household(ids["b"], head="赵大爷")
    rice = make_product(ids["b"], "大米", 30, stock=5)
    rule = make_rule(ids["b"], "义务劳动", "volunteer", 10)
    make_user("fuzz-b-admin", Role.ADMIN, "b")
    with unit_of_work() as session:
        card = session.scalar(select(Card.number).where(Card.household_id == household))
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "fuzz-b-admin"))
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": SHARED_KEY}
    client = app.test_client()
    for url, body in (
        ("/api/v1/wishes/", {"household_id": household, "text": "化肥", "category": "farming"}),
        (f"/api/v1/households/{household}/points", {"rule_id": rule}),
        ("/api/v1/redemptions/", {"card_number": card, "lines": [{"product_id": rice, "quantity": 1}]}),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.soak
def test_no_api_input_makes_a_server_error(app, database, fuzz_world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    tried = {"operations": 0, "inputs": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        tried["operations"] += 1
        _fuzz(app, operation, fuzz_world, tried, failures)
    record(f"API fuzz {database['kind']}", {**tried, "5xx": len(failures)})
    assert failures == [], "\n".join(failures[:20])
    with app.app_context():
        assert problems(db.session) == []
        db.session.remove()


def _fuzz(app, operation, world: dict, tried: dict, failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), hostile=st.sampled_from(HOSTILE), data=st.data())
    def call(case, hostile, data):
        tried["inputs"] += 1
        if hostile is None:
            response = case.call(headers=world["headers"])
        else:
            response = _send_hostile(app, case, world, hostile, data)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} {case.body!r} ({hostile}): {response.status_code}"
            )

    call()


def _send_hostile(app, case, world: dict, hostile: str, data):
    """The case as one of the hostile input classes, as raw JSON (a client's encoder would refuse both). Its
    ids are the village's own (drawn), so that it gets past the lookups to the service and the database."""
    headers = {**(case.headers or {}), **world["headers"]}
    own = world["own"]
    for name in case.path_parameters or {}:
        if own.get(name):
            case.path_parameters[name] = data.draw(st.sampled_from(own[name]))
    body = case.body if isinstance(case.body, (dict, list, str, int, float, bool)) else {}
    body = _with_own_ids(body, own, data)
    if hostile == "lone surrogate":
        raw = json.dumps(_with_surrogates(body))  # ensure_ascii writes each one as \udXXX
    elif hostile == "deep nesting":
        raw = "[" * 100_000 + "]" * 100_000
    else:
        raw, headers["Idempotency-Key"] = json.dumps(body), SHARED_KEY
    return app.test_client().open(
        case.formatted_path,
        method=case.method,
        query_string=case.query,
        headers=headers,
        data=raw,
        content_type="application/json",
    )


def _with_own_ids(value, own: dict, data):
    if isinstance(value, dict):
        return {
            k: data.draw(st.sampled_from(own[k])) if own.get(k) else _with_own_ids(v, own, data)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_own_ids(v, own, data) for v in value]
    return value


def _with_surrogates(value):
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, dict):
        return {k: _with_surrogates(v) for k, v in value.items()}  # an unknown key would stop at the schema
    if isinstance(value, list):
        return [_with_surrogates(v) for v in value]
    return value
