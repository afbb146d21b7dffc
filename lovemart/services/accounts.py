"""Read models of a household's points account: the villager's QR page, and the account and entries the
API answers with. Reads only; every write goes through `services.points`.

`villager_view` runs a fixed number of statements whatever the size of the ledger: it reads the stored
balance (never a SUM over entries) and the newest entries through the (account_id, seq) index with a LIMIT,
and the goods of the redemptions among them in one more statement.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import (
    Card,
    Household,
    LedgerEntry,
    Member,
    Objection,
    PointsAccount,
    PointsClaim,
    RedemptionLine,
    Rule,
    Village,
)
from lovemart.models.cards import CardStatus
from lovemart.models.households import Relation
from lovemart.models.notices import ObjectionStatus
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.services import cards, points, rules
from lovemart.services.errors import NotFound
from lovemart.services.paging import Page, paginate

#: How much of the history the villager's page shows (standard and large print).
RECENT_ENTRIES = 10
RECENT_APPLICATIONS = 5
#: How long /me shows an objection's answer after it was given (the full list is at /me/objections).
ANSWERED_DAYS = 30
ANSWERED_SHOWN = 3


@dataclass(frozen=True)
class EntryLine:
    created_at: datetime
    label: str
    points: int
    #: For a redemption: what was taken, "大米 × 2、食用油 × 1".
    goods: str = ""


@dataclass(frozen=True)
class AnswerLine:
    """An objection of the household's, answered lately."""

    answered_at: datetime
    about: str
    status: str
    status_label: str
    answer: str


@dataclass(frozen=True)
class ApplicationLine:
    created_at: datetime
    rule_name: str
    points: int
    status: str
    status_label: str
    reason: str

    @property
    def is_open(self) -> bool:
        return self.status in (ClaimStatus.SUBMITTED, ClaimStatus.PENDING)

    @property
    def is_refused(self) -> bool:
        return self.status in (ClaimStatus.DECLINED, ClaimStatus.REJECTED)


@dataclass(frozen=True)
class HeldLine:
    """An award held under 公示后入账 (公示中): not in the balance until its notice's period has passed."""

    created_at: datetime
    rule_name: str
    points: int


@dataclass(frozen=True)
class VillagerView:
    """Everything the villager's QR page shows, as plain values."""

    village_name: str
    head_name: str
    card_number: str
    balance: int
    yuan: int
    entries: list[EntryLine]
    applications: list[ApplicationLine]
    held: list[HeldLine]
    answered: list[AnswerLine] = ()

    @property
    def held_points(self) -> int:
        return sum(line.points for line in self.held)


_accounts, _claims, _rules = PointsAccount.__table__, PointsClaim.__table__, Rule.__table__
_entries, _members, _villages = LedgerEntry.__table__, Member.__table__, Village.__table__
_objections, _lines = Objection.__table__, RedemptionLine.__table__
#: Whether the household has an objection answered since `:since`: asked with the head, so the common
#: page (no answer lately) spends no statement on objections.
_ANSWERED_LATELY = (
    select(_objections.c.id)
    .where(
        _objections.c.household_id == _accounts.c.household_id,
        _objections.c.village_id == _accounts.c.village_id,
        _objections.c.status != ObjectionStatus.OPEN.value,
        _objections.c.answered_at >= bindparam("since"),
    )
    .exists()
)
_HEAD = (
    select(
        _villages.c.name,
        _villages.c.yuan_per_point,
        _accounts.c.balance,
        _members.c.name,
        _ANSWERED_LATELY.label("answered_lately"),
    )
    .select_from(_accounts)
    .join(_villages, _villages.c.id == _accounts.c.village_id)
    .outerjoin(
        _members,
        and_(
            _members.c.household_id == _accounts.c.household_id,
            _members.c.village_id == _accounts.c.village_id,
            _members.c.relation == Relation.HEAD.value,
        ),
    )
    .where(_accounts.c.id == bindparam("account"), _accounts.c.village_id == bindparam("village"))
)
_ENTRIES = (
    select(
        _entries.c.created_at,
        _entries.c.kind,
        _entries.c.rule_name,
        _entries.c.points,
        _entries.c.redemption_id,
    )
    .where(_entries.c.account_id == bindparam("account"))
    .order_by(_entries.c.seq.desc())
    .limit(bindparam("limit"))
)
_APPLICATIONS = (
    select(_claims.c.created_at, _rules.c.name, _claims.c.points, _claims.c.status, _claims.c.reason)
    .join(_rules, _rules.c.id == _claims.c.rule_id)
    .where(_claims.c.account_id == bindparam("account"), _claims.c.from_villager.is_(True))
    .order_by(_claims.c.id.desc())
    .limit(bindparam("limit"))
)
_GOODS = (
    select(_lines.c.redemption_id, _lines.c.product_name, _lines.c.quantity)
    .where(_lines.c.redemption_id.in_(bindparam("redemptions", expanding=True)))
    .order_by(_lines.c.redemption_id, _lines.c.id)
)
_claim_rules = _rules.alias("claim_rules")
_ANSWERED = (
    select(
        _objections.c.answered_at,
        _entries.c.kind,
        func.coalesce(_entries.c.rule_name, _claim_rules.c.name, ""),
        _objections.c.status,
        _objections.c.answer,
    )
    .outerjoin(_entries, _entries.c.id == _objections.c.entry_id)
    .outerjoin(_claims, _claims.c.id == _objections.c.claim_id)
    .outerjoin(_claim_rules, _claim_rules.c.id == _claims.c.rule_id)
    .where(
        _objections.c.village_id == bindparam("village"),
        _objections.c.household_id == bindparam("household"),
        _objections.c.status != ObjectionStatus.OPEN.value,
        _objections.c.answered_at >= bindparam("since"),
    )
    .order_by(_objections.c.answered_at.desc(), _objections.c.id.desc())
    .limit(ANSWERED_SHOWN)
)
_HELD = (
    select(_claims.c.created_at, _rules.c.name, _claims.c.points)
    .join(_rules, _rules.c.id == _claims.c.rule_id)
    .where(
        _claims.c.account_id == bindparam("account"),
        _claims.c.status == ClaimStatus.PUBLICIZING.value,
        _claims.c.points > 0,  # as `points.balances` counts `held`: the page and the counter agree
    )
    .order_by(_claims.c.id.desc())
)


@dataclass(frozen=True)
class AccountSummary:
    household_id: int
    account_id: int
    balance: int
    yuan: int
    status: str
    card_number: str | None
    #: 公示中: awards held under 公示后入账, not yet in `balance` (`points.Balance.held`).
    held: int = 0
    #: 待审核: awards waiting for the supervisor's approval, not yet in `balance` (`points.Balance.pending`).
    pending: int = 0


def villager_view(
    session: Session, card: Card, *, entries: int = RECENT_ENTRIES, applications: int = RECENT_APPLICATIONS
) -> VillagerView:
    """The page behind an active card, in four statements (head, newest entries, newest applications, and
    the awards held 公示中: few, as they wait at most for the next notice's period), plus one for the goods
    when the entries include redemptions and one for the objections answered in the last `ANSWERED_DAYS`
    when the head's row says there are some; built once and run in Core: the page is what every
    villager's phone asks for."""
    connection = session.connection()
    since = utcnow() - timedelta(days=ANSWERED_DAYS)
    head = connection.execute(
        _HEAD, {"account": card.account_id, "village": card.village_id, "since": since}
    ).one_or_none()
    if head is None:
        raise NotFound()
    village_name, yuan_per_point, balance, head_name, answered_lately = head
    entry_rows = connection.execute(_ENTRIES, {"account": card.account_id, "limit": entries}).all()
    claim_rows = connection.execute(_APPLICATIONS, {"account": card.account_id, "limit": applications}).all()
    held_rows = connection.execute(_HELD, {"account": card.account_id}).all()
    answered_rows = []
    if answered_lately:
        answered_rows = connection.execute(
            _ANSWERED, {"village": card.village_id, "household": card.household_id, "since": since}
        ).all()
    goods = _goods(connection, [row.redemption_id for row in entry_rows if row.redemption_id is not None])
    return VillagerView(
        village_name=village_name,
        head_name=head_name or "",
        card_number=card.number,
        balance=balance,
        yuan=balance * yuan_per_point,
        entries=[
            EntryLine(at, entry_label(kind, rule_name), pts, goods.get(redemption, ""))
            for at, kind, rule_name, pts, redemption in entry_rows
        ],
        applications=[
            ApplicationLine(at, rule_name, pts, status, str(ClaimStatus(status).label), reason)
            for at, rule_name, pts, status, reason in claim_rows
        ],
        held=[HeldLine(at, rule_name, pts) for at, rule_name, pts in held_rows],
        answered=[
            AnswerLine(
                at,
                entry_label(kind, name) if kind else name,
                status,
                str(ObjectionStatus(status).label),
                answer,
            )
            for at, kind, name, status, answer in answered_rows
        ],
    )


def _goods(connection, redemption_ids: list[int]) -> dict[int, str]:
    """What each redemption took, "大米 × 2、食用油 × 1", in one statement for all of them (none if none)."""
    if not redemption_ids:
        return {}
    taken: dict[int, list[str]] = {}
    for redemption, name, quantity in connection.execute(_GOODS, {"redemptions": redemption_ids}):
        taken.setdefault(redemption, []).append(f"{name} × {quantity}")
    return {redemption: "、".join(names) for redemption, names in taken.items()}


def entry_label(kind: str, rule_name: str) -> str:
    """What a villager reads for an entry: the rule's name as it was, or what kind of entry it is."""
    kind_label = str(EntryKind(kind).label)
    if kind == EntryKind.REVERSAL:
        return str(_l("冲正：%(name)s", name=rule_name)) if rule_name else kind_label
    return rule_name or kind_label


def application_by_key(session: Session, request_key: str) -> PointsClaim | None:
    """The application a request key already produced (a double submit), if any."""
    return session.scalar(select(PointsClaim).where(PointsClaim.request_key == request_key))


def earning_rules(session: Session, *, village_id: int) -> list[Rule]:
    """The rules a villager may apply under: active, earning (not deductions), by category then name."""
    catalogue = rules.catalogue(session, village_id=village_id, include_retired=False)
    return [rule for rule in catalogue if not rule.is_deduction]


def summary_for_household(session: Session, *, village_id: int, household_id: int) -> AccountSummary:
    """Balance, value and status of a household's account, with the number of its card in use if any.

    :raise NotFound: for a household not of this village. :raise NoPointsAccount: if never carded.
    """
    household = session.scalar(
        select(Household.id).where(Household.id == household_id, Household.village_id == village_id)
    )
    if household is None:
        raise NotFound()
    account = points.account_for_household(session, village_id=village_id, household_id=household_id)
    card_number = session.scalar(
        select(Card.number).where(Card.account_id == account.id, Card.status == CardStatus.ACTIVE.value)
    )
    return _summary(session, account, card_number)


def summary_for_card(session: Session, *, village_id: int, number: str) -> AccountSummary:
    """The account behind a card of the village by its printed number. :raise NotFound, CardNotActive:"""
    card = cards.by_number(session, village_id=village_id, number=number)
    account = session.get(PointsAccount, card.account_id)
    return _summary(session, account, card.number)


def entries_page(
    session: Session, *, village_id: int, household_id: int, page: int = 1, per_page: int = 30
) -> Page:
    """A household's ledger entries, newest first. :raise NotFound, NoPointsAccount:"""
    summary = summary_for_household(session, village_id=village_id, household_id=household_id)
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == summary.account_id, LedgerEntry.village_id == village_id)
        .order_by(LedgerEntry.seq.desc())
    )
    return paginate(session, stmt, page=page, per_page=per_page)


def _summary(session: Session, account: PointsAccount, card_number: str | None) -> AccountSummary:
    yuan_per_point = session.scalar(select(Village.yuan_per_point).where(Village.id == account.village_id))
    balance = points.balance_of(session, village_id=account.village_id, account_id=account.id)
    return AccountSummary(
        household_id=account.household_id,
        account_id=account.id,
        balance=balance.spendable,
        yuan=balance.spendable * yuan_per_point,
        status=account.status,
        card_number=card_number,
        held=balance.held,
        pending=balance.pending,
    )
