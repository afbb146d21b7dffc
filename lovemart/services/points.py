"""The points ledger (积分台账): the only writer of ledger entries and stored balances.

Every append, in one transaction: lock the village's `LedgerBook` row (the chain head), move the account's
stored balance with one conditional UPDATE, and insert the entry with its running balance and its hash over
the previous hash and its own canonical content. Appends of a village are therefore serialised (SQLite:
BEGIN IMMEDIATE; PostgreSQL: the book row's lock), and the book is always locked before an account.

Entries under a rule that needs the supervisor's approval, and villagers' applications, wait as
`PointsClaim`s outside the ledger and its balance until they are decided.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from lovemart.db import utcnow
from lovemart.models import (
    Card,
    Household,
    LedgerBook,
    LedgerEntry,
    Member,
    PointsAccount,
    PointsClaim,
    Rule,
    User,
    Village,
    VillagerGroup,
)
from lovemart.models.cards import CardStatus
from lovemart.models.households import Relation
from lovemart.models.points import GENESIS_HASH, AccountStatus, ClaimStatus, EntryKind
from lovemart.services import audit, grid, idempotency, ledger_tree, totals
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    AccountFrozen,
    AlreadyReversed,
    CapExceeded,
    CardLost,
    CardNotActive,
    CardRecovered,
    ClaimNotOpen,
    DomainError,
    HouseholdInactive,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    NoPointsAccount,
    NotFound,
    RuleRetired,
)
from lovemart.services.paging import Page, paginate
from lovemart.services.totals import VILLAGE_TIMEZONE


class Outcome(StrEnum):
    """What became of an award, each told to the person who recorded it in its own words."""

    CREDITED = "credited"  # 入账: in the ledger and the balance now
    HELD = "held"  # 公示中: 公示后入账, credited once a notice listing it passes its period
    PENDING = "pending"  # 待审核: the rule needs the supervisor's approval
    REFUSED = "refused"  # a replayed request whose claim was since rejected: never credited


@dataclass(frozen=True)
class Recorded:
    """What `award` did: an entry in the ledger, or a claim held for a notice or waiting for approval."""

    entry: LedgerEntry | None = None
    claim: PointsClaim | None = None

    @property
    def outcome(self) -> Outcome:
        if self.entry is not None:
            return Outcome.CREDITED
        return {
            ClaimStatus.PUBLICIZING: Outcome.HELD,
            ClaimStatus.PENDING: Outcome.PENDING,
        }.get(ClaimStatus(self.claim.status), Outcome.REFUSED)

    @property
    def points(self) -> int:
        return self.entry.points if self.entry is not None else self.claim.points


@dataclass(frozen=True)
class Balance:
    """An account's points as every page, receipt and the API show them (`balances`).

    `spendable` is the stored balance, the only part the counter may debit. `held` (公示中) is the awards
    held under 公示后入账 until the notice listing them passes its period; `pending` (待审核) the awards
    waiting for the supervisor's approval. Neither is in `spendable` until it is credited.
    """

    account_id: int
    spendable: int
    held: int = 0
    pending: int = 0


# ---- accounts -------------------------------------------------------------------------------------------


def open_account(session: Session, *, village_id: int, household_id: int) -> PointsAccount:
    account = PointsAccount(village_id=village_id, household_id=household_id, balance=0)
    session.add(account)
    session.flush()
    return account


def account_for_household(session: Session, *, village_id: int, household_id: int) -> PointsAccount:
    """:raise NoPointsAccount: when the household was never issued a card."""
    account = _account_of(session, village_id, household_id)
    if account is None:
        raise NoPointsAccount()
    return account


def _account_of(session: Session, village_id: int, household_id: int) -> PointsAccount | None:
    return session.scalar(
        select(PointsAccount).where(
            PointsAccount.village_id == village_id, PointsAccount.household_id == household_id
        )
    )


def set_frozen(session: Session, *, account: PointsAccount, frozen: bool) -> None:
    account.status = (AccountStatus.FROZEN if frozen else AccountStatus.ACTIVE).value
    account.frozen_at = utcnow() if frozen else None
    session.flush()


# ---- writing entries ------------------------------------------------------------------------------------


def credit_base(
    session: Session, *, actor, village: Village, account: PointsAccount, at: datetime | None = None
) -> LedgerEntry | None:
    """The village's base points (基础积分) for a newly issued card; none when the setting is 0."""
    if village.base_points <= 0:
        return None
    entry = append_entry(
        session,
        recorded_by_id=_id(actor),
        account=account,
        points=village.base_points,
        kind=EntryKind.BASE,
        note=str(_l("发卡基础积分")),
        at=at,
    )
    _audit_entry(session, actor, entry, at)
    return entry


def award(
    session: Session,
    *,
    actor,
    village_id: int,
    household_id: int,
    rule_id: int,
    note: str = "",
    evidence: str | None = None,
    request_key: str | None = None,
    at: datetime | None = None,
) -> Recorded:
    """Award or deduct points by a rule for one household (`at`: the moment, when it is not now).

    A repeated `request_key` returns what the first call recorded. A rule that needs approval yields a
    pending claim instead of an entry, and so does any entry a grid worker (网格员) proposes, unless the
    village lets their entries count at once (`grid_awards_direct`). A deduction larger than the balance is
    refused unless the rule allows a negative balance (扣成负分): the household then owes points until it
    earns them back.

    :raise RuleRetired, CapExceeded, InsufficientPoints, NoPointsAccount, AccountFrozen, HouseholdInactive:
    :raise OutsideGroups: a grid worker's household outside their villager groups.
    """
    grid.ensure_household(session, actor=actor, village_id=village_id, household_id=household_id)
    if request_key:
        # Two copies of one request (a double click) wait here for each other, so the second one finds the
        # first one's entry instead of colliding with it on PostgreSQL.
        lock_book(session, village_id)
        if done := _replay(session, request_key, village_id, household_id=household_id, rule_id=rule_id):
            return done
    rule = _active_rule(session, village_id, rule_id)
    account = _usable_account(session, village_id, household_id)
    points = _points_for(session, rule, account, at=at)
    held = _held_until_notice(session, village_id, points)
    needs_approval = rule.requires_approval or not grid.counts_at_once(
        session, actor=actor, village_id=village_id
    )
    if needs_approval or held:
        status = ClaimStatus.PENDING if needs_approval else ClaimStatus.PUBLICIZING
        claim = PointsClaim(
            village_id=village_id,
            account_id=account.id,
            rule_id=rule.id,
            points=points,
            note=note.strip(),
            evidence=evidence,
            status=status.value,
            recorded_by_id=_id(actor),
            request_key=request_key,
            created_at=at or utcnow(),
        )
        session.add(claim)
        session.flush()
        audit.record(
            session,
            actor=actor,
            tag=AuditTag.CLAIM_CREATE,
            subject=claim,
            village_id=village_id,
            data={"household_id": household_id, "rule": rule.name, "points": points, "status": status.value},
            at=at,
        )
        return Recorded(claim=claim)
    entry = append_entry(
        session,
        recorded_by_id=_id(actor),
        account=account,
        points=points,
        rule=rule,
        note=note,
        evidence=evidence,
        request_key=request_key,
        at=at,
    )
    _audit_entry(session, actor, entry, at)
    return Recorded(entry=entry)


def award_batch(
    session: Session,
    *,
    actor,
    village_id: int,
    household_ids: list[int],
    rule_id: int,
    note: str = "",
    request_key: str | None = None,
) -> list[Recorded]:
    """The same rule for many households (e.g. everyone at a labour day), all or none.

    :raise InvalidInput: naming the household (number and head), when one of them cannot be given the points;
        the original refusal is its `__cause__`. Nothing is recorded then.
    """
    unique_ids = sorted(set(household_ids))
    if not unique_ids:
        raise InvalidInput(_l("请至少选择一户。"), field="households")
    return [
        _award_in_batch(session, actor, village_id, household_id, rule_id, note, request_key)
        for household_id in unique_ids
    ]


def _award_in_batch(session, actor, village_id, household_id, rule_id, note, request_key) -> Recorded:
    try:
        return award(
            session,
            actor=actor,
            village_id=village_id,
            household_id=household_id,
            rule_id=rule_id,
            note=note,
            request_key=f"{request_key}:{household_id}" if request_key else None,
        )
    except (NotFound, RuleRetired):
        raise  # not about this household: the rule is gone, or the household is not the village's
    except DomainError as error:
        head_of = (Member.household_id == Household.id) & (Member.relation == Relation.HEAD.value)
        number, head = session.execute(
            select(Household.number, Member.name)
            .outerjoin(Member, head_of)
            .where(Household.id == household_id, Household.village_id == village_id)
        ).one()
        reason = str(_l("%(number)s 号 %(head)s 户：%(reason)s本批全部未记入。")) % {
            "number": number,
            "head": head or "",
            "reason": error.message,
        }
        raise InvalidInput(reason, field="households") from error


def reverse(
    session: Session,
    *,
    actor,
    village_id: int,
    entry_id: int,
    reason: str,
    request_key: str | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Correct a wrong entry with a reversal entry (冲正) that names it; the original stays in the books.

    A redemption is not reversed here but cancelled as a whole (`redemptions.cancel`), so that the goods go
    back into stock with the points.
    """
    original = get_entry(session, village_id=village_id, entry_id=entry_id)
    if original.kind == EntryKind.REDEMPTION:
        raise InvalidInput(_l("兑换记录请通过“退货撤销”更正，商品会一并退回库存。"), field="entry")
    return append_reversal(
        session, actor=actor, original=original, reason=reason, request_key=request_key, at=at
    )


def append_reversal(
    session: Session,
    *,
    actor,
    original: LedgerEntry,
    reason: str,
    request_key: str | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """The reversal entry of `original`, idempotent by key, once per entry.

    A reversal may take the balance below zero (the points were already spent): the entry was wrong, and the
    books must say so.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_l("请填写冲正原因。"), field="reason")
    lock_book(session, original.village_id)  # serialise two reversals of one entry: the second sees the first
    if done := idempotency.replayed(session, LedgerEntry, request_key, village_id=original.village_id):
        if done.reversal_of_id != original.id:
            raise IdempotencyConflict()
        return done
    if original.kind == EntryKind.REVERSAL:
        raise InvalidInput(_l("冲正记录不能再冲正；如需更正，请重新录入正确的积分。"), field="entry")
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.reversal_of_id == original.id)) is not None:
        raise AlreadyReversed()
    account = session.get(PointsAccount, original.account_id)
    entry = append_entry(
        session,
        recorded_by_id=_id(actor),
        account=account,
        points=-original.points,
        kind=EntryKind.REVERSAL,
        rule_id=original.rule_id,
        rule_name=original.rule_name,
        note=reason,
        reversal_of=original,
        request_key=request_key,
        allow_negative=True,
        at=at,
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.LEDGER_ENTRY_REVERSE,
        subject=entry,
        village_id=original.village_id,
        data={"reversal_of": original.id, "points": entry.points, "reason": reason},
        at=at,
    )
    return entry


# ---- claims: approvals and villagers' applications ------------------------------------------------------


def apply(
    session: Session,
    *,
    village_id: int,
    household_id: int,
    rule_id: int,
    note: str,
    evidence: str | None = None,
    request_key: str | None = None,
    at: datetime | None = None,
) -> PointsClaim:
    """A household's own application (积分申报) from its QR page, for the administrator to accept or decline.

    A repeated `request_key` returns the first application; the village's book is locked first, so two
    copies of one form sent at once also make one application.
    """
    if request_key:
        lock_book(session, village_id)
        if done := idempotency.replayed(session, PointsClaim, request_key, village_id=village_id):
            return done
    rule = _active_rule(session, village_id, rule_id)
    if rule.is_deduction:
        raise InvalidInput(_l("只能申报加分项。"), field="rule_id")
    note = note.strip()
    if not note:
        raise InvalidInput(_l("请简要说明做了什么好事。"), field="note")
    account = _usable_account(session, village_id, household_id)
    claim = PointsClaim(
        village_id=village_id,
        account_id=account.id,
        rule_id=rule.id,
        points=rule.points,
        note=note,
        evidence=evidence,
        status=ClaimStatus.SUBMITTED.value,
        from_villager=True,
        request_key=request_key,
        created_at=at or utcnow(),
    )
    session.add(claim)
    session.flush()
    audit.record(
        session,
        actor=None,
        tag=AuditTag.CLAIM_CREATE,
        subject=claim,
        village_id=village_id,
        data={"household_id": household_id, "rule": rule.name, "points": rule.points, "from_villager": True},
        at=at,
    )
    return claim


def accept(
    session: Session, *, actor, village_id: int, claim_id: int, at: datetime | None = None
) -> PointsClaim:
    """The administrator accepts an application: it is credited, or waits for approval if the rule says so."""
    claim = _open_claim(session, village_id, claim_id, ClaimStatus.SUBMITTED)
    rule = _active_rule(session, village_id, claim.rule_id)
    account = _usable_account(session, village_id, _household_of(session, claim.account_id))
    claim.recorded_by_id = _id(actor)
    claim.points = _points_for(session, rule, account, exclude_claim=claim.id, at=at)
    if rule.requires_approval:
        claim.status = ClaimStatus.PENDING.value
        session.flush()
        audit.record(
            session,
            actor=actor,
            tag=AuditTag.CLAIM_APPROVE,
            subject=claim,
            village_id=village_id,
            data={"status": claim.status},
            at=at,
        )
        return claim
    return _credit_claim(session, actor, claim, rule, account, approved_by=None, at=at)


def approve(
    session: Session, *, actor, village_id: int, claim_id: int, at: datetime | None = None
) -> PointsClaim:
    """The supervisor approves a pending claim: it becomes a ledger entry naming both people."""
    claim = _open_claim(session, village_id, claim_id, ClaimStatus.PENDING)
    rule = session.get(Rule, claim.rule_id)
    account = _usable_account(session, village_id, _household_of(session, claim.account_id))
    return _credit_claim(session, actor, claim, rule, account, approved_by=actor, at=at)


def reject(
    session: Session,
    *,
    actor,
    village_id: int,
    claim_id: int,
    reason: str,
    expected: ClaimStatus | None = None,
    at: datetime | None = None,
) -> PointsClaim:
    """The supervisor rejects a pending claim, or the administrator declines an application; with a reason
    the villager sees. `expected` limits the call to claims in that state (each role decides its own
    queue: the administrator cannot decline what waits for the supervisor)."""
    claim = _claim(session, village_id, claim_id)
    if claim.status not in (ClaimStatus.PENDING, ClaimStatus.SUBMITTED):
        raise ClaimNotOpen()
    if expected is not None and claim.status != expected:
        raise ClaimNotOpen()
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_l("请填写原因，村民会看到它。"), field="reason")
    declined = claim.status == ClaimStatus.SUBMITTED
    claim.status = (ClaimStatus.DECLINED if declined else ClaimStatus.REJECTED).value
    claim.reason = reason
    claim.decided_by_id = _id(actor)
    claim.decided_at = at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CLAIM_DECLINE if declined else AuditTag.CLAIM_REJECT,
        subject=claim,
        village_id=village_id,
        data={"reason": reason},
        at=at,
    )
    return claim


def claims(session: Session, *, village_id: int, status: ClaimStatus) -> list[PointsClaim]:
    return list(
        session.scalars(
            select(PointsClaim)
            .where(PointsClaim.village_id == village_id, PointsClaim.status == status.value)
            .order_by(PointsClaim.id)
        )
    )


# ---- reading --------------------------------------------------------------------------------------------


def get_entry(session: Session, *, village_id: int, entry_id: int) -> LedgerEntry:
    entry = session.scalar(
        select(LedgerEntry).where(LedgerEntry.id == entry_id, LedgerEntry.village_id == village_id)
    )
    if entry is None:
        raise NotFound()
    return entry


def balances(session: Session, *, village_id: int, account_ids) -> dict[int, Balance]:
    """Spendable, held (公示中) and pending (待审核) points of the given accounts of the village, by account
    id: one statement for any number of accounts (the claims through their (account_id, id) index), so list
    pages ask once for all their rows. Accounts of another village are simply not in the answer."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    waiting = and_(
        PointsClaim.account_id == PointsAccount.id,
        PointsClaim.village_id == PointsAccount.village_id,
        PointsClaim.status.in_((ClaimStatus.PUBLICIZING.value, ClaimStatus.PENDING.value)),
        PointsClaim.points > 0,
    )

    def total(status: ClaimStatus):
        return func.coalesce(func.sum(case((PointsClaim.status == status.value, PointsClaim.points))), 0)

    rows = session.execute(
        select(
            PointsAccount.id,
            PointsAccount.balance,
            total(ClaimStatus.PUBLICIZING),
            total(ClaimStatus.PENDING),
        )
        .outerjoin(PointsClaim, waiting)
        .where(PointsAccount.village_id == village_id, PointsAccount.id.in_(ids))
        .group_by(PointsAccount.id, PointsAccount.balance)
    )
    return {
        account_id: Balance(account_id, spendable, int(held), int(pending))
        for account_id, spendable, held, pending in rows
    }


def balance_of(session: Session, *, village_id: int, account_id: int) -> Balance:
    """One account's `Balance` (`balances` for one). :raise NotFound: for another village's account."""
    found = balances(session, village_id=village_id, account_ids=[account_id]).get(account_id)
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class Waiting:
    """A village's points not spendable yet: how many households have awards held 公示中 and waiting 待审核,
    and how many points (the village ledger's note beside its balances)."""

    held_households: int = 0
    held: int = 0
    pending_households: int = 0
    pending: int = 0


def waiting(session: Session, *, village_id: int) -> Waiting:
    """`Waiting` of the village, counted as `balances` counts each account: one statement on the claims'
    (village, status) index; the claims waiting are few (a notice's period at most)."""
    rows = session.execute(
        select(
            PointsClaim.status,
            func.count(func.distinct(PointsClaim.account_id)),
            func.sum(PointsClaim.points),
        )
        .where(
            PointsClaim.village_id == village_id,
            PointsClaim.status.in_((ClaimStatus.PUBLICIZING.value, ClaimStatus.PENDING.value)),
            PointsClaim.points > 0,
        )
        .group_by(PointsClaim.status)
    )
    found = {status: (households, int(total)) for status, households, total in rows}
    held = found.get(ClaimStatus.PUBLICIZING.value, (0, 0))
    pending = found.get(ClaimStatus.PENDING.value, (0, 0))
    return Waiting(held[0], held[1], pending[0], pending[1])


def recompute_balance(session: Session, account_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.account_id == account_id)
    )


# ---- reading for pages: the village ledger, who holds an account, the claim queues -----------------------


@dataclass(frozen=True)
class EntryFilter:
    """Filters of the village ledger; dates are days in the villages' time zone, both ends included."""

    search: str = ""
    rule_id: int | None = None
    kind: str | None = None
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class HouseholdLabel:
    """How a household is named on ledger pages: its number and its head's name."""

    household_id: int
    number: str
    head: str
    group: str = ""
    account_id: int | None = None
    balance: int = 0
    active: bool = True  # False once the household has moved out

    def __str__(self) -> str:
        return f"{self.number} {self.head}".strip()


@dataclass(frozen=True)
class EntryRow:
    entry: LedgerEntry
    household: HouseholdLabel
    recorded_by: str
    approved_by: str
    reversed_by_id: int | None


@dataclass(frozen=True)
class ClaimRow:
    claim: PointsClaim
    household: HouseholdLabel
    rule_name: str
    recorded_by: str
    #: The recorder lives in the household (给自己家记分): the supervisor sees it before approving.
    own_household: bool = False


def local_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start, end) of the local days `first`..`last` (either may be open)."""
    start = datetime.combine(first, time.min, tzinfo=VILLAGE_TIMEZONE).astimezone(UTC) if first else None
    end = (
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)
        if last
        else None
    )
    return start, end


def entries(
    session: Session,
    *,
    village_id: int,
    filters: EntryFilter | None = None,
    page: int = 1,
    per_page: int = 30,
) -> Page:
    """One page of the village's entries, newest first, as `EntryRow`s.

    The page costs the count and four small queries whatever the ledger's size: the entries, then the
    households, people and reversals of just those entries.
    """
    filters = filters or EntryFilter()
    stmt = select(LedgerEntry).where(LedgerEntry.village_id == village_id).order_by(LedgerEntry.seq.desc())
    if term := filters.search.strip():
        stmt = stmt.where(LedgerEntry.account_id.in_(_accounts_matching(village_id, term)))
    if filters.rule_id is not None:
        stmt = stmt.where(LedgerEntry.rule_id == filters.rule_id)
    if filters.kind:
        stmt = stmt.where(LedgerEntry.kind == filters.kind)
    start, end = local_day_bounds(filters.date_from, filters.date_to)
    if start is not None:
        stmt = stmt.where(LedgerEntry.created_at >= start)
    if end is not None:
        stmt = stmt.where(LedgerEntry.created_at < end)
    found = paginate(session, stmt, page=page, per_page=per_page)
    return replace(found, items=entry_rows(session, village_id=village_id, entries=found.items))


def entry_rows(session: Session, *, village_id: int, entries: list[LedgerEntry]) -> list[EntryRow]:
    """The given entries with their household, recorder, approver and reversal (if any)."""
    labels = household_labels(session, village_id=village_id, account_ids={e.account_id for e in entries})
    names = user_names(session, {e.recorded_by_id for e in entries} | {e.approved_by_id for e in entries})
    reversals = (
        dict(
            session.execute(
                select(LedgerEntry.reversal_of_id, LedgerEntry.id).where(
                    LedgerEntry.village_id == village_id,
                    LedgerEntry.reversal_of_id.in_([e.id for e in entries]),
                )
            ).all()
        )
        if entries
        else {}
    )
    return [
        EntryRow(
            entry=e,
            household=labels[e.account_id],
            recorded_by=names.get(e.recorded_by_id, ""),
            approved_by=names.get(e.approved_by_id, "") if e.approved_by_id else "",
            reversed_by_id=reversals.get(e.id),
        )
        for e in entries
    ]


def entry_row(session: Session, *, village_id: int, entry_id: int) -> EntryRow:
    """One entry with its household, people and reversal. :raise NotFound: for another village's entry."""
    entry = get_entry(session, village_id=village_id, entry_id=entry_id)
    return entry_rows(session, village_id=village_id, entries=[entry])[0]


def holders(
    session: Session, *, village_id: int, search: str = "", group_id: int | None = None
) -> list[HouseholdLabel]:
    """Active households with an active points account (a card), by number: those points can be given to."""
    stmt = _label_select(village_id).where(
        PointsAccount.status == AccountStatus.ACTIVE.value, Household.active.is_(True)
    )
    if term := search.strip():
        stmt = stmt.where(PointsAccount.id.in_(_accounts_matching(village_id, term)))
    if group_id is not None:
        stmt = stmt.where(Household.group_id == group_id)
    return [_label(row) for row in session.execute(stmt.order_by(Household.number))]


def household_labels(session: Session, *, village_id: int, account_ids) -> dict[int, HouseholdLabel]:
    """Labels of the given accounts' households, by account id; one query."""
    if not account_ids:
        return {}
    stmt = _label_select(village_id).where(PointsAccount.id.in_(sorted(account_ids)))
    return {label.account_id: label for label in map(_label, session.execute(stmt))}


def user_names(session: Session, user_ids) -> dict[int | None, str]:
    """Display names of staff by id; `None` (the system: demo loader, CLI) is named too."""
    ids = sorted(i for i in user_ids if i is not None)
    names: dict[int | None, str] = {None: str(_l("系统"))}
    if ids:
        rows = session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids)))
        names.update({uid: display or username for uid, display, username in rows})
    return names


def claim_queue(session: Session, *, village_id: int, status: ClaimStatus) -> list[ClaimRow]:
    """Claims waiting in one state, oldest first, with household, rule and recorder (and whether the recorder
    lives in the household); five queries."""
    found = claims(session, village_id=village_id, status=status)
    labels = household_labels(session, village_id=village_id, account_ids={c.account_id for c in found})
    names = user_names(session, {c.recorded_by_id for c in found})
    rule_ids = sorted({c.rule_id for c in found})
    rule_names: dict[int, str] = {}
    if rule_ids:
        rule_names = dict(session.execute(select(Rule.id, Rule.name).where(Rule.id.in_(rule_ids))).all())
    recorder_ids = sorted({c.recorded_by_id for c in found if c.recorded_by_id is not None})
    homes: dict[int, int | None] = {}
    if recorder_ids:
        homes = dict(
            session.execute(select(User.id, User.household_id).where(User.id.in_(recorder_ids))).all()
        )
    return [
        ClaimRow(
            claim=c,
            household=labels[c.account_id],
            rule_name=rule_names.get(c.rule_id, ""),
            recorded_by=names.get(c.recorded_by_id, "") if c.recorded_by_id else "",
            own_household=c.recorded_by_id is not None
            and homes.get(c.recorded_by_id) == labels[c.account_id].household_id,
        )
        for c in found
    ]


def open_claim_count(session: Session, *, village_id: int, status: ClaimStatus) -> int:
    """How many claims wait in one state: one COUNT on the (village, status) index, for the navigation."""
    return session.scalar(
        select(func.count())
        .select_from(PointsClaim)
        .where(PointsClaim.village_id == village_id, PointsClaim.status == status.value)
    )


def _label_select(village_id: int):
    return (
        select(
            PointsAccount.id,
            PointsAccount.balance,
            Household.id,
            Household.number,
            Member.name,
            VillagerGroup.name,
            Household.active,
        )
        .join(Household, (Household.id == PointsAccount.household_id) & (Household.village_id == village_id))
        .join(VillagerGroup, VillagerGroup.id == Household.group_id)
        .outerjoin(Member, (Member.household_id == Household.id) & (Member.relation == Relation.HEAD.value))
        .where(PointsAccount.village_id == village_id)
    )


def _label(row) -> HouseholdLabel:
    account_id, balance, household_id, number, head, group, active = row
    return HouseholdLabel(
        household_id=household_id,
        number=number,
        head=head or "",
        group=group,
        account_id=account_id,
        balance=balance,
        active=active,
    )


def _accounts_matching(village_id: int, term: str):
    """Accounts whose household number, a member's name or the active card's number contains `term`."""
    like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    by_member = select(Member.household_id).where(
        Member.village_id == village_id, Member.name.like(like, escape="\\")
    )
    households = select(Household.id).where(
        Household.village_id == village_id,
        or_(Household.number.like(like, escape="\\"), Household.id.in_(by_member)),
    )
    by_card = select(Card.account_id).where(
        Card.village_id == village_id,
        Card.status == CardStatus.ACTIVE.value,
        Card.number.like(like, escape="\\"),
    )
    return select(PointsAccount.id).where(
        PointsAccount.village_id == village_id,
        or_(PointsAccount.household_id.in_(households), PointsAccount.id.in_(by_card)),
    )


# ---- verification ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    village_id: int
    what: str
    entry_id: int | None = None
    account_id: int | None = None


def verify(session: Session, *, village_ids: list[int] | None = None) -> list[Discrepancy]:
    """Recompute every chain and balance: the first broken entry of each village, and every account whose
    stored balance or running balances disagree with its entries."""
    problems: list[Discrepancy] = []
    books = session.scalars(select(LedgerBook).order_by(LedgerBook.village_id))
    for book in books:
        if village_ids is not None and book.village_id not in village_ids:
            continue
        problems.extend(_verify_chain(session, book))
        problems.extend(
            Discrepancy(book.village_id, p.what, p.entry_id) for p in ledger_tree.verify(session, book)
        )
    stmt = select(PointsAccount).order_by(PointsAccount.id)
    if village_ids is not None:
        stmt = stmt.where(PointsAccount.village_id.in_(village_ids))
    for account in session.scalars(stmt):
        problems.extend(_verify_account(session, account))
    return problems


def _verify_chain(session: Session, book: LedgerBook) -> list[Discrepancy]:
    previous, expected_seq = GENESIS_HASH, 1
    stmt = select(LedgerEntry).where(LedgerEntry.village_id == book.village_id).order_by(LedgerEntry.seq)
    for entry in session.scalars(stmt.execution_options(yield_per=1000)):
        if entry.seq != expected_seq:
            return [
                Discrepancy(
                    book.village_id, f"entry sequence jumps from {expected_seq - 1} to {entry.seq}", entry.id
                )
            ]
        if entry.prev_hash != previous or entry.hash != entry_hash(previous, entry):
            return [Discrepancy(book.village_id, f"entry #{entry.seq} does not match its hash", entry.id)]
        previous, expected_seq = entry.hash, expected_seq + 1
    if (book.entry_count, book.head_hash) != (expected_seq - 1, previous):
        return [Discrepancy(book.village_id, "chain head differs from the last entry")]
    return []


def _verify_account(session: Session, account: PointsAccount) -> list[Discrepancy]:
    running = 0
    for entry in session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.seq)
    ):
        running += entry.points
        if entry.balance_after != running:
            return [
                Discrepancy(
                    account.village_id, f"running balance wrong at entry #{entry.seq}", entry.id, account.id
                )
            ]
    if running != account.balance:
        return [
            Discrepancy(
                account.village_id,
                f"stored balance {account.balance} ≠ sum of entries {running}",
                account_id=account.id,
            )
        ]
    return []


def entry_hash(prev_hash: str, entry: LedgerEntry) -> str:
    """SHA-256 over the previous hash, a newline and the entry's `canonical_content`."""
    return hashlib.sha256(f"{prev_hash}\n{canonical_content(entry)}".encode()).hexdigest()


def canonical_content(entry: LedgerEntry) -> str:
    """The entry's content as the chain hashes it: JSON with sorted keys, no spaces, UTF-8 unescaped."""
    content = {
        "village": entry.village_id,
        "seq": entry.seq,
        "account": entry.account_id,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "kind": entry.kind,
        "rule": entry.rule_id,
        "rule_name": entry.rule_name,
        "note": entry.note,
        "evidence": entry.evidence,
        "recorded_by": entry.recorded_by_id,
        "approved_by": entry.approved_by_id,
        "reversal_of": entry.reversal_of_id,
        "request_key": entry.request_key,
        "redemption": entry.redemption_id,
        "created_at": _timestamp(entry.created_at),
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# ---- internals ------------------------------------------------------------------------------------------


def append_entry(
    session: Session,
    *,
    recorded_by_id: int | None,
    account: PointsAccount,
    points: int,
    kind: EntryKind | None = None,
    rule: Rule | None = None,
    rule_id: int | None = None,
    rule_name: str = "",
    note: str = "",
    evidence: str | None = None,
    reversal_of: LedgerEntry | None = None,
    request_key: str | None = None,
    approved_by=None,
    allow_negative: bool = False,
    redemption_id: int | None = None,
    book: LedgerBook | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry for a model-level caller: `write_entry` with the book and account objects kept in
    step. Pass `book` if already locked."""
    if rule is not None:
        kind = kind or (EntryKind.DEDUCTION if points < 0 else EntryKind.AWARD)
        rule_id, rule_name, allow_negative = rule.id, rule.name, allow_negative or rule.allow_negative
    book = book if book is not None else lock_book(session, account.village_id)
    session.flush()  # the rows the entry points at (a new redemption, a reversed entry) exist first
    written = write_entry(
        session,
        head=BookHead(account.village_id, book.entry_count, book.head_hash, book.tree_edge),
        account_id=account.id,
        points=points,
        balance_after=move_balance(session, account.id, points, allow_negative=allow_negative),
        kind=kind.value,
        rule_id=rule_id,
        rule_name=rule_name,
        note=note.strip(),
        evidence=evidence,
        recorded_by_id=recorded_by_id,
        approved_by_id=_id(approved_by),
        reversal_of_id=reversal_of.id if reversal_of is not None else None,
        request_key=request_key,
        redemption_id=redemption_id,
        created_at=at or utcnow(),
    )
    set_committed_value(book, "entry_count", written.seq)
    set_committed_value(book, "head_hash", written.hash)
    set_committed_value(book, "tree_edge", written.tree_edge)
    set_committed_value(account, "balance", written.balance_after)
    return session.get(LedgerEntry, written.id)


# The statements of the counter's path, built once (see `redemptions`).
_books, _accounts, _entries = LedgerBook.__table__, PointsAccount.__table__, LedgerEntry.__table__
_LOCK_HEAD = (
    select(_books.c.entry_count, _books.c.head_hash, _books.c.tree_edge, _books.c.receipt_count)
    .where(_books.c.village_id == bindparam("village"))
    .with_for_update()
)
_MOVE_HEAD = (
    update(_books)
    .where(_books.c.village_id == bindparam("village"))
    .values(entry_count=bindparam("count"), head_hash=bindparam("hash"), tree_edge=bindparam("edge"))
)
_INSERT_ENTRY = insert(_entries).returning(_entries.c.id)
_MOVE_BALANCE = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account"), _accounts.c.status == AccountStatus.ACTIVE.value)
    .values(balance=_accounts.c.balance + bindparam("points"))
    .returning(_accounts.c.balance)
)
_DEBIT_COVERED = _MOVE_BALANCE.where(_accounts.c.balance + bindparam("points") >= 0)
_ACCOUNT_STATE = select(_accounts.c.status, _accounts.c.balance).where(_accounts.c.id == bindparam("account"))


@dataclass(frozen=True)
class BookHead:
    """A locked village book's chain head and Merkle tree edge."""

    village_id: int
    entry_count: int
    head_hash: str
    tree_edge: bytes


@dataclass(frozen=True)
class Written:
    id: int
    seq: int
    hash: str
    balance_after: int
    tree_edge: bytes


def write_entry(
    session: Session, *, head: BookHead, account_id: int, points: int, balance_after: int, **columns
) -> Written:
    """The only code that inserts into the ledger: the entry next in the chain after `head` (the caller has
    locked the book and moved the balance with `move_balance`), its leaf in the village's Merkle tree, then
    the book's head and the month's totals.

    Core statements on the session's connection, with no ORM flush: the counter's redemption runs this.
    """
    row = {
        "village_id": head.village_id,
        "seq": head.entry_count + 1,
        "account_id": account_id,
        "points": points,
        "balance_after": balance_after,
        "rule_id": None,
        "rule_name": "",
        "note": "",
        "evidence": None,
        "recorded_by_id": None,
        "approved_by_id": None,
        "reversal_of_id": None,
        "request_key": None,
        "redemption_id": None,
        "created_at": utcnow(),
        "prev_hash": head.head_hash,
    } | columns
    row["hash"] = entry_hash(head.head_hash, SimpleNamespace(**row))
    connection = session.connection()
    entry_id = connection.execute(_INSERT_ENTRY, row).scalar_one()
    edge = ledger_tree.append(
        connection,
        village_id=head.village_id,
        size=head.entry_count,
        edge=head.tree_edge,
        leaf=ledger_tree.leaf_of(SimpleNamespace(**row)),
    )
    connection.execute(
        _MOVE_HEAD, {"village": head.village_id, "count": row["seq"], "hash": row["hash"], "edge": edge}
    )
    totals.add(
        session,
        village_id=head.village_id,
        month=totals.month_of(row["created_at"]),
        **totals.entry_deltas(row["kind"], points),
    )
    return Written(entry_id, row["seq"], row["hash"], balance_after, edge)


def open_book(session: Session, village_id: int) -> LedgerBook:
    """A new village's empty book, created with the village so that every later writer only locks it."""
    book = LedgerBook(
        village_id=village_id,
        entry_count=0,
        head_hash=GENESIS_HASH,
        tree_edge=b"",
        card_count=0,
        receipt_count=0,
        donation_count=0,
    )
    session.add(book)
    session.flush()
    return book


def lock_book(session: Session, village_id: int) -> LedgerBook:
    """The village's chain head and counters, locked for this transaction (PostgreSQL: FOR UPDATE;
    SQLite: the transaction is already IMMEDIATE)."""
    return session.execute(
        select(LedgerBook)
        .where(LedgerBook.village_id == village_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def lock_head(session: Session, village_id: int) -> tuple[BookHead, int]:
    """`lock_book` for writers in Core: the chain head and the receipt counter, without loading the row."""
    count, head, edge, receipts = session.connection().execute(_LOCK_HEAD, {"village": village_id}).one()
    return BookHead(village_id, count, head, bytes(edge)), receipts


def move_balance(session: Session, account_id: int, points: int, *, allow_negative: bool) -> int:
    """One conditional UPDATE: the balance moves only if the account is active and, for a debit, covers it.

    :raise AccountFrozen, InsufficientPoints:
    """
    connection = session.connection()
    stmt = _MOVE_BALANCE if points >= 0 or allow_negative else _DEBIT_COVERED
    new_balance = connection.execute(stmt, {"account": account_id, "points": points}).scalar_one_or_none()
    if new_balance is None:
        status, balance = connection.execute(_ACCOUNT_STATE, {"account": account_id}).one()
        if status != AccountStatus.ACTIVE:
            raise AccountFrozen()
        raise InsufficientPoints(needed=-points, available=balance)
    return new_balance


def _points_for(
    session: Session,
    rule: Rule,
    account: PointsAccount,
    *,
    exclude_claim: int | None = None,
    at: datetime | None = None,
) -> int:
    """The rule's points for this account now (or `at`): escalated for a repeated deduction, checked
    against the cap."""
    month_start = _month_start(at)
    if rule.is_deduction and rule.repeat_points:
        earlier = _month_count(session, rule, account, month_start)
        return rule.repeat_points[min(earlier, len(rule.repeat_points) - 1)]
    if rule.cap_per_month is not None:
        used = _month_points(session, rule, account, month_start, exclude_claim=exclude_claim)
        if used + rule.points > rule.cap_per_month:
            raise CapExceeded(name=rule.name, cap=rule.cap_per_month, used=used)
    return rule.points


def _month_points(session, rule, account, month_start: datetime, *, exclude_claim=None) -> int:
    """Points from the rule this month: entries net of their reversals, plus claims still waiting."""
    in_ledger = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.rule_id == rule.id,
            LedgerEntry.created_at >= month_start,
        )
    )
    waiting = select(func.coalesce(func.sum(PointsClaim.points), 0)).where(
        PointsClaim.account_id == account.id,
        PointsClaim.rule_id == rule.id,
        PointsClaim.status.in_((ClaimStatus.PENDING.value, ClaimStatus.PUBLICIZING.value)),
        PointsClaim.created_at >= month_start,
    )
    if exclude_claim is not None:
        waiting = waiting.where(PointsClaim.id != exclude_claim)
    return in_ledger + session.scalar(waiting)


def _month_count(session, rule, account, month_start: datetime) -> int:
    """How many times the rule was applied this month, not counting reversed entries."""
    reversed_ids = select(LedgerEntry.reversal_of_id).where(LedgerEntry.reversal_of_id.is_not(None))
    return session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.rule_id == rule.id,
            LedgerEntry.kind != EntryKind.REVERSAL.value,
            LedgerEntry.created_at >= month_start,
            LedgerEntry.id.not_in(reversed_ids),
        )
    )


def _month_start(at: datetime | None = None) -> datetime:
    """The start of the current calendar month (of `at`'s) where the villages are (Asia/Shanghai), in UTC."""
    local = (at or utcnow()).astimezone(VILLAGE_TIMEZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def ensure_usable(
    *, household_active: bool, account_status: str | None, card_status: str | None = None
) -> None:
    """Can this household redeem or be awarded points now? The one home of that rule: `award` (and every
    writer of a household's points), `redemptions.redeem` and the counter page ask it. `account_status` is
    None for a household without an account; `card_status` is the state of the card presented, when there
    is one (a redemption).

    :raise CardLost, CardRecovered: the card presented is dead.
    :raise HouseholdInactive: the household has moved out.
    :raise NoPointsAccount: it was never issued a card.
    :raise AccountFrozen: the points account is frozen.
    """
    if card_status == CardStatus.LOST:
        raise CardLost()
    if card_status == CardStatus.RECOVERED:
        raise CardRecovered()
    if card_status is not None and card_status != CardStatus.ACTIVE:
        raise CardNotActive()
    if not household_active:
        raise HouseholdInactive()
    if account_status is None:
        raise NoPointsAccount()
    if account_status != AccountStatus.ACTIVE:
        raise AccountFrozen()


def _active_rule(session: Session, village_id: int, rule_id: int) -> Rule:
    rule = session.scalar(select(Rule).where(Rule.id == rule_id, Rule.village_id == village_id))
    if rule is None:
        raise NotFound()
    if not rule.active:
        raise RuleRetired(name=rule.name)
    return rule


def _usable_account(session: Session, village_id: int, household_id: int) -> PointsAccount:
    """The household's account, if it may be awarded points now (`ensure_usable`). :raise NotFound:"""
    household = session.scalar(
        select(Household).where(Household.id == household_id, Household.village_id == village_id)
    )
    if household is None:
        raise NotFound()
    account = _account_of(session, village_id, household_id)
    ensure_usable(household_active=household.active, account_status=account and account.status)
    return account


def _household_of(session: Session, account_id: int) -> int:
    return session.scalar(select(PointsAccount.household_id).where(PointsAccount.id == account_id))


def _claim(session: Session, village_id: int, claim_id: int) -> PointsClaim:
    claim = session.scalar(
        select(PointsClaim).where(PointsClaim.id == claim_id, PointsClaim.village_id == village_id)
    )
    if claim is None:
        raise NotFound()
    return claim


def _open_claim(session: Session, village_id: int, claim_id: int, status: ClaimStatus) -> PointsClaim:
    claim = _claim(session, village_id, claim_id)
    if claim.status != status:
        raise ClaimNotOpen()
    return claim


def credit_publicized(
    session: Session, *, actor, village_id: int, claim_id: int, at: datetime | None = None
) -> PointsClaim:
    """公示后入账: a held claim whose notice passed its period without an upheld objection is credited."""
    claim = _open_claim(session, village_id, claim_id, ClaimStatus.PUBLICIZING)
    rule = session.get(Rule, claim.rule_id)
    account = _usable_account(session, village_id, _household_of(session, claim.account_id))
    return _credit_claim(
        session,
        actor,
        claim,
        rule,
        account,
        approved_by=_user(session, claim.decided_by_id),
        hold=False,
        at=at,
    )


def drop_publicized(
    session: Session, *, actor, village_id: int, claim_id: int, reason: str, at: datetime | None = None
) -> PointsClaim:
    """A held claim whose listing drew an upheld objection is never credited; the reason is shown."""
    claim = _open_claim(session, village_id, claim_id, ClaimStatus.PUBLICIZING)
    if not reason.strip():
        raise InvalidInput(_l("请填写原因，村民会看到它。"), field="reason")
    claim.status = ClaimStatus.REJECTED.value
    claim.reason = reason.strip()
    claim.decided_by_id = _id(actor)
    claim.decided_at = at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CLAIM_REJECT,
        subject=claim,
        village_id=village_id,
        data={"reason": claim.reason, "publicized": True},
        at=at,
    )
    return claim


def _held_until_notice(session: Session, village_id: int, points: int) -> bool:
    """Under 公示后入账 an award waits for the notice that lists it; deductions count at once."""
    return points > 0 and session.get(Village, village_id).credit_after_notice


def _credit_claim(
    session, actor, claim: PointsClaim, rule: Rule, account, *, approved_by, hold: bool = True, at=None
) -> PointsClaim:
    """Post a decided claim to the ledger, or, under 公示后入账, hold it for the next notice."""
    if hold and _held_until_notice(session, claim.village_id, claim.points):
        claim.status = ClaimStatus.PUBLICIZING.value
        claim.decided_by_id = _id(approved_by) or _id(actor)
        claim.decided_at = at or utcnow()
        session.flush()
        audit.record(
            session,
            actor=actor,
            tag=AuditTag.CLAIM_APPROVE,
            subject=claim,
            village_id=claim.village_id,
            data={"status": claim.status, "points": claim.points},
            at=at,
        )
        return claim
    entry = append_entry(
        session,
        recorded_by_id=claim.recorded_by_id,
        account=account,
        points=claim.points,
        rule=rule,
        note=claim.note,
        evidence=claim.evidence,
        approved_by=approved_by,
        request_key=f"claim:{claim.id}",
        at=at,
    )
    claim.status = ClaimStatus.APPROVED.value
    claim.entry_id = entry.id
    claim.decided_by_id = _id(actor)
    claim.decided_at = at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CLAIM_APPROVE,
        subject=claim,
        village_id=claim.village_id,
        data={"entry_id": entry.id, "points": entry.points},
        at=at,
    )
    return claim


def _replay(
    session: Session, request_key: str, village_id: int, *, household_id: int, rule_id: int
) -> Recorded | None:
    """The first result of a repeated request; a key reused for something else is refused."""
    entry = idempotency.replayed(session, LedgerEntry, request_key, village_id=village_id)
    claim = None if entry else idempotency.replayed(session, PointsClaim, request_key, village_id=village_id)
    found = entry or claim
    if found is None:
        return None
    if found.rule_id != rule_id or _household_of(session, found.account_id) != household_id:
        raise IdempotencyConflict()
    if claim is not None and claim.entry_id is not None:  # approved, or credited after its notice, since
        entry = session.get(LedgerEntry, claim.entry_id)
    return Recorded(entry=entry, claim=claim)


def _audit_entry(session: Session, actor, entry: LedgerEntry, at: datetime | None = None) -> None:
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.LEDGER_ENTRY_CREATE,
        subject=entry,
        village_id=entry.village_id,
        data={
            "account_id": entry.account_id,
            "points": entry.points,
            "rule": entry.rule_name,
            "seq": entry.seq,
        },
        at=at,
    )


def _id(user) -> int | None:
    return user.id if user is not None else None


def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
