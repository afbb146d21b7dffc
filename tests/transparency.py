"""Builders for the verifiable notices: a village whose last two months were each published as a notice (the
entries back-dated into them), and the past rewritten as a careful forger would, tree and all."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, text

from lovemart.db import unit_of_work
from lovemart.models import LedgerEntry, Notice
from lovemart.services import ledger_tree, notices, points
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.points_helpers import carded_household, make_rule, points_village
from tests.tamper import tamper


def months_ago(n: int) -> tuple[date, date]:
    first = datetime.now(VILLAGE_TIMEZONE).date().replace(day=1)
    for _ in range(n):
        first = (first - timedelta(days=1)).replace(day=1)
    return notices.month_period(first)


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)


@dataclass
class Published:
    village: int
    households: list[int]
    tokens: list[str]  # the households' card tokens
    notices: list[Notice]  # oldest first, expunged


def publish_months(
    monkeypatch, *, months: int = 2, households: int = 2, awards: int = 2, code="a"
) -> Published:
    """`households` carded households with `awards` awards each in every one of the last `months` months,
    each month published as a notice at the start of the next one."""
    village = points_village(code)
    made = [carded_household(village, number=f"01{n:02d}") for n in range(households)]
    rule = make_rule(village, "义务劳动", "volunteer", 10)
    published = []
    for back in range(months, 0, -1):
        start, end = months_ago(back)
        for n in range(awards):
            monkeypatch.setattr(points, "utcnow", lambda day=start + timedelta(days=n): local(day))
            with unit_of_work() as s:
                for household, _ in made:
                    points.award(s, actor=None, village_id=village, household_id=household, rule_id=rule)
        monkeypatch.setattr(notices, "utcnow", lambda end=end: local(end + timedelta(days=1)))
        with unit_of_work() as s:
            notice = notices.compile(s, actor=None, village_id=village, period_start=start, period_end=end)
            notice = notices.publish(s, actor=None, village_id=village, notice_id=notice.id)
            s.expunge(notice)
        published.append(notice)
    monkeypatch.undo()
    return Published(village, [h for h, _ in made], [t for _, t in made], published)


def rewrite_entry(village_id: int, seq: int, *, note: str, rebuild_tree: bool) -> None:
    """Change entry `seq`'s note in the database. With `rebuild_tree`, also recompute the village's tree from
    the changed books, as someone covering their tracks would (the hash chain is left alone here)."""
    with unit_of_work() as s:
        entry_id = s.scalar(
            select(LedgerEntry.id).where(LedgerEntry.village_id == village_id, LedgerEntry.seq == seq)
        )
    tamper("UPDATE ledger_entries SET note = :note WHERE id = :id", "ledger_entries", note=note, id=entry_id)
    if not rebuild_tree:
        return
    tamper("DELETE FROM tree_nodes WHERE village_id = :v", "tree_nodes", v=village_id)
    with unit_of_work() as s:
        entries = LedgerEntry.__table__
        rows = s.connection().execute(
            select(*ledger_tree.LEAF_COLUMNS)
            .where(entries.c.village_id == village_id)
            .order_by(entries.c.seq)
        )
        tree = ledger_tree.Builder(s.connection(), village_id)
        for row in rows.all():
            tree.add(ledger_tree.leaf_of(row))
        s.execute(
            text("UPDATE ledger_books SET tree_edge = :edge WHERE village_id = :v"),
            {"edge": tree.flush(), "v": village_id},
        )
