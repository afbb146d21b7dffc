"""Point cards (积分卡): issue (with the base points), report lost and reissue, recover, and look up.

The balance belongs to the household's points account; a card is only a credential pointing at it, so a
reissued card carries the same balance and the old token stops working at once.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from lovemart.db import utcnow
from lovemart.models import Card, Household, PointsAccount, Village
from lovemart.models.cards import CardStatus
from lovemart.models.points import AccountStatus
from lovemart.services import audit, households, inspections, points, villages
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    AlreadyHasCard,
    CardNotActive,
    HouseholdInactive,
    InspectionNotPassed,
    NotFound,
)

TOKEN_BYTES = 24  # 192 bits in the villager's URL


@dataclass(frozen=True)
class HouseholdCards:
    """What the household page shows: the card in use (if any), every card ever issued, and the account."""

    active: Card | None
    history: list[Card]
    account: PointsAccount | None
    #: The account's spendable, 公示中 and 待审核 points (`points.balances`); None without an account.
    balance: points.Balance | None = None

    @property
    def frozen(self) -> bool:
        return self.account is not None and self.account.status == AccountStatus.FROZEN


@dataclass(frozen=True)
class PrintableCard:
    card: Card
    household: Household


def issue(session: Session, *, actor, village_id: int, household_id: int, at: datetime | None = None) -> Card:
    """A first card for a household that passed all six checks at its latest inspection (`at`: the moment,
    when it is not now).

    Opens the points account with the village's base points as its first entry. A household coming back
    after its card was recovered gets its frozen account back, without new base points.
    """
    household = households.get(session, village_id=village_id, household_id=household_id)
    if not household.active:
        raise HouseholdInactive()
    if (current := active_card(session, village_id=village_id, household_id=household_id)) is not None:
        raise AlreadyHasCard(number=current.number)
    latest = inspections.latest(session, village_id=village_id, household_id=household_id)
    if latest is None or not latest.passed:
        failed = "、".join(str(label) for label in latest.failed_checks) if latest else str(_l("尚未检查"))
        raise InspectionNotPassed(failed=failed)
    village = villages.get(session, village_id)
    account = session.scalar(select(PointsAccount).where(PointsAccount.household_id == household_id))
    new_account = account is None
    if new_account:
        account = points.open_account(session, village_id=village_id, household_id=household_id)
    elif account.status == AccountStatus.FROZEN:
        points.set_frozen(session, account=account, frozen=False)
    card = _new_card(session, village, account, actor, at=at)
    if new_account:
        points.credit_base(session, actor=actor, village=village, account=account, at=at)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CARD_ISSUE,
        subject=card,
        village_id=village_id,
        data={"household_id": household_id, "number": card.number},
        at=at,
    )
    return card


def reissue(session: Session, *, actor, village_id: int, card_id: int, at: datetime | None = None) -> Card:
    """Report a card lost and issue its replacement: same account and balance, the old token dead at once."""
    old = get(session, village_id=village_id, card_id=card_id)
    if old.status != CardStatus.ACTIVE:
        raise CardNotActive()
    _end(old, CardStatus.LOST, at)
    session.flush()
    village = villages.get(session, village_id)
    account = session.get(PointsAccount, old.account_id)
    card = _new_card(session, village, account, actor, replaces=old, at=at)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CARD_REISSUE,
        subject=card,
        village_id=village_id,
        data={"household_id": card.household_id, "lost": old.number, "number": card.number},
        at=at,
    )
    return card


def recover(session: Session, *, actor, village_id: int, card_id: int) -> Card:
    """Take a card back (回收) when the household leaves: card dead, account frozen, history kept."""
    card = get(session, village_id=village_id, card_id=card_id)
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive()
    _end(card, CardStatus.RECOVERED)
    points.set_frozen(session, account=session.get(PointsAccount, card.account_id), frozen=True)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.CARD_RECOVER,
        subject=card,
        village_id=village_id,
        data={"household_id": card.household_id, "number": card.number},
    )
    return card


def get(session: Session, *, village_id: int, card_id: int) -> Card:
    card = session.scalar(select(Card).where(Card.id == card_id, Card.village_id == village_id))
    if card is None:
        raise NotFound()
    return card


def get_active(session: Session, *, village_id: int, card_id: int) -> Card:
    """A card that may still be printed or used. :raise NotFound, CardNotActive:"""
    card = get(session, village_id=village_id, card_id=card_id)
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive()
    return card


def active_card(session: Session, *, village_id: int, household_id: int) -> Card | None:
    return session.scalar(
        select(Card).where(
            Card.village_id == village_id,
            Card.household_id == household_id,
            Card.status == CardStatus.ACTIVE.value,
        )
    )


def active_numbers(session: Session, *, village_id: int, household_ids) -> dict[int, str]:
    """The number of each given household's active card, by household id; one query."""
    if not household_ids:
        return {}
    rows = session.execute(
        select(Card.household_id, Card.number).where(
            Card.village_id == village_id,
            Card.household_id.in_(sorted(household_ids)),
            Card.status == CardStatus.ACTIVE.value,
        )
    )
    return dict(rows.all())


def cards_of(session: Session, *, village_id: int, household_id: int) -> list[Card]:
    return list(
        session.scalars(
            select(Card)
            .where(Card.village_id == village_id, Card.household_id == household_id)
            .order_by(Card.id)
        )
    )


def for_household(session: Session, *, village_id: int, household_id: int) -> HouseholdCards:
    history = list(
        session.scalars(
            select(Card)
            .where(Card.village_id == village_id, Card.household_id == household_id)
            .order_by(Card.id.desc())
        )
    )
    account = session.scalar(
        select(PointsAccount).where(
            PointsAccount.village_id == village_id, PointsAccount.household_id == household_id
        )
    )
    active = next((card for card in history if card.status == CardStatus.ACTIVE), None)
    balance = (
        points.balance_of(session, village_id=village_id, account_id=account.id)
        if account is not None
        else None
    )
    return HouseholdCards(active=active, history=history, account=account, balance=balance)


def printable(session: Session, *, village_id: int, group_id: int | None = None) -> list[PrintableCard]:
    """The active cards of a village (or one group) with their households, in household-number order."""
    stmt = (
        select(Card, Household)
        .join(Household, (Household.id == Card.household_id) & (Household.village_id == Card.village_id))
        .where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE.value)
        .options(selectinload(Household.members), selectinload(Household.group))
        .order_by(Household.number)
    )
    if group_id is not None:
        stmt = stmt.where(Household.group_id == group_id)
    return [PrintableCard(card, household) for card, household in session.execute(stmt)]


def awaiting_card(session: Session, *, village_id: int) -> list[Household]:
    """Active households whose latest inspection passed and that hold no active card: ready for a card."""
    latest = inspections.latest_by_household(session, village_id=village_id)
    carded = set(
        session.scalars(
            select(Card.household_id).where(
                Card.village_id == village_id, Card.status == CardStatus.ACTIVE.value
            )
        )
    )
    ready = [hid for hid, inspection in latest.items() if inspection.passed and hid not in carded]
    if not ready:
        return []
    return list(
        session.scalars(
            select(Household)
            .where(Household.village_id == village_id, Household.active.is_(True), Household.id.in_(ready))
            .options(selectinload(Household.members), selectinload(Household.group))
            .order_by(Household.number)
        )
    )


def by_number(session: Session, *, village_id: int, number: str) -> Card:
    """An active card of the village by its printed number. :raise NotFound, CardNotActive:"""
    card = session.scalar(
        select(Card).where(Card.village_id == village_id, Card.number == number.strip().upper())
    )
    if card is None:
        raise NotFound()
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive()
    return card


def by_token(session: Session, token: str) -> Card | None:
    """The active card behind a villager URL, in any village (the token is the only credential)."""
    if not token or len(token) > 64 or "\x00" in token:  # PostgreSQL refuses NUL in text
        return None
    return session.scalar(_BY_TOKEN, {"token": token})


#: Built once: every villager page runs it.
_BY_TOKEN = (
    select(Card)
    .where(Card.token == bindparam("token"), Card.status == CardStatus.ACTIVE.value)
    .execution_options(all_villages=True)
)


def _new_card(
    session: Session,
    village: Village,
    account: PointsAccount,
    actor,
    *,
    replaces: Card | None = None,
    at: datetime | None = None,
) -> Card:
    book = points.lock_book(session, village.id)
    book.card_count += 1
    card = Card(
        village_id=village.id,
        household_id=account.household_id,
        account_id=account.id,
        number=f"{village.card_prefix}{book.card_count:05d}",
        token=secrets.token_urlsafe(TOKEN_BYTES),
        status=CardStatus.ACTIVE.value,
        issued_by_id=actor.id if actor is not None else None,
        issued_at=at or utcnow(),
        replaces_id=replaces.id if replaces is not None else None,
    )
    session.add(card)
    session.flush()
    return card


def _end(card: Card, status: CardStatus, at: datetime | None = None) -> None:
    card.status = status.value
    card.ended_at = at or utcnow()
