"""Fuzzing every form: for each POST route of the web UI, hypothesis sends the fields that the route's page
shows (harvested from its HTML, with the values the page offers), each either kept or replaced by a hostile
value: empty, huge, negative, not numbers, impossible dates, markup, control characters, NUL bytes, lone
surrogates (sent as the bytes a careless UTF-8 encoder writes for them), random file contents. Starting from
the page's own values lets most inputs pass the other fields' validation and reach the services and the
database. Whatever arrives, the answer is never a 5xx: bad input gets a message, and the books still verify
afterwards. A request key (the hidden field that makes a form idempotent) is also sent as one that village b
already used for the same form.

The routes, roles and objects are those of the authorization matrix (`world`), so a new form is fuzzed as
soon as it is in the matrix. The API is fuzzed from its OpenAPI document in test_api_fuzz.py.
"""

import os
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lovemart.authz import Role
from lovemart.db import db
from lovemart.extensions import limiter
from tests.books import problems
from tests.conftest import PASSWORD
from tests.factories import make_grid_user, make_user
from tests.figures import record
from tests.web.test_authz_matrix import (  # noqa: F401 - `world` is a fixture
    ADMIN,
    ANONYMOUS,
    COUNTY,
    EXPECTED,
    GRID,
    LEADER,
    SUPERVISOR,
    SYSADMIN,
    VILLAGER,
    _clients,
    _routes,
    _url,
    world,
)

EXAMPLES = 100 if os.environ.get("LOVEMART_SOAK") == "1" else 12
PREFERENCE = (ADMIN, SUPERVISOR, SYSADMIN, LEADER, COUNTY, GRID, VILLAGER, ANONYMOUS)
#: For button-only forms (activate, cancel, approve …): the names such forms use.
FALLBACK_FIELDS = ("reason", "note", "quantity", "active", "confirm")
#: The hidden fields that make a form idempotent, and the key village b uses in each before the fuzz.
KEY_FIELDS = ("request_key", "idempotency_key")
SHARED_KEY = "SharedFormKey_0123456789ab"
#: What a person types into a form's empty boxes (a cart's first line only).
FILL = {
    "note": "扫雪",
    "text": "一个书包",
    "reason": "记错了",
    "amount": "1",
    "quantity": "1",
    "cost": "1",
    "household_number": "001",
}
#: Village b's users, signed in like village a's, for the other side of a shared key.
B_USERS = {ADMIN: Role.ADMIN, SUPERVISOR: Role.SUPERVISOR, LEADER: Role.LEADER, GRID: Role.GRID}
SKIP = {
    "auth.logout",
    "auth.login",
    "auth.password",
}  # sign-in has its own tests; these end the run's sessions

hostile = st.one_of(
    st.text(max_size=40),
    st.text(max_size=3000),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1.5",
            "1e309",
            "NaN",
            "99999999999999999999999",
            "２０",
            "2026-02-30",
            "9999-12-31",
            "abc",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00",
            "a\x00b",
            "\u202e",
            "\ud7ff",
            "\ud800",
            "米\udfff",
            "\udbff\udbff",
            "../../etc/passwd",
            "y",
            "on",
        ]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.text(alphabet=st.characters(categories=["Cs", "Lo"]), max_size=20),  # with lone surrogates
)


class _FormFields(HTMLParser):
    """The named fields of a page with the value each would submit (a select's first or selected option)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.first_choice: dict[str, str] = {}  # a select's first non-empty option
        self.files: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrf_token":
            if a.get("type") == "file":
                self.files.add(name)
            elif a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.values.setdefault(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            if a.get("value"):
                self.first_choice.setdefault(self._select, a["value"])
            if self._select not in self.values or "selected" in a:
                self.values[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def _fields(client, url: str, *, filled: bool = False) -> tuple[dict[str, str], list[str]]:
    """The page's fields with the values it shows; `filled`: as a person fills them in (`FILL`, a select's
    first choice, a cart's first line only)."""
    page = client.get(url)
    if page.status_code != 200 or page.mimetype != "text/html":
        return dict.fromkeys(FALLBACK_FIELDS, ""), []
    parser = _FormFields()
    parser.feed(page.get_data(as_text=True))
    values = parser.values or dict.fromkeys(FALLBACK_FIELDS, "")
    if filled:
        values = {
            name: value.strip() or _filled(name, parser.first_choice.get(name, ""))
            for name, value in values.items()
        }
    return values, sorted(parser.files)


def _filled(name: str, choice: str) -> str:
    if name.startswith("lines-") and not name.startswith("lines-0-"):
        return ""
    return choice or FILL.get(name.removeprefix("lines-0-"), "")


def _b_clients(app, objects: dict) -> dict:
    with app.app_context():
        for role, user_role in B_USERS.items():
            if user_role is Role.GRID:  # a grid worker needs a group: village b's household's
                make_grid_user(f"b-{role}", "b", ("一组",))
            else:
                make_user(f"b-{role}", user_role, "b")
        db.session.remove()
    limiter.reset()  # the sign-in rate limit counted village a's sign-ins
    clients = {}
    for role in B_USERS:
        client = clients[role] = app.test_client()
        assert client.post("/login", data={"username": f"b-{role}", "password": PASSWORD}).status_code == 302
    clients[VILLAGER] = app.test_client()
    clients[VILLAGER].get(f"/c/{objects['b']['token']}")
    return clients


def _use_the_shared_key(client, url: str):
    """The page's form sent as a person fills it in (without a photo), under `SHARED_KEY`."""
    fields, _files = _fields(client, url, filled=True)
    fields |= {name: SHARED_KEY for name in KEY_FIELDS if name in fields}
    body, content_type = _multipart(fields, {})
    return client.post(url, data=body, content_type=content_type)


def _multipart(values: dict[str, str], uploads: dict[str, bytes]) -> tuple[bytes, str]:
    """A multipart body written by hand: the test client's encoder refuses a lone surrogate, a careless
    client's does not (it writes the three bytes of UTF-8's pattern, which no decoder accepts)."""
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-8", "surrogatepass")
        + b"\r\n"
        for name, value in values.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in uploads.items()
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _fuzz(
    client, url: str, fields: dict[str, str], files: list[str], tried: dict, failures: list[str]
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        values=st.fixed_dictionaries(
            {
                name: st.just(value) | hostile | (st.just(SHARED_KEY) if name in KEY_FIELDS else st.nothing())
                for name, value in fields.items()
            }
        ),
        uploads=st.fixed_dictionaries(dict.fromkeys(files, st.binary(max_size=2000))),
    )
    def post(values, uploads):
        tried["inputs"] += 1
        body, content_type = _multipart(values, uploads)
        response = client.post(url, data=body, content_type=content_type)
        if response.status_code >= 500:
            failures.append(f"POST {url} {values!r}: {response.status_code}")

    post()


@pytest.mark.soak
def test_no_form_input_makes_a_server_error(app, database, world):  # noqa: F811 - the fixture
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; the fuzz must reach the forms
    app.config["CARD_PAGE_RATE_LIMIT"] = "100000 per minute"
    clients = _clients(app, world)
    b_clients = _b_clients(app, world["objects"])
    failures: list[str] = []
    tried = {"routes": 0, "inputs": 0}
    for method, rule in _routes(app):
        allowed = EXPECTED.get((method, rule.endpoint), frozenset())
        if method != "POST" or rule.rule.startswith("/api/") or rule.endpoint in SKIP or not allowed:
            continue
        role = next(r for r in PREFERENCE if r in allowed)
        url = _url(app, rule, world["objects"]["a"])
        client = clients[role]
        fields, files = _fields(client, url)
        tried["routes"] += 1
        if b_clients.get(role) and any(name in fields for name in KEY_FIELDS):
            _use_the_shared_key(b_clients[role], _url(app, rule, world["objects"]["b"]))
            # the page's own values under the key village b used: a refusal, not a clash in the database
            tried["inputs"] += 1
            answer = _use_the_shared_key(client, url)
            if answer.status_code >= 500:
                failures.append(f"POST {url} with village b's request key: {answer.status_code}")

        _fuzz(client, url, fields, files, tried, failures)
    record(
        f"form fuzz {database['kind']}",
        {"forms": tried["routes"], "inputs": tried["inputs"], "5xx": len(failures)},
    )
    assert failures == [], "\n".join(failures[:20])
    with app.app_context():
        assert problems(db.session) == []
        db.session.remove()
