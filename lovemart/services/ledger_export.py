"""The village's points ledger (积分台账) of a year as an .xlsx workbook, for the archive and the county.

A village's year can hold a hundred thousand entries, so the export never holds them all: it reads them in
chain order in chunks (keyset on `seq`, one indexed query each, plus the chunk's households and people),
appends each row to openpyxl's write-only sheet (which streams to a temporary file), lets the chunk go, and
reports its progress after every chunk. Memory stays bounded by the chunk, not by the year.
"""

from collections.abc import Callable
from datetime import date
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart.models import LedgerEntry, Village
from lovemart.models.points import EntryKind
from lovemart.services.errors import InvalidInput
from lovemart.services.points import VILLAGE_TIMEZONE, entry_rows, local_day_bounds
from lovemart.services.sheets import TextSheet

CHUNK = 2000
FIRST_YEAR, LAST_YEAR = 2000, 2100
COLUMNS = (
    (_l("序号"), 8),
    (_l("时间"), 17),
    (_l("户号"), 10),
    (_l("户主"), 10),
    (_l("类别"), 10),
    (_l("细则"), 24),
    (_l("说明"), 30),
    (_l("积分"), 8),
    (_l("余额"), 8),
    (_l("记录人"), 12),
    (_l("审核人"), 12),
    (_l("冲正的序号"), 10),
    (_l("哈希"), 66),
)


def export_year(
    session: Session,
    *,
    village_id: int,
    year: int,
    target: BinaryIO,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the village's entries of `year` (local dates) to `target`; returns how many were written.

    `progress(done, total)` is called after every chunk.

    :raise InvalidInput: for a year outside 2000–2100.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(_l("请填写 2000 到 2100 之间的年份。"), field="year")
    village = session.get(Village, village_id)
    start, end = local_day_bounds(date(year, 1, 1), date(year, 12, 31))
    in_year = (
        LedgerEntry.village_id == village_id,
        LedgerEntry.created_at >= start,
        LedgerEntry.created_at < end,
    )
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(*in_year))
    workbook = Workbook(write_only=True)
    sheet = TextSheet(workbook, str(_l("积分台账")))
    for (_label, width), letter in zip(COLUMNS, "ABCDEFGHIJKLM", strict=True):
        sheet.column_dimensions[letter].width = width
    title = str(_l("%(village)s %(year)d 年积分台账")) % {"village": village.name, "year": year}
    sheet.append([sheet.bold(title)])
    sheet.append([sheet.bold(str(label)) for label, _width in COLUMNS])
    done, after = 0, 0
    while chunk := list(
        session.scalars(
            select(LedgerEntry)
            .where(*in_year, LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq)
            .limit(CHUNK)
        )
    ):
        reversed_seq = _seqs(session, {e.reversal_of_id for e in chunk if e.reversal_of_id})
        for row in entry_rows(session, village_id=village_id, entries=chunk):
            sheet.append(_cells(row, reversed_seq))
        after, done = chunk[-1].seq, done + len(chunk)
        for entry in chunk:
            session.expunge(entry)
        if progress is not None:
            progress(done, total)
    workbook.save(target)
    return done


def _seqs(session: Session, entry_ids: set[int]) -> dict[int, int]:
    """The chain positions of the entries a chunk's reversals correct (they may lie in an earlier chunk)."""
    if not entry_ids:
        return {}
    return dict(
        session.execute(select(LedgerEntry.id, LedgerEntry.seq).where(LedgerEntry.id.in_(entry_ids))).all()
    )


def _cells(row, reversed_seq: dict[int, int]) -> list:
    entry = row.entry
    return [
        entry.seq,
        entry.created_at.astimezone(VILLAGE_TIMEZONE).strftime("%Y-%m-%d %H:%M"),
        row.household.number,
        row.household.head,
        str(EntryKind(entry.kind).label),
        entry.rule_name or "",
        entry.note or "",
        entry.points,
        entry.balance_after,
        row.recorded_by,
        row.approved_by,
        reversed_seq.get(entry.reversal_of_id),
        entry.hash,
    ]
