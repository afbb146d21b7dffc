"""A household's statement (积分明细): its entries with the running balance, for a period, on screen (paged),
on paper (passbook style) and as an .xlsx file.

Balances are never summed here: every entry stores the balance after it (`balance_after`), so the opening
balance of a period is the stored balance after the last entry before it, and the cost of a page does not
grow with the size of the ledger. Periods are days in the villages' time zone (Asia/Shanghai).
"""

import io
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from lovemart.models import Household, LedgerEntry, PointsAccount, User, Village
from lovemart.models.points import EntryKind
from lovemart.services import households, villages
from lovemart.services.paging import Page
from lovemart.services.points import VILLAGE_TIMEZONE, Balance, balance_of, local_day_bounds
from lovemart.services.sheets import TextSheet


@dataclass(frozen=True)
class Period:
    """Local days `start`..`end`, both included; an open end reaches the beginning or today."""

    start: date | None = None
    end: date | None = None

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None


@dataclass(frozen=True)
class Line:
    """One entry as a statement shows it."""

    entry_id: int
    seq: int
    created_at: datetime
    kind: str
    rule_name: str
    note: str
    points: int
    balance_after: int
    recorded_by: str
    approved_by: str
    reversal_of_id: int | None
    reversed_by_id: int | None
    evidence: str | None

    @property
    def kind_label(self):
        return EntryKind(self.kind).label

    @property
    def local_time(self) -> datetime:
        return self.created_at.astimezone(VILLAGE_TIMEZONE)


@dataclass(frozen=True)
class Statement:
    village: Village
    household: Household
    account: PointsAccount | None
    period: Period
    opening: int
    closing: int
    #: A `Page` of `Line`s newest first (screen), or every `Line` of the period oldest first (paper, export).
    lines: Page | list
    #: The account's points today: spendable, and held 公示中 / 待审核 beside it (`points.balances`).
    balance: Balance | None = None

    @property
    def has_account(self) -> bool:
        return self.account is not None


def statement(
    session: Session, *, village_id: int, household_id: int, period: Period, page: int = 1, per_page: int = 30
) -> Statement:
    """One page of a household's statement, newest entry first.

    :raise NotFound: for a household of another village.
    """
    village, household, account = _subject(session, village_id, household_id)
    if account is None:
        return Statement(village, household, None, period, 0, 0, Page([], 0, 1, per_page))
    stmt = _lines_stmt(account.id, period)
    total = session.scalar(select(func.count()).select_from(_entries(account.id, period).subquery()))
    page = max(1, page)
    rows = session.execute(
        stmt.order_by(LedgerEntry.seq.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    lines = Page([_line(row) for row in rows], total or 0, page, per_page)
    opening, closing = _opening_closing(session, account, period)
    return Statement(village, household, account, period, opening, closing, lines, _balance(session, account))


def passbook(session: Session, *, village_id: int, household_id: int, period: Period) -> Statement:
    """Every entry of the period, oldest first, for the printed passbook and the export.

    A household gets a few entries a month, so even "全部" is a short list; it is read in batches anyway.
    """
    village, household, account = _subject(session, village_id, household_id)
    if account is None:
        return Statement(village, household, None, period, 0, 0, [])
    stmt = _lines_stmt(account.id, period).order_by(LedgerEntry.seq)
    lines = [_line(row) for row in session.execute(stmt.execution_options(yield_per=500))]
    opening, closing = _opening_closing(session, account, period)
    return Statement(village, household, account, period, opening, closing, lines, _balance(session, account))


def export_xlsx(session: Session, *, village_id: int, household_id: int, period: Period) -> io.BytesIO:
    """The passbook as an .xlsx workbook (openpyxl write-only mode: rows are streamed, not held)."""
    book = passbook(session, village_id=village_id, household_id=household_id, period=period)
    workbook = Workbook(write_only=True)
    sheet = TextSheet(workbook, str(_l("积分明细")))
    for width, column in zip((18, 10, 24, 30, 8, 8, 14, 14), "ABCDEFGH", strict=True):
        sheet.column_dimensions[column].width = width
    head = book.household.head
    sheet.append([sheet.bold(str(_l("%(village)s 积分明细")) % {"village": book.village.name})])
    sheet.append([str(_l("户号")), book.household.number, str(_l("户主")), head.name if head else ""])
    sheet.append([str(_l("期间")), period_text(book.period)])
    sheet.append([str(_l("期初余额")), book.opening, str(_l("期末余额")), book.closing])
    sheet.append(_now_row(book.balance))  # today's figures, whatever the period
    sheet.append(
        [
            sheet.bold(str(label))
            for label in (
                _l("时间"),
                _l("类别"),
                _l("细则"),
                _l("说明"),
                _l("积分"),
                _l("余额"),
                _l("记录人"),
                _l("审核人"),
            )
        ]
    )
    for line in book.lines:
        sheet.append(
            [
                line.local_time.strftime("%Y-%m-%d %H:%M"),
                str(line.kind_label),
                line.rule_name,
                line.note,
                line.points,
                line.balance_after,
                line.recorded_by,
                line.approved_by,
            ]
        )
    data = io.BytesIO()
    workbook.save(data)
    data.seek(0)
    return data


def period_text(period: Period) -> str:
    """ "2026-11-01 至 2026-11-30", "2026-11-01 起", "截至 2026-11-30" or "全部"."""
    if period.start and period.end:
        return str(_l("%(start)s 至 %(end)s")) % {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
    if period.start:
        return str(_l("%(start)s 起")) % {"start": period.start.isoformat()}
    if period.end:
        return str(_l("截至 %(end)s")) % {"end": period.end.isoformat()}
    return str(_l("全部"))


# ---- internals ------------------------------------------------------------------------------------------


def _now_row(balance: Balance | None) -> list:
    """当前可用 100, and beside it the points 公示中 and 待审核 when there are any (an empty row without an
    account)."""
    if balance is None:
        return []
    row = [str(_l("当前可用")), balance.spendable]
    if balance.held:
        row += [str(_l("另有公示中（未入账）")), balance.held]
    if balance.pending:
        row += [str(_l("另有待审核（未入账）")), balance.pending]
    return row


def _balance(session: Session, account: PointsAccount) -> Balance:
    return balance_of(session, village_id=account.village_id, account_id=account.id)


def _subject(session: Session, village_id: int, household_id: int):
    household = households.get(session, village_id=village_id, household_id=household_id)
    account = session.scalar(
        select(PointsAccount).where(
            PointsAccount.village_id == village_id, PointsAccount.household_id == household.id
        )
    )
    return villages.get(session, village_id), household, account


def _entries(account_id: int, period: Period):
    start, end = local_day_bounds(period.start, period.end)
    stmt = select(LedgerEntry.id).where(LedgerEntry.account_id == account_id)
    if start is not None:
        stmt = stmt.where(LedgerEntry.created_at >= start)
    if end is not None:
        stmt = stmt.where(LedgerEntry.created_at < end)
    return stmt


def _lines_stmt(account_id: int, period: Period):
    recorder, approver, reversal = aliased(User), aliased(User), aliased(LedgerEntry)
    return (
        select(
            LedgerEntry,
            recorder.display_name,
            recorder.username,
            approver.display_name,
            approver.username,
            reversal.id,
        )
        .outerjoin(recorder, recorder.id == LedgerEntry.recorded_by_id)
        .outerjoin(approver, approver.id == LedgerEntry.approved_by_id)
        .outerjoin(reversal, reversal.reversal_of_id == LedgerEntry.id)
        .where(LedgerEntry.id.in_(_entries(account_id, period)))
    )


def _line(row) -> Line:
    entry, recorder_name, recorder_login, approver_name, approver_login, reversed_by = row
    if entry.recorded_by_id is None:
        recorded_by = str(_l("系统"))
    else:
        recorded_by = recorder_name or recorder_login or ""
    return Line(
        entry_id=entry.id,
        seq=entry.seq,
        created_at=entry.created_at,
        kind=entry.kind,
        rule_name=entry.rule_name,
        note=entry.note,
        points=entry.points,
        balance_after=entry.balance_after,
        recorded_by=recorded_by,
        approved_by=(approver_name or approver_login or "") if entry.approved_by_id else "",
        reversal_of_id=entry.reversal_of_id,
        reversed_by_id=reversed_by,
        evidence=entry.evidence,
    )


def _opening_closing(session: Session, account: PointsAccount, period: Period) -> tuple[int, int]:
    """Balances before and after the period: each the stored `balance_after` of one entry (or 0)."""
    start, end = local_day_bounds(period.start, period.end)
    opening = _balance_before(session, account.id, start) if start is not None else 0
    closing = _balance_before(session, account.id, end) if end is not None else account.balance
    return opening, closing


def _balance_before(session: Session, account_id: int, moment: datetime) -> int:
    balance = session.scalar(
        select(LedgerEntry.balance_after)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.created_at < moment)
        .order_by(LedgerEntry.seq.desc())
        .limit(1)
    )
    return balance or 0
