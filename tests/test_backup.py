"""`lovemart backup` and `restore`: an online copy taken while redemptions keep coming, checked, restored;
the books verify on the result."""

import sqlite3
import threading

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import LedgerEntry
from lovemart.services import backup, points
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def sqlite_only(database):
    if database["kind"] != "sqlite":
        pytest.skip("backup and restore are for SQLite; PostgreSQL uses pg_dump (README)")


def test_backup_under_write_load_then_restore(app, runner, session, sqlite_only, tmp_path):
    village = points_village()
    household, _ = carded_household(village)
    rule = make_rule(village, "义务劳动", "volunteer", 1)
    stop, written = threading.Event(), []

    def keep_writing():
        with app.app_context():
            while not stop.is_set():
                with unit_of_work() as s:
                    points.award(s, actor=None, village_id=village, household_id=household, rule_id=rule)
                written.append(1)
            db.session.remove()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            pass
        result = runner.invoke(args=["lovemart", "backup", str(tmp_path / "copy.db")])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "checked" in result.output
    live = session.scalar(select(func.count()).select_from(LedgerEntry))
    copied = backup.check(tmp_path / "copy.db")
    assert copied.ok

    restored = runner.invoke(args=["lovemart", "restore", str(tmp_path / "copy.db"), "--yes"])
    assert restored.exit_code == 0, restored.output
    session.rollback()
    after = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert 20 < after <= live
    assert points.verify(session) == []


def test_a_damaged_backup_is_refused_and_nothing_is_restored(app, runner, session, sqlite_only, tmp_path):
    carded_household(points_village())
    assert runner.invoke(args=["lovemart", "backup", str(tmp_path / "copy.db")]).exit_code == 0
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    session.rollback()
    # edit the copy behind the application's back
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        copy.execute("DROP TRIGGER ledger_entries_no_update")
        copy.execute("UPDATE ledger_entries SET points = 999")
    copy.close()
    refused = runner.invoke(args=["lovemart", "restore", str(tmp_path / "copy.db"), "--yes"])
    assert refused.exit_code == 1 and "ledger" in refused.output
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
    assert points.verify(session) == []


def test_postgresql_is_pointed_to_pg_dump(runner, database, tmp_path):
    if database["kind"] != "postgresql":
        pytest.skip("PostgreSQL only")
    result = runner.invoke(args=["lovemart", "backup", str(tmp_path / "never.db")])
    assert result.exit_code == 2 and "pg_dump" in result.output
