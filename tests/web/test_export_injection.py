"""Formula injection: every export (each .xlsx/.csv route and the CLI) writes what people typed as text.

A household head called `=HYPERLINK(…)`, a rule called `=1+1`, a user, a group, a village and a township
with such names: every cell of every export must be a string cell (openpyxl data_type "s", never "f"), and
hold the text exactly, so that an exported roster still imports. CSV cells get OWASP's leading `'`.
"""

import csv
import io
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from lovemart.authz import Role
from lovemart.db import unit_of_work
from lovemart.models import User
from lovemart.services import cards, households, points, spreadsheets, users, villages
from lovemart.services.points import VILLAGE_TIMEZONE
from lovemart.services.sheets import CsvSheet, TextSheet, csv_cell, csv_text
from tests.factories import make_household, make_user
from tests.points_helpers import make_rule, pass_inspection
from tests.rosters import HEADER, csv_bytes

HOSTILE = {
    "village": '=HYPERLINK("http://evil.example/?v","村")',
    "township": "=1+2乡",
    "group": "=cmd|' /C calc'!A0",
    "number": "=9+9",
    "head": '=HYPERLINK("//evil.cn","点我")',  # a member name holds 32 characters
    "member": "=SUM(1,2)",
    "address": "=A1&A2",
    "rule": "=2+5",
    "note": '=WEBSERVICE("http://evil.example")',
    "user": "=USER()",
}
#: What each export carries of the hostile names (the rest of its cells are numbers and labels).
EXPECTED = {
    "households": {"group", "number", "head", "member", "address"},
    "ledger": {"village", "number", "head", "rule", "note", "user"},
    "statement": {"village", "number", "head", "rule", "note", "user"},
    "county": {"village", "township"},
    "template": {"group"},
}
THIS_YEAR = datetime.now(VILLAGE_TIMEZONE).year
THIS_MONTH = datetime.now(VILLAGE_TIMEZONE).strftime("%Y-%m")


@pytest.fixture
def hostile(app):
    with app.app_context():
        with unit_of_work() as session:
            village_id = villages.create_village(
                session,
                actor=None,
                county_code="yichuan",
                county_name="宜川县",
                township_name=HOSTILE["township"],
                code="a",
                name=HOSTILE["village"],
                groups=[HOSTILE["group"]],
            ).id
        make_user("a-admin", Role.ADMIN, "a")
        make_user("county", Role.COUNTY, "a")
        household_id = make_household(
            village_id, head=HOSTILE["head"], number=HOSTILE["number"], others=(HOSTILE["member"],)
        )
        pass_inspection(village_id, household_id)
        rule_id = make_rule(village_id, HOSTILE["rule"], "volunteer", 10)
        with unit_of_work() as session:
            household = households.get(session, village_id=village_id, household_id=household_id)
            household.address = HOSTILE["address"]
            recorder = session.get(User, recorder_named(session, village_id))
            cards.issue(session, actor=recorder, village_id=village_id, household_id=household_id)
            points.award(
                session,
                actor=recorder,
                village_id=village_id,
                household_id=household_id,
                rule_id=rule_id,
                note=HOSTILE["note"],
            )
        return {"village": village_id, "household": household_id}


def recorder_named(session, village_id: int) -> int:
    """The staff member who records the award, with a hostile display name."""
    return users.create_user(
        session,
        actor=None,
        username="recorder",
        password="password123",
        role=Role.ADMIN,
        display_name=HOSTILE["user"],
        village=villages.get(session, village_id),
    ).id


def exports(login, runner, tmp_path, ids) -> dict[str, bytes]:
    """Every export the app offers, each downloaded (or written by the CLI) once."""
    admin, officer = login("a-admin"), login("county")
    downloads = {
        "households": admin.get("/households/export.xlsx"),
        "template": admin.get("/households/import/template.xlsx"),  # names the village's first group
        "ledger": admin.get(f"/points/ledger.xlsx?year={THIS_YEAR}"),
        "statement": admin.get(f"/statements/{ids['household']}/statement.xlsx"),
        "county": officer.get(f"/county/ranking.xlsx?first={THIS_MONTH}&last={THIS_MONTH}&sort=issued"),
    }
    for name, response in downloads.items():
        assert response.status_code == 200, name
    files = {name: response.data for name, response in downloads.items()}
    target = tmp_path / "ledger.xlsx"
    done = runner.invoke(args=["lovemart", "export-ledger", "a", str(THIS_YEAR), str(target)])
    assert done.exit_code == 0, done.output
    files["cli-ledger"] = target.read_bytes()
    return files


def test_every_export_route_is_walked(app):
    routes = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.endswith((".xlsx", ".csv", ".xls"))
    }
    assert routes == {
        "households.export",
        "households.import_template",
        "points.export_ledger",
        "statements.export",
        "county.export",
    }


def test_no_export_writes_a_formula_and_text_is_kept_exactly(app, login, runner, tmp_path, hostile):
    files = exports(login, runner, tmp_path, hostile)
    for name, data in files.items():
        workbook = load_workbook(io.BytesIO(data))
        texts = set()
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", (name, cell.coordinate)
                        texts.add(cell.value)
        expected = EXPECTED["ledger" if name == "cli-ledger" else name]
        carried = {key for key in expected if any(HOSTILE[key] in text for text in texts)}
        assert carried == expected, name


def test_the_hostile_roster_imports_again_unchanged(app, hostile):
    with app.app_context():
        with unit_of_work() as session:
            exported = spreadsheets.export_households(session, village_id=hostile["village"]).getvalue()
            rows = spreadsheets.read_roster("roster.xlsx", exported)
    assert [(r.number, r.group, r.name, r.address) for r in rows] == [
        (HOSTILE["number"], HOSTILE["group"], HOSTILE["head"], HOSTILE["address"]),
        (HOSTILE["number"], HOSTILE["group"], HOSTILE["member"], ""),
    ]


@pytest.mark.parametrize("text", ["=1+2", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", "'=x", "王", ""])
def test_csv_cells_are_neutralised_and_read_back(text):
    stream = io.StringIO()
    CsvSheet(stream).append([text, 7, None])
    (written,) = list(csv.reader(io.StringIO(stream.getvalue())))
    assert not written[0].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert written[1:] == ["7", ""]
    assert csv_text(written[0]) == text or text == "'=x"  # a typed "'=" is the one ambiguous case
    assert csv_cell(7) == "7"


def test_a_neutralised_csv_roster_imports_the_typed_text(session):
    village_id = villages.create_village(
        session,
        actor=None,
        county_code="yichuan",
        county_name="宜川县",
        township_name="英旺乡",
        code="a",
        name="a村",
        groups=["=组"],
    ).id
    row = ["001", "=组", "=王", "户主", "男", "1970", "-3号", "", ""]
    data = csv_bytes([[csv_cell(cell) for cell in row]], header=HEADER)
    assert b"'=" in data
    checked = spreadsheets.plan_roster(session, village_id=village_id, filename="r.csv", data=data)
    assert checked.problems == []
    (planned,) = checked.households
    assert (planned.group_name, planned.members[0].name, planned.data.address) == ("=组", "=王", "-3号")


def test_control_characters_xml_cannot_carry_are_dropped_not_fatal():
    workbook = Workbook(write_only=True)
    TextSheet(workbook, "x").append(["王\x07五", "=\x01A1", 3])
    out = io.BytesIO()
    workbook.save(out)
    cells = list(load_workbook(out).active.iter_rows())[0]
    assert [(c.value, c.data_type) for c in cells] == [("王五", "s"), ("=A1", "s"), (3, "n")]
