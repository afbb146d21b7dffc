"""Public notices (公示) and the objections (异议) households raise against them.

A notice covers whole calendar months of one village: every ledger entry of the period by household, the
awards held under 公示后入账 (公示中), the redemptions, donations, stock-ins and fund movements, the month
totals kept with the books (`services.totals`) and, if asked for, the 红黑榜. A draft may be compiled again
and again. Publishing recompiles it and refuses if the books no longer say what the reviewed draft says, then
freezes it: `content` becomes canonical JSON (sorted keys, UTF-8) that also holds the seal (the village's
ledger chain head at that moment, the publication time and the objection deadline), `digest` its SHA-256.
Nothing written afterwards changes a published notice.

Until the deadline a household may object to one of its own lines; the supervisor answers every objection,
and an upheld one ends in a reversal entry (a line in the ledger) or drops the held award. `settle_due`
credits the held awards of notices whose period has passed, except those whose objection is still open
(they wait for the answer) or was upheld.
"""

import hashlib
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import (
    Donation,
    Donor,
    Fund,
    FundMovement,
    LedgerEntry,
    Notice,
    Objection,
    PointsClaim,
    Product,
    Purchase,
    Redemption,
    RedemptionLine,
    Rule,
    StockMovement,
    Village,
)
from lovemart.models.inventory import MovementKind
from lovemart.models.notices import NoticeStatus, ObjectionStatus
from lovemart.models.points import GENESIS_HASH, ClaimStatus, EntryKind
from lovemart.services import audit, checkpoints, idempotency, points, totals, villages
from lovemart.services import households as households_service
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    AccountFrozen,
    AlreadyObjected,
    HouseholdInactive,
    IdempotencyConflict,
    InvalidInput,
    LineNotInNotice,
    NotFound,
    NoticeAlreadyPublished,
    NoticeChanged,
    NoticePeriodInvalid,
    ObjectionAnswered,
    ObjectionPeriodOver,
)
from lovemart.services.paging import Page, paginate
from lovemart.services.points import HouseholdLabel, local_day_bounds
from lovemart.services.totals import VILLAGE_TIMEZONE

#: Lines a household may object to. A reversal is itself a correction; a redemption is undone by a return
#: (退货) at the counter, which gives the goods back to the stock with the points.
OBJECTABLE_KINDS = frozenset({EntryKind.BASE.value, EntryKind.AWARD.value, EntryKind.DEDUCTION.value})
HONOUR_ROLL_SIZE = 5
MAX_TEXT = 500
#: Bumped when the shape of `content` changes, so that a reader knows which fields to expect.
CONTENT_VERSION = 1


# ---- periods --------------------------------------------------------------------------------------------


def local_today() -> date:
    return utcnow().astimezone(VILLAGE_TIMEZONE).date()


def month_period(month: date) -> tuple[date, date]:
    """The first and last day of the month `month` falls in."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def last_month(today: date) -> tuple[date, date]:
    """The month before `today`'s: what a notice usually covers."""
    return month_period(today.replace(day=1) - timedelta(days=1))


def _check_period(start: date, end: date, today: date | None = None) -> None:
    """Whole calendar months that are over: the month totals fit, and no entry of the period comes later."""
    if start.day != 1 or month_period(end)[1] != end or end < start:
        raise NoticePeriodInvalid(reason=_l("公示期间须为整月：从某月 1 日到某月最后一天。"))
    if end >= (today or local_today()):
        raise NoticePeriodInvalid(reason=_l("这个月还没有结束，月底之后才能生成这个月的公示。"))


# ---- compiling and publishing ---------------------------------------------------------------------------


def compile(
    session: Session,
    *,
    actor,
    village_id: int,
    period_start: date,
    period_end: date,
    days: int | None = None,
    honour_roll: bool = True,
    at: datetime | None = None,
) -> Notice:
    """The draft notice of the period, made or made again from the books as they are now (`at`: the
    moment of compiling, when it is not now).

    :raise NoticePeriodInvalid: unless the period is whole months that are over.
    :raise NoticeAlreadyPublished: when a published notice covers any day of the period.
    """
    _check_period(period_start, period_end, _local_date_of(at))
    village = villages.get(session, village_id)
    days = village.notice_days if days is None else days
    if not 1 <= days <= 60:
        raise InvalidInput(_l("公示期应为 1 到 60 天。"), field="days")
    points.lock_book(session, village_id)  # two compiles of one period never both insert it
    _refuse_overlap(session, village_id, period_start, period_end)
    body = _body(session, village, period_start, period_end, days=days, honour_roll=honour_roll)
    notice = session.scalar(
        select(Notice).where(
            Notice.village_id == village_id,
            Notice.period_start == period_start,
            Notice.period_end == period_end,
        )
    )
    if notice is None:
        notice = Notice(
            village_id=village_id,
            token=secrets.token_urlsafe(32),
            period_start=period_start,
            period_end=period_end,
            status=NoticeStatus.DRAFT.value,
        )
        session.add(notice)
    notice.days, notice.honour_roll, notice.content = days, honour_roll, canonical(body)
    notice.compiled_by_id, notice.compiled_at = _id(actor), at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.NOTICE_COMPILE,
        subject=notice,
        village_id=village_id,
        data={
            "period": [period_start.isoformat(), period_end.isoformat()],
            "days": days,
            "households": len(body["households"]),
            "draft_digest": sha256(notice.content),
        },
        at=at,
    )
    return notice


def publish(
    session: Session,
    *,
    actor,
    village_id: int,
    notice_id: int,
    reviewed: str | None = None,
    at: datetime | None = None,
) -> Notice:
    """Freeze the draft: its content with the seal, the digest, the chain head and the ledger tree's
    checkpoint (`services/checkpoints.py`); lists its held awards.

    `reviewed` is the SHA-256 of the draft the supervisor read; publishing a notice twice returns it.

    :raise NoticeChanged: when the draft was compiled again since it was reviewed, or the books changed
        since it was compiled (compile it again, check it, then publish).
    """
    # Locked first: no entry is appended between reading the books and taking their chain head.
    book = points.lock_book(session, village_id)
    notice = get(session, village_id=village_id, notice_id=notice_id)
    if notice.status == NoticeStatus.PUBLISHED:
        return notice
    _refuse_overlap(session, village_id, notice.period_start, notice.period_end)
    village = villages.get(session, village_id)
    body = _body(
        session,
        village,
        notice.period_start,
        notice.period_end,
        days=notice.days,
        honour_roll=notice.honour_roll,
    )
    if canonical(body) != notice.content or (reviewed is not None and reviewed != sha256(notice.content)):
        raise NoticeChanged()
    now, publisher = (
        at or utcnow(),
        _id(actor),
    )  # read before the notice changes: nothing flushes it half sealed
    deadline = now + timedelta(days=notice.days)
    seal = {
        "chain_seq": book.entry_count,
        "chain_head": book.head_hash,
        "published_at": _timestamp(now),
        "objection_deadline": _timestamp(deadline),
    }
    notice.content = canonical(body | {"seal": seal})
    notice.digest = sha256(notice.content)
    notice.chain_seq, notice.chain_head = book.entry_count, book.head_hash
    notice.status = NoticeStatus.PUBLISHED.value
    notice.published_by_id, notice.published_at, notice.objection_deadline = publisher, now, deadline
    held = [line["claim"] for section in body["households"] for line in section["held"]]
    if held:
        session.execute(
            update(PointsClaim)
            .where(PointsClaim.id.in_(held), PointsClaim.notice_id.is_(None))
            .values(notice_id=notice.id)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    checkpoint = checkpoints.seal(session, village=village, notice=notice, book=book)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.NOTICE_PUBLISH,
        subject=notice,
        village_id=village_id,
        data={
            "digest": notice.digest,
            "chain_seq": notice.chain_seq,
            "chain_head": notice.chain_head,
            "tree_root": checkpoints.fingerprint(checkpoint.root),
            "objection_deadline": seal["objection_deadline"],
            "held_claims": len(held),
        },
        at=at,
    )
    return notice


def canonical(value) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 characters as they are."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def verify_digest(notice: Notice) -> bool:
    """Whether the published content still hashes to its digest; a printed copy is checked the same way."""
    return notice.digest is not None and sha256(notice.content) == notice.digest


def chain_holds(session: Session, notice: Notice) -> bool:
    """Whether the village's ledger still has, at the sealed position, the entry whose hash was published:
    any later rewrite of an entry up to there breaks this (every hash covers the one before it)."""
    if notice.chain_seq is None:
        return False
    if notice.chain_seq == 0:
        return notice.chain_head == GENESIS_HASH
    found = session.scalar(
        select(LedgerEntry.hash).where(
            LedgerEntry.village_id == notice.village_id, LedgerEntry.seq == notice.chain_seq
        )
    )
    return found == notice.chain_head


def document(notice: Notice) -> dict:
    """The notice's content as plain values (see `_body` for its shape)."""
    return json.loads(notice.content) if notice.content else {}


def household_section(doc: dict, household_id: int) -> dict | None:
    """One household's lines in a notice's document, or None if it has none."""
    return next((s for s in doc.get("households", ()) if s["household"] == household_id), None)


# ---- objections -----------------------------------------------------------------------------------------


def raise_objection(
    session: Session,
    *,
    actor=None,
    village_id: int,
    household_id: int,
    notice_token: str,
    text: str,
    entry_id: int | None = None,
    claim_id: int | None = None,
    request_key: str | None = None,
    at: datetime | None = None,
) -> Objection:
    """A household objects to one of its own lines of a published notice, before the deadline.

    `actor` is None when the household itself objects from its QR page; a staff user when the objection was
    made in person and recorded for the household. A repeated `request_key` returns the first objection.

    :raise ObjectionPeriodOver, LineNotInNotice, AlreadyObjected, InvalidInput:
    """
    points.lock_book(session, village_id)  # serialises two copies of one objection
    if done := idempotency.replayed(session, Objection, request_key, village_id=village_id):
        if done.household_id != household_id or (done.entry_id, done.claim_id) != (entry_id, claim_id):
            raise IdempotencyConflict()
        return done
    notice = _published(session, village_id, notice_token)
    if not objection_open(notice, at):
        raise ObjectionPeriodOver()
    text = text.strip()
    if not text:
        raise InvalidInput(_l("请写明异议的理由。"), field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(_l("异议理由最多 %(n)d 个字。", n=MAX_TEXT), field="text")
    if (entry_id is None) == (claim_id is None):
        raise LineNotInNotice()
    if (
        line_in(household_section(document(notice), household_id), entry_id=entry_id, claim_id=claim_id)
        is None
    ):
        raise LineNotInNotice()
    if _objection_to(session, notice.id, household_id, entry_id, claim_id) is not None:
        raise AlreadyObjected()
    objection = Objection(
        village_id=village_id,
        notice_id=notice.id,
        household_id=household_id,
        entry_id=entry_id,
        claim_id=claim_id,
        text=text,
        status=ObjectionStatus.OPEN.value,
        request_key=request_key,
        created_at=at or utcnow(),
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.OBJECTION_RAISE,
        subject=objection,
        village_id=village_id,
        data={
            "notice_id": notice.id,
            "household_id": household_id,
            "entry_id": entry_id,
            "claim_id": claim_id,
            "text": text,
            "by": "staff" if actor is not None else "card",
        },
        at=at,
    )
    return objection


def answer(
    session: Session,
    *,
    actor,
    village_id: int,
    objection_id: int,
    decision: str,
    answer: str,
    at: datetime | None = None,
) -> Objection:
    """The supervisor's answer, which the household reads on its QR page.

    Upheld (异议成立) against a ledger line: a reversal entry with the answer as its reason (or the reversal
    the line already had); against a held award: the award is dropped and never credited. Sending the same
    answer again returns the objection.

    :raise ObjectionAnswered: when it was answered differently before.
    """
    if decision not in (ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED):
        raise InvalidInput(_l("请选择异议是否成立。"), field="decision")
    answer = answer.strip()
    if not answer:
        raise InvalidInput(_l("请填写答复，村民会看到它。"), field="answer")
    if len(answer) > MAX_TEXT:
        raise InvalidInput(_l("答复最多 %(n)d 个字。", n=MAX_TEXT), field="answer")
    points.lock_book(session, village_id)  # one answer at a time; the reversal is appended under it anyway
    objection = _objection(session, village_id, objection_id)
    if objection.status != ObjectionStatus.OPEN:
        if (objection.status, objection.answer) == (decision, answer):
            return objection
        raise ObjectionAnswered()
    if decision == ObjectionStatus.UPHELD and objection.entry_id is not None:
        objection.reversal_id = _reversal_for(session, actor, objection, answer, at)
    elif decision == ObjectionStatus.UPHELD:
        points.drop_publicized(
            session, actor=actor, village_id=village_id, claim_id=objection.claim_id, reason=answer, at=at
        )
    answered_by = _id(actor)
    objection.status, objection.answer = ObjectionStatus(decision).value, answer
    objection.answered_by_id, objection.answered_at = answered_by, at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.OBJECTION_ANSWER,
        subject=objection,
        village_id=village_id,
        data={"decision": decision, "answer": answer, "reversal_id": objection.reversal_id},
        at=at,
    )
    return objection


def _reversal_for(session: Session, actor, objection: Objection, reason: str, at=None) -> int:
    original = points.get_entry(session, village_id=objection.village_id, entry_id=objection.entry_id)
    already = session.scalar(select(LedgerEntry.id).where(LedgerEntry.reversal_of_id == original.id))
    if already is not None:
        return already
    return points.append_reversal(
        session,
        actor=actor,
        original=original,
        reason=reason,
        request_key=f"objection:{objection.id}",
        at=at,
    ).id


# ---- settling the held awards (公示后入账) -----------------------------------------------------------------


def has_due(session: Session, *, village_id: int | None = None, now: datetime | None = None) -> bool:
    """Whether 结算入账 has something to do now (a read, before a write): a published notice past its
    deadline holds an award that settling would credit or drop, one not waiting for the answer to an
    objection. A notice holding nothing (every notice of a village without 公示后入账) is not due."""
    waiting = select(Objection.id).where(
        Objection.claim_id == PointsClaim.id,
        Objection.village_id == PointsClaim.village_id,
        Objection.status.in_(_WAITING),
    )
    held = select(PointsClaim.id).where(
        PointsClaim.notice_id == Notice.id,
        PointsClaim.village_id == Notice.village_id,
        PointsClaim.status == ClaimStatus.PUBLICIZING.value,
        ~waiting.exists(),
    )
    stmt = _due(now or utcnow(), village_id).with_only_columns(Notice.id).where(held.exists()).limit(1)
    return session.scalar(stmt) is not None


#: An objection to a held award that keeps it from being settled: not answered yet, or upheld (the answer
#: drops the award).
_WAITING = (ObjectionStatus.OPEN.value, ObjectionStatus.UPHELD.value)


def settle_due(
    session: Session, *, village_id: int | None = None, now: datetime | None = None
) -> list[Notice]:
    """Credit the held awards of every notice whose objection period has passed; idempotent.

    An award whose objection is still open waits for the answer (the notice stays unsettled until then); an
    award whose objection was upheld was dropped by the answer. An award whose household has since left or
    whose card was recovered is dropped, with that as its reason. Returns the notices settled now.
    """
    now = now or utcnow()
    settled = []
    for notice in list(session.scalars(_due(now, village_id).order_by(Notice.id))):
        if _settle(session, notice, now):
            settled.append(notice)
    return settled


def _due(now: datetime, village_id: int | None):
    stmt = select(Notice).where(
        Notice.status == NoticeStatus.PUBLISHED.value,
        Notice.objection_deadline <= now,
        Notice.settled_at.is_(None),
    )
    return stmt if village_id is None else stmt.where(Notice.village_id == village_id)


def _settle(session: Session, notice: Notice, now: datetime) -> bool:
    held = list(
        session.scalars(
            select(PointsClaim)
            .where(PointsClaim.notice_id == notice.id, PointsClaim.status == ClaimStatus.PUBLICIZING.value)
            .order_by(PointsClaim.id)
        )
    )
    waiting = set(
        session.scalars(
            select(Objection.claim_id).where(
                Objection.notice_id == notice.id,
                Objection.claim_id.is_not(None),
                Objection.status.in_(_WAITING),
            )
        )
    )
    for claim in held:
        if claim.id in waiting:
            continue
        try:
            points.credit_publicized(
                session, actor=None, village_id=notice.village_id, claim_id=claim.id, at=now
            )
        except (AccountFrozen, HouseholdInactive) as error:
            points.drop_publicized(
                session,
                actor=None,
                village_id=notice.village_id,
                claim_id=claim.id,
                reason=error.message,
                at=now,
            )
    if any(claim.id in waiting for claim in held):
        return False
    notice.settled_at = now
    session.flush()
    outcome = dict(
        session.execute(
            select(PointsClaim.status, func.count())
            .where(PointsClaim.notice_id == notice.id)
            .group_by(PointsClaim.status)
        ).all()
    )
    audit.record(
        session,
        actor=None,
        tag=AuditTag.NOTICE_SETTLE,
        subject=notice,
        village_id=notice.village_id,
        data={
            "credited": outcome.get(ClaimStatus.APPROVED.value, 0),
            "dropped": outcome.get(ClaimStatus.REJECTED.value, 0),
        },
        at=now,
    )
    return True


# ---- reading --------------------------------------------------------------------------------------------


def listing(
    session: Session, *, village_id: int, status: str | None = None, page: int = 1, per_page: int = 30
) -> Page:
    """The village's notices (drafts and published, or one of them), newest period first."""
    stmt = (
        select(Notice)
        .where(Notice.village_id == village_id)
        .order_by(Notice.period_start.desc(), Notice.id.desc())
    )
    if status is not None:
        stmt = stmt.where(Notice.status == status)
    return paginate(session, stmt, page=page, per_page=per_page)


def get(session: Session, *, village_id: int, notice_id: int) -> Notice:
    notice = session.scalar(select(Notice).where(Notice.id == notice_id, Notice.village_id == village_id))
    if notice is None:
        raise NotFound()
    return notice


def published_by_token(session: Session, token: str) -> Notice | None:
    """A published notice by the token of its public URL, in any village (drafts are never public)."""
    if not token or len(token) > 64 or "\x00" in token:
        return None
    return session.scalar(
        select(Notice)
        .where(Notice.token == token, Notice.status == NoticeStatus.PUBLISHED.value)
        .execution_options(all_villages=True)
    )


def objection_open(notice: Notice, at: datetime | None = None) -> bool:
    """Whether households may still object to the notice."""
    return notice.status == NoticeStatus.PUBLISHED and (at or utcnow()) < notice.objection_deadline


def open_for_objection(session: Session, *, village_id: int) -> list[Notice]:
    """Published notices of the village whose objection period is still running."""
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.village_id == village_id,
                Notice.status == NoticeStatus.PUBLISHED.value,
                Notice.objection_deadline > utcnow(),
            )
            .order_by(Notice.period_start.desc())
        )
    )


def past_published(session: Session, *, village_id: int, limit: int = 6) -> list[Notice]:
    """The latest published notices whose objection period is over."""
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.village_id == village_id,
                Notice.status == NoticeStatus.PUBLISHED.value,
                Notice.objection_deadline <= utcnow(),
            )
            .order_by(Notice.period_start.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class VillagerNotice:
    """A notice in its objection period as one household sees it: its own lines, and what it objected to."""

    notice: Notice
    section: dict | None
    objected: frozenset = field(default_factory=frozenset)  # ("entry", id) and ("claim", id) pairs

    def can_object(self, line: dict) -> bool:
        if "claim" in line:
            return ("claim", line["claim"]) not in self.objected
        return line["kind"] in OBJECTABLE_KINDS and ("entry", line["entry"]) not in self.objected


def villager_notices(session: Session, *, village_id: int, household_id: int) -> list[VillagerNotice]:
    """The notices a household may still object to, each with the household's own section."""
    found = open_for_objection(session, village_id=village_id)
    objected: dict[int, set] = defaultdict(set)
    if found:
        rows = session.execute(
            select(Objection.notice_id, Objection.entry_id, Objection.claim_id).where(
                Objection.household_id == household_id, Objection.notice_id.in_([n.id for n in found])
            )
        )
        for notice_id, entry_id, claim_id in rows:
            objected[notice_id].add(("entry", entry_id) if entry_id is not None else ("claim", claim_id))
    return [
        VillagerNotice(n, household_section(document(n), household_id), frozenset(objected[n.id]))
        for n in found
    ]


def line_in(section: dict | None, *, entry_id: int | None, claim_id: int | None) -> dict | None:
    """The household's line of a notice that an objection may name, or None."""
    if section is None or (entry_id is None) == (claim_id is None):
        return None
    if claim_id is not None:
        return next((line for line in section["held"] if line["claim"] == claim_id), None)
    return next(
        (line for line in section["lines"] if line["entry"] == entry_id and line["kind"] in OBJECTABLE_KINDS),
        None,
    )


@dataclass(frozen=True)
class ObjectionRow:
    """An objection with what a page shows next to it: the household, the notice and the line."""

    objection: Objection
    notice: Notice
    household: HouseholdLabel | None
    rule: str
    points: int
    line_date: date
    held: bool


def objection_queue(
    session: Session, *, village_id: int, answered: bool = False, limit: int = 100
) -> list[ObjectionRow]:
    """Open objections oldest first, or answered ones latest first."""
    stmt = select(Objection).where(Objection.village_id == village_id)
    if answered:
        stmt = stmt.where(Objection.status != ObjectionStatus.OPEN.value).order_by(
            Objection.answered_at.desc()
        )
    else:
        stmt = stmt.where(Objection.status == ObjectionStatus.OPEN.value).order_by(Objection.id)
    return _objection_rows(session, village_id, list(session.scalars(stmt.limit(limit))))


def notice_objections(session: Session, *, village_id: int, notice_id: int) -> list[ObjectionRow]:
    stmt = select(Objection).where(Objection.village_id == village_id, Objection.notice_id == notice_id)
    return _objection_rows(session, village_id, list(session.scalars(stmt.order_by(Objection.id))))


def household_objections(session: Session, *, village_id: int, household_id: int) -> list[ObjectionRow]:
    """A household's objections, newest first, with their answers."""
    stmt = select(Objection).where(Objection.village_id == village_id, Objection.household_id == household_id)
    return _objection_rows(session, village_id, list(session.scalars(stmt.order_by(Objection.id.desc()))))


def objection_row(session: Session, *, village_id: int, objection_id: int) -> ObjectionRow:
    return _objection_rows(session, village_id, [_objection(session, village_id, objection_id)])[0]


def open_objection_count(session: Session, *, village_id: int) -> int:
    """One COUNT on the (village, status) index, for the navigation."""
    return session.scalar(
        select(func.count())
        .select_from(Objection)
        .where(Objection.village_id == village_id, Objection.status == ObjectionStatus.OPEN.value)
    )


def _objection_rows(session: Session, village_id: int, found: list[Objection]) -> list[ObjectionRow]:
    """Rows for the given objections in four more statements, however many there are."""
    if not found:
        return []
    notices = {
        n.id: n for n in session.scalars(select(Notice).where(Notice.id.in_({o.notice_id for o in found})))
    }
    entries = {
        e.id: e
        for e in session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.id.in_({o.entry_id for o in found if o.entry_id is not None})
            )
        )
    }
    claims = {
        c.id: (c, name)
        for c, name in session.execute(
            select(PointsClaim, Rule.name)
            .join(Rule, Rule.id == PointsClaim.rule_id)
            .where(PointsClaim.id.in_({o.claim_id for o in found if o.claim_id is not None}))
        )
    }
    accounts = {e.account_id for e in entries.values()} | {c.account_id for c, _ in claims.values()}
    labels = points.household_labels(session, village_id=village_id, account_ids=accounts)
    rows = []
    for objection in found:
        if objection.entry_id is not None:
            entry = entries[objection.entry_id]
            account_id, rule, pts, at = (
                entry.account_id,
                entry.rule_name or str(entry.kind_label),
                entry.points,
                entry.created_at,
            )
        else:
            claim, rule = claims[objection.claim_id]
            account_id, pts, at = claim.account_id, claim.points, claim.created_at
        rows.append(
            ObjectionRow(
                objection=objection,
                notice=notices[objection.notice_id],
                household=labels.get(account_id),
                rule=rule,
                points=pts,
                line_date=at.astimezone(VILLAGE_TIMEZONE).date(),
                held=objection.claim_id is not None,
            )
        )
    return rows


def _published(session: Session, village_id: int, token: str) -> Notice:
    notice = session.scalar(
        select(Notice).where(
            Notice.village_id == village_id,
            Notice.token == token,
            Notice.status == NoticeStatus.PUBLISHED.value,
        )
    )
    if notice is None:
        raise NotFound()
    return notice


def _objection(session: Session, village_id: int, objection_id: int) -> Objection:
    objection = session.scalar(
        select(Objection)
        .where(Objection.id == objection_id, Objection.village_id == village_id)
        .execution_options(populate_existing=True)
    )
    if objection is None:
        raise NotFound()
    return objection


def _objection_to(
    session: Session, notice_id: int, household_id: int, entry_id, claim_id
) -> Objection | None:
    stmt = select(Objection).where(Objection.notice_id == notice_id, Objection.household_id == household_id)
    stmt = (
        stmt.where(Objection.entry_id == entry_id)
        if entry_id is not None
        else stmt.where(Objection.claim_id == claim_id)
    )
    return session.scalar(stmt.limit(1))


def _refuse_overlap(session: Session, village_id: int, start: date, end: date) -> None:
    clash = session.scalar(
        select(Notice)
        .where(
            Notice.village_id == village_id,
            Notice.status == NoticeStatus.PUBLISHED.value,
            Notice.period_start <= end,
            Notice.period_end >= start,
        )
        .limit(1)
    )
    if clash is not None:
        raise NoticeAlreadyPublished(start=clash.period_start.isoformat(), end=clash.period_end.isoformat())


# ---- the content ----------------------------------------------------------------------------------------


def _body(
    session: Session, village: Village, start: date, end: date, *, days: int, honour_roll: bool
) -> dict:
    """Everything the notice says, as plain JSON values; codes rather than labels, local dates.

    Each part is one indexed query over the period (plus one per linked table); nothing is summed over the
    whole ledger. The totals are the stored month totals of the period's months.
    """
    first, last = local_day_bounds(start, end)
    entries = list(
        session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.village_id == village.id,
                LedgerEntry.created_at >= first,
                LedgerEntry.created_at < last,
            )
            .order_by(LedgerEntry.seq)
        )
    )
    held = session.execute(
        select(PointsClaim, Rule.name)
        .join(Rule, Rule.id == PointsClaim.rule_id)
        .where(
            PointsClaim.village_id == village.id,
            PointsClaim.status == ClaimStatus.PUBLICIZING.value,
            PointsClaim.notice_id.is_(None),
            PointsClaim.created_at < last,
        )
        .order_by(PointsClaim.id)
    ).all()
    labels = points.household_labels(
        session,
        village_id=village.id,
        account_ids={e.account_id for e in entries} | {c.account_id for c, _ in held},
    )
    households = _households(entries, held, labels)
    party = households_service.party_household_ids(session, village_id=village.id) if honour_roll else set()
    return {
        "version": CONTENT_VERSION,
        "village": {"code": village.code, "name": village.name},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "days": days,
        "yuan_per_point": village.yuan_per_point,
        "credit_after_notice": village.credit_after_notice,
        "households": households,
        "redemptions": _redemptions(session, village.id, entries, labels),
        "donations": _donations(session, village.id, start, end),
        "stock_ins": _stock_ins(session, village.id, first, last),
        "funds": _fund_movements(session, village.id, first, last),
        "totals": _totals(session, village.id, start, end, households),
        "honour_roll": _honour_roll(households, party) if honour_roll else None,
    }


def _households(entries, held, labels) -> list[dict]:
    lines: dict[int, list] = defaultdict(list)
    waiting: dict[int, list] = defaultdict(list)
    for e in entries:
        lines[e.account_id].append(
            {
                "entry": e.id,
                "seq": e.seq,
                "date": _local_date(e.created_at),
                "kind": e.kind,
                "rule": e.rule_name,
                "note": e.note,
                "points": e.points,
                "reversal_of": e.reversal_of_id,
            }
        )
    for claim, rule_name in held:
        waiting[claim.account_id].append(
            {
                "claim": claim.id,
                "date": _local_date(claim.created_at),
                "rule": rule_name,
                "note": claim.note,
                "points": claim.points,
            }
        )
    sections = []
    for account_id in lines.keys() | waiting.keys():
        label = labels[account_id]
        sections.append(
            {
                "household": label.household_id,
                "number": label.number,
                "head": label.head,
                "group": label.group,
                "lines": lines[account_id],
                "held": waiting[account_id],
                "net": sum(line["points"] for line in lines[account_id]),
                "held_points": sum(line["points"] for line in waiting[account_id]),
            }
        )
    return sorted(sections, key=lambda s: (s["number"], s["household"]))


def _redemptions(session: Session, village_id: int, entries, labels) -> list[dict]:
    accounts = {e.redemption_id: e.account_id for e in entries if e.kind == EntryKind.REDEMPTION}
    if not accounts:
        return []
    goods = defaultdict(list)
    for line in session.scalars(
        select(RedemptionLine)
        .where(RedemptionLine.redemption_id.in_(accounts))
        .order_by(RedemptionLine.redemption_id, RedemptionLine.id)
    ):
        goods[line.redemption_id].append(
            {"name": line.product_name, "quantity": line.quantity, "unit": line.unit, "points": line.points}
        )
    found = session.scalars(
        select(Redemption)
        .where(Redemption.village_id == village_id, Redemption.id.in_(accounts))
        .order_by(Redemption.id)
    )
    return [
        {
            "receipt_no": r.receipt_no,
            "date": _local_date(r.created_at),
            "household": r.household_id,
            "number": labels[accounts[r.id]].number,
            "head": labels[accounts[r.id]].head,
            "points": r.total_points,
            "status": r.status,
            "goods": goods[r.id],
        }
        for r in found
    ]


def _donations(session: Session, village_id: int, start: date, end: date) -> list[dict]:
    rows = session.execute(
        select(Donation, Donor.name, Donor.kind)
        .join(Donor, Donor.id == Donation.donor_id)
        .where(Donation.village_id == village_id, Donation.received_on.between(start, end))
        .order_by(Donation.received_on, Donation.id)
    ).all()
    goods = defaultdict(list)
    if rows:
        lines = {}  # stock-in id → its line: a same-day correction (更正入库) is folded into its stock-in
        for movement_id, corrects, donation_id, name, quantity, unit in session.execute(
            select(
                StockMovement.id,
                StockMovement.corrects_id,
                StockMovement.donation_id,
                Product.name,
                StockMovement.quantity,
                Product.unit,
            )
            .join(Product, Product.id == StockMovement.product_id)
            .where(StockMovement.donation_id.in_([d.id for d, _, _ in rows]))
            .order_by(StockMovement.id)
        ):
            if corrects in lines:
                lines[corrects]["quantity"] += quantity
                continue
            lines[movement_id] = {"name": name, "quantity": quantity, "unit": unit}
            goods[donation_id].append(lines[movement_id])
    return [
        {
            "receipt_no": d.receipt_no,
            "date": d.received_on.isoformat(),
            "donor": donor,
            "donor_kind": donor_kind,
            "kind": d.kind,
            "amount_fen": d.amount_fen,
            "goods": goods[d.id],
        }
        for d, donor, donor_kind in rows
    ]


def _stock_ins(session: Session, village_id: int, first: datetime, last: datetime) -> list[dict]:
    rows = session.execute(
        select(StockMovement, Product.name, Product.unit)
        .join(Product, Product.id == StockMovement.product_id)
        .where(
            StockMovement.village_id == village_id,
            # with the same-day corrections (更正入库) of mistyped stock-ins, folded in below
            StockMovement.kind.in_([MovementKind.STOCK_IN.value, MovementKind.CORRECTION.value]),
            StockMovement.created_at >= first,
            StockMovement.created_at < last,
        )
        .order_by(StockMovement.id)
    ).all()
    donors = _names(
        session,
        select(Donation.id, Donor.name).join(Donor, Donor.id == Donation.donor_id),
        Donation.id,
        {m.donation_id for m, _, _ in rows if m.donation_id},
    )
    funds = _names(
        session,
        select(Purchase.id, Fund.name).join(Fund, Fund.id == Purchase.fund_id),
        Purchase.id,
        {m.purchase_id for m, _, _ in rows if m.purchase_id},
    )
    lines: dict[int, dict] = {}
    for m, name, unit in rows:
        if m.corrects_id in lines:  # what the stock-in really brought
            lines[m.corrects_id]["quantity"] += m.quantity
            continue
        lines[m.id] = {
            "date": _local_date(m.created_at),
            "product": name,
            "quantity": m.quantity,
            "unit": unit,
            "cost_fen": m.cost_fen,
            "source": "donation" if m.donation_id else "purchase" if m.purchase_id else "other",
            "from": donors.get(m.donation_id) or funds.get(m.purchase_id) or "",
        }
    return list(lines.values())


def _names(session: Session, stmt, key, ids: set[int]) -> dict[int, str]:
    """{id: name} of the rows of `stmt` whose `key` is one of `ids` (no query when there are none)."""
    return dict(session.execute(stmt.where(key.in_(ids))).all()) if ids else {}


def _fund_movements(session: Session, village_id: int, first: datetime, last: datetime) -> list[dict]:
    rows = session.execute(
        select(FundMovement, Fund.name, Purchase.supplier)
        .join(Fund, Fund.id == FundMovement.fund_id)
        .outerjoin(Purchase, Purchase.id == FundMovement.purchase_id)
        .where(
            FundMovement.village_id == village_id,
            FundMovement.created_at >= first,
            FundMovement.created_at < last,
        )
        .order_by(FundMovement.id)
    )
    return [
        {
            "date": _local_date(m.created_at),
            "fund": fund,
            "kind": m.kind,
            "amount_fen": m.amount_fen,
            "balance_after_fen": m.balance_after_fen,
            "note": supplier or m.note,
        }
        for m, fund, supplier in rows
    ]


def _totals(session: Session, village_id: int, start: date, end: date, households: list[dict]) -> dict:
    months = totals.months(session, village_ids=[village_id], first=start, last=totals.month_of(end))
    summed = {name: sum(getattr(month, name) for month in months) for name in totals.COUNTERS}
    return summed | {
        "households": len(households),
        "held_count": sum(len(s["held"]) for s in households),
        "held_points": sum(s["held_points"] for s in households),
    }


def _honour_roll(households: list[dict], party: set[int]) -> dict:
    """红黑榜: the households that earned most and lost most to deductions in the period.

    Earned counts awards (and held awards), deducted counts deductions; a line reversed within the period
    counts for neither. When the village has 党员户 (`party`: households with a party member), the roll
    also has a `party` part, the same two lists among them only. A village without any gets exactly the
    roll it had before the part existed, so its drafts compiled then still publish; published notices
    are never compiled again and keep what they froze.
    """
    reversed_ids = {line["reversal_of"] for s in households for line in s["lines"] if line["reversal_of"]}
    earned, deducted = [], []
    for s in households:
        kept = [line for line in s["lines"] if line["entry"] not in reversed_ids]
        plus = sum(line["points"] for line in kept if line["kind"] == EntryKind.AWARD) + s["held_points"]
        minus = -sum(line["points"] for line in kept if line["kind"] == EntryKind.DEDUCTION)
        who = {"household": s["household"], "number": s["number"], "head": s["head"]}
        if plus > 0:
            earned.append(who | {"points": plus})
        if minus > 0:
            deducted.append(who | {"points": minus})
    roll = {"earned": _top(earned), "deducted": _top(deducted)}
    if party:
        roll["party"] = {
            "earned": _top([row for row in earned if row["household"] in party]),
            "deducted": _top([row for row in deducted if row["household"] in party]),
        }
    return roll


def _top(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (-row["points"], row["number"]))[:HONOUR_ROLL_SIZE]


def _local_date_of(at: datetime | None) -> date | None:
    return at.astimezone(VILLAGE_TIMEZONE).date() if at is not None else None


def _local_date(moment: datetime) -> str:
    return moment.astimezone(VILLAGE_TIMEZONE).date().isoformat()


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _id(user) -> int | None:
    return user.id if user is not None else None
