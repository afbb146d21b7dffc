"""积分台账 export: the ledger page offers a year; the download holds the working village's entries only; a
bad year is explained; the CLI writes the file with a progress bar, and only when complete."""

import io
from datetime import datetime

from openpyxl import load_workbook

from lovemart.services.points import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household

THIS_YEAR = datetime.now(VILLAGE_TIMEZONE).year


def villages_with_cards(app):
    with app.app_context():
        ids = make_two_villages()
        carded_household(ids["a"], head="甲户主")
        carded_household(ids["b"], head="乙户主")
    return ids


def test_the_ledger_downloads_as_a_workbook_of_the_year(app, login):
    villages_with_cards(app)
    admin = login("a-admin")
    assert f'name="year" value="{THIS_YEAR}"' in admin.get("/points/").get_data(as_text=True)
    response = admin.get(f"/points/ledger.xlsx?year={THIS_YEAR}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(f"a-ledger-{THIS_YEAR}.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    heads = [row[3] for row in rows[2:]]
    assert heads == ["甲户主"]  # not village b's household

    refused = admin.get("/points/ledger.xlsx?year=1800", follow_redirects=True)
    assert "请填写 2000 到 2100 之间的年份。" in refused.get_data(as_text=True)


def test_the_cli_writes_the_file_only_when_complete(app, runner, tmp_path):
    villages_with_cards(app)
    target = tmp_path / "ledger.xlsx"
    done = runner.invoke(args=["lovemart", "export-ledger", "a", str(THIS_YEAR), str(target)])
    assert done.exit_code == 0 and "1 entries written" in done.output
    assert load_workbook(target).active.max_row == 3

    missing = runner.invoke(
        args=["lovemart", "export-ledger", "nowhere", str(THIS_YEAR), str(tmp_path / "x.xlsx")]
    )
    assert missing.exit_code != 0
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "x.xlsx.part").exists()
