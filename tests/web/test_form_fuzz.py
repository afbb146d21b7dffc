"""Fuzzing every form: for each POST route of the web UI, hypothesis sends the fields that the route's page
shows (harvested from its HTML, with the values the page offers), each either kept or replaced by a hostile
value: empty, huge, negative, not numbers, impossible dates, markup, control characters, NUL bytes, random
file contents. Starting from the page's own values lets most inputs pass the other fields' validation and
reach the services and the database. Whatever arrives, the answer is never a
5xx: bad input gets a message, and the books still verify afterwards.

The routes, roles and objects are those of the authorization matrix (`world`), so a new form is fuzzed as
soon as it is in the matrix. The API is fuzzed from its OpenAPI document in test_api_fuzz.py.
"""

import io
import os
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lovemart.db import db
from tests.books import problems
from tests.figures import record
from tests.web.test_authz_matrix import (  # noqa: F401 - `world` is a fixture
    ADMIN,
    ANONYMOUS,
    COUNTY,
    EXPECTED,
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
PREFERENCE = (ADMIN, SUPERVISOR, SYSADMIN, LEADER, COUNTY, VILLAGER, ANONYMOUS)
#: For button-only forms (activate, cancel, approve …): the names such forms use.
FALLBACK_FIELDS = ("reason", "note", "quantity", "active", "confirm")
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
            "../../etc/passwd",
            "y",
            "on",
        ]
    ),
    st.integers(-(10**12), 10**12).map(str),
)


class _FormFields(HTMLParser):
    """The named fields of a page with the value each would submit (a select's first or selected option)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
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


def _fields(client, url: str) -> tuple[dict[str, str], list[str]]:
    page = client.get(url)
    if page.status_code != 200 or page.mimetype != "text/html":
        return dict.fromkeys(FALLBACK_FIELDS, ""), []
    parser = _FormFields()
    parser.feed(page.get_data(as_text=True))
    return parser.values or dict.fromkeys(FALLBACK_FIELDS, ""), sorted(parser.files)


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
        values=st.fixed_dictionaries({name: st.just(value) | hostile for name, value in fields.items()}),
        uploads=st.fixed_dictionaries(dict.fromkeys(files, st.binary(max_size=2000))),
    )
    def post(values, uploads):
        data = dict(values)
        data.update({name: (io.BytesIO(content), "photo.jpg") for name, content in uploads.items()})
        tried["inputs"] += 1
        response = client.post(url, data=data, content_type="multipart/form-data")
        if response.status_code >= 500:
            failures.append(f"POST {url} {values!r}: {response.status_code}")

    post()


@pytest.mark.soak
def test_no_form_input_makes_a_server_error(app, database, world):  # noqa: F811 - the fixture
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; the fuzz must reach the forms
    app.config["CARD_PAGE_RATE_LIMIT"] = "100000 per minute"
    clients = _clients(app, world)
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

        _fuzz(client, url, fields, files, tried, failures)
    record(
        f"form fuzz {database['kind']}",
        {"forms": tried["routes"], "inputs": tried["inputs"], "5xx": len(failures)},
    )
    assert failures == [], "\n".join(failures[:20])
    with app.app_context():
        assert problems(db.session) == []
        db.session.remove()
