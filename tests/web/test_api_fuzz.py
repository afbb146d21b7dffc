"""Fuzzing the API from its own OpenAPI document with schemathesis, in process (WSGI): for every operation,
generated paths, queries, headers and bodies, valid and not, sent with an administrator's bearer token
against a village with households, cards, goods and stock. No answer is a 5xx; afterwards the books verify.
(Forms are fuzzed in test_form_fuzz.py.)"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.services import users
from tests.books import problems
from tests.factories import make_two_villages, make_user
from tests.figures import record
from tests.points_helpers import carded_household
from tests.shop_helpers import make_product

EXAMPLES = 100 if os.environ.get("LOVEMART_SOAK") == "1" else 12


@pytest.fixture
def bearer(app) -> dict:
    """A village with two carded households and goods in stock, and its administrator's token."""
    app.config["CARD_PAGE_RATE_LIMIT"] = "100000 per minute"
    with app.app_context():
        ids = make_two_villages()
        for head in ("王建华", "李秀英"):
            carded_household(ids["a"], head=head)
        make_product(ids["a"], "大米", 30, stock=50)
        make_product(ids["a"], "洗洁精", 5, stock=50, zone="洗化区", unit="瓶")
        make_user("fuzz-admin", Role.ADMIN, "a")
        with unit_of_work() as session:
            token = users.create_api_token(session, actor=None, user=users.by_username(session, "fuzz-admin"))
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.soak
def test_no_api_input_makes_a_server_error(app, database, bearer):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    tried = {"operations": 0, "inputs": 0}
    for result in schema.get_all_operations():
        operation = result.ok()
        tried["operations"] += 1
        _fuzz(operation, bearer, tried, failures)
    record(f"API fuzz {database['kind']}", {**tried, "5xx": len(failures)})
    assert failures == [], "\n".join(failures[:20])
    with app.app_context():
        assert problems(db.session) == []
        db.session.remove()


def _fuzz(operation, bearer: dict, tried: dict, failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case):
        tried["inputs"] += 1
        response = case.call(headers=bearer)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {response.status_code}")

    call()
