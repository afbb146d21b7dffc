"""Backup and restore of a SQLite database with SQLite's online backup API: a consistent copy taken page by
page while the shop keeps writing (never a file copy, which can catch a transaction half-written), checked
before it is trusted: `PRAGMA integrity_check`, then the books' own verification (balances = entries,
stock = movements, monthly totals, hash chains). PostgreSQL is backed up with pg_dump (see README)."""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from lovemart.services import inventory, points, redemptions, totals


@dataclass(frozen=True)
class Check:
    integrity: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not self.problems


def copy(source: Path, target: Path) -> None:
    """An online, consistent copy of the database at `source` into `target` (replaced)."""
    with sqlite3.connect(source, timeout=30) as live, sqlite3.connect(target) as copy_:
        live.backup(copy_, pages=1024)
    copy_.close()
    live.close()


def check(path: Path) -> Check:
    """SQLite's integrity check and the books' verification, on the file at `path`."""
    with sqlite3.connect(path) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            problems = [
                *(f"ledger: village {p.village_id}: {p.what}" for p in points.verify(session)),
                *(f"stock: product {p.product_id}: {p.what}" for p in inventory.verify(session)),
                *(f"redemption {p.receipt_no}: {p.what}" for p in redemptions.verify(session)),
                *(
                    f"totals: village {p.village_id} {p.month:%Y-%m}: {p.what}"
                    for p in totals.verify(session)
                ),
            ]
    finally:
        engine.dispose()
    return Check(integrity, problems)


def backup(database: Path, target: Path) -> Check:
    copy(database, target)
    return check(target)


def restore(backup_file: Path, database: Path) -> Check:
    """Bring a checked backup back over the database (stop the server first). Refused, with nothing
    written, when the backup fails its check."""
    found = check(backup_file)
    if found.ok:
        copy(backup_file, database)
    return found
