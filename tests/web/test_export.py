"""Roster export: an .xlsx download of the user's own village, in the columns the import reads."""

from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lovemart.db import db
from lovemart.extensions import babel
from lovemart.services import spreadsheets
from tests.factories import make_household, make_two_villages, make_village
from tests.rosters import HEADER, read_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PO_FILE = Path(__file__).parents[2] / "lovemart" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def ids(app):
    # an app context of its own, so each request below gets a fresh one, as in production
    with app.app_context():
        ids = make_two_villages()
        make_household(ids["b"], head="王五", number="B-2", others=("王小五",))
    return ids


def test_admin_downloads_own_village_only(login, ids):
    response = login("a-admin").get("/households/export.xlsx")

    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "filename=a-households.xlsx" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = read_xlsx(response.data)
    assert rows[0] == tuple(HEADER)
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [("张三", "户主", "男"), ("张小红", "子女", "女")]
    assert {r[0] for r in rows[1:]} == {rows[1][0]}  # one household, one 户号
    assert rows[1][1] == "一组" and rows[1][8] == "一般户"


def test_other_village_admin_gets_only_theirs(login, ids):
    rows = read_xlsx(login("b-admin").get("/households/export.xlsx").data)
    names = [r[2] for r in rows[1:]]
    assert sorted(names) == sorted(["李四", "王五", "王小五"])
    assert "张三" not in names


def test_read_only_roles_may_export(login, ids):
    for username in ("a-supervisor", "a-leader"):
        response = login(username).get("/households/export.xlsx")
        assert response.status_code == 200, username
        assert [r[2] for r in read_xlsx(response.data)[1:]] == ["张三", "张小红"]


def test_county_user_exports_the_village_they_switched_to(login, ids):
    client = login("county")
    assert client.post("/village", data={"village_id": ids["b"]}).status_code == 302
    response = client.get("/households/export.xlsx")
    assert response.status_code == 200
    assert "filename=b-households.xlsx" in response.headers["Content-Disposition"]
    assert "李四" in [r[2] for r in read_xlsx(response.data)[1:]]


def test_anonymous_is_sent_to_sign_in_and_sysadmin_has_no_village(client, login, ids):
    response = client.get("/households/export.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login("sysadmin").get("/households/export.xlsx").status_code == 403


@pytest.fixture
def english_catalogue(app, tmp_path, monkeypatch):
    """The English catalogue compiled for this test, so the result does not depend on `make translations`."""
    target = tmp_path / "translations" / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with PO_FILE.open("rb") as po, (target / "messages.mo").open("wb") as mo:
        write_mo(mo, read_po(po, locale="en"))
    monkeypatch.setattr(app.extensions["babel"], "translation_directories", [str(tmp_path / "translations")])
    with app.app_context():
        monkeypatch.setattr(babel.domain_instance, "cache", {})


def test_export_in_english_session_still_writes_labels_the_import_reads(app, login, ids, english_catalogue):
    """The file is data for the import, not a page: its labels must not follow the reader's language."""
    client = login("b-admin")
    client.get("/lang/en")
    page = client.get(f"/households/{ids['b_household']}").get_data(as_text=True)
    assert "Head of household" in page and "户主" not in page  # the pages are in English now
    exported = client.get("/households/export.xlsx").data

    rows = read_xlsx(exported)
    assert rows[0] == tuple(HEADER)
    assert {r[3] for r in rows[1:]} == {"户主", "子女"}
    assert {r[4] for r in rows[1:]} <= {"男", "女"}
    assert {r[8] for r in rows[1:]} - {None} == {"一般户"}

    # and it imports again (here: into a village that does not have these numbers)
    with app.app_context():
        target = make_village("c")
        checked = spreadsheets.plan_roster(db.session, village_id=target, filename="b.xlsx", data=exported)
    assert checked.problems == []
    assert len(checked.households) == 2 and checked.people == 3
