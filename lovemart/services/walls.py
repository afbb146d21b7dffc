"""The wish wall (心愿墙) and the response wall (回音墙).

A household posts a wish (from its QR page, or the administrator on its behalf); the supervisor approves it
for the public wall or declines it with a reason; a donor takes it up (认领); where the donor gives goods, the
goods donation that brought them in is linked, and handing them to the household is a stock movement that
names the wish (no points are charged); the administrator records how the wish came true and the thanks,
and it moves to the response wall. `chain` shows every step with its date.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import Donation, Donor, Household, Member, Product, StockMovement, Village, Wish
from lovemart.models.households import Relation
from lovemart.models.inventory import MovementKind
from lovemart.models.walls import WishCategory, WishStatus
from lovemart.services import audit, idempotency, inventory
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    HouseholdInactive,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    TooManyWishes,
    WishNotInState,
)
from lovemart.services.paging import MAX_PAGE, Page

#: Wishes a household may have waiting (pending, on the wall or taken up) at once.
MAX_OPEN_WISHES = 3
_WAITING = (WishStatus.PENDING.value, WishStatus.OPEN.value, WishStatus.PLEDGED.value)


def post_wish(
    session: Session,
    *,
    actor,
    village_id: int,
    household_id: int,
    text: str,
    category: str,
    photo: str | None = None,
    request_key: str | None = None,
    from_villager: bool = False,
    at: datetime | None = None,
) -> Wish:
    """A new wish, waiting for the supervisor. A repeated `request_key` returns the first wish. Every
    writer here takes `at`, the moment of the step when it is not now.

    :raise InvalidInput, HouseholdInactive, TooManyWishes, IdempotencyConflict:
    """
    if done := idempotency.replayed(session, Wish, request_key, village_id=village_id):
        if done.household_id != household_id:
            raise IdempotencyConflict()
        return done
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_l("请写下心愿。"), field="text")
    if len(text) > 500:
        raise InvalidInput(_l("心愿最多 500 字。"), field="text")
    if category not in {c.value for c in WishCategory}:
        raise InvalidInput(_l("请选择心愿类别。"), field="category")
    household = session.get(Household, household_id)
    if household is None or household.village_id != village_id:
        raise NotFound()
    if not household.active:
        raise HouseholdInactive()
    waiting = session.scalar(
        select(func.count())
        .select_from(Wish)
        .where(Wish.household_id == household_id, Wish.status.in_(_WAITING))
    )
    if waiting >= MAX_OPEN_WISHES:
        raise TooManyWishes(limit=MAX_OPEN_WISHES)
    wish = Wish(
        village_id=village_id,
        household_id=household_id,
        text=text,
        category=category,
        photo=photo,
        status=WishStatus.PENDING.value,
        from_villager=from_villager,
        posted_by_id=_id(actor),
        request_key=request_key,
        created_at=at or utcnow(),
        decline_reason="",
        pledge_note="",
        fulfilment="",
        thanks="",
    )
    session.add(wish)
    session.flush()
    _audit(
        session,
        actor,
        AuditTag.WISH_POST,
        wish,
        {"household_id": household_id, "from_villager": from_villager},
        at,
    )
    return wish


def approve(session: Session, *, actor, village_id: int, wish_id: int, at: datetime | None = None) -> Wish:
    """The supervisor puts a pending wish on the public wall."""
    wish = _in_state(session, village_id, wish_id, WishStatus.PENDING)
    _moderated(wish, actor, WishStatus.OPEN, at)
    _audit(session, actor, AuditTag.WISH_APPROVE, wish, {}, at)
    return wish


def decline(
    session: Session, *, actor, village_id: int, wish_id: int, reason: str, at: datetime | None = None
) -> Wish:
    """The supervisor keeps a pending wish off the wall, with a reason the household sees."""
    wish = _in_state(session, village_id, wish_id, WishStatus.PENDING)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("请填写原因，村民会看到它。"), field="reason")
    wish.decline_reason = reason[:200]
    _moderated(wish, actor, WishStatus.DECLINED, at)
    _audit(session, actor, AuditTag.WISH_DECLINE, wish, {"reason": wish.decline_reason}, at)
    return wish


def pledge(
    session: Session,
    *,
    actor,
    village_id: int,
    wish_id: int,
    donor_id: int,
    note: str = "",
    at: datetime | None = None,
) -> Wish:
    """A donor takes up a wish on the wall (认领)."""
    wish = _in_state(session, village_id, wish_id, WishStatus.OPEN)
    donor = session.get(Donor, donor_id)
    if donor is None or donor.village_id != village_id:
        raise NotFound()
    wish.donor_id, wish.pledge_note = donor.id, (note or "").strip()[:200]
    wish.status, wish.pledged_at = WishStatus.PLEDGED.value, at or utcnow()
    session.flush()
    _audit(session, actor, AuditTag.WISH_PLEDGE, wish, {"donor": donor.name}, at)
    return wish


def receive_goods(
    session: Session, *, actor, village_id: int, wish_id: int, donation_id: int, at: datetime | None = None
) -> Wish:
    """Link the pledging donor's goods donation (its stock-in) to the wish."""
    wish = _in_state(session, village_id, wish_id, WishStatus.PLEDGED)
    donation = session.get(Donation, donation_id)
    if donation is None or donation.village_id != village_id:
        raise NotFound()
    if donation.donor_id != wish.donor_id or donation.kind != "goods":
        raise InvalidInput(_l("只能关联认领人捐赠的物资。"), field="donation_id")
    wish.donation_id = donation.id
    session.flush()
    _audit(session, actor, AuditTag.WISH_RECEIVE, wish, {"donation": donation.receipt_no}, at)
    return wish


def hand_over(
    session: Session,
    *,
    actor,
    village_id: int,
    wish_id: int,
    product_id: int,
    quantity: int,
    at: datetime | None = None,
) -> Wish:
    """Give goods to the household whose wish they fulfil: stock goes out, no points are charged."""
    wish = _in_state(session, village_id, wish_id, WishStatus.PLEDGED)
    if not 1 <= quantity <= 1000:
        raise InvalidInput(_l("数量应为 1 到 1000。"), field="quantity")
    movement = inventory.move(
        session,
        actor=actor,
        village_id=village_id,
        product_id=product_id,
        quantity=-quantity,
        kind=MovementKind.HANDOVER,
        wish_id=wish.id,
        note=str(_l("心愿交付")),
        **inventory.moment(at),
    )
    _audit(
        session,
        actor,
        AuditTag.WISH_HANDOVER,
        wish,
        {"product_id": product_id, "quantity": quantity, "movement_id": movement.id},
        at,
    )
    return wish


def fulfil(
    session: Session,
    *,
    actor,
    village_id: int,
    wish_id: int,
    fulfilment: str,
    thanks: str = "",
    at: datetime | None = None,
) -> Wish:
    """The wish came true: how, and the thanks to the donor; it moves to the response wall."""
    wish = _in_state(session, village_id, wish_id, WishStatus.PLEDGED)
    fulfilment = (fulfilment or "").strip()
    if not fulfilment:
        raise InvalidInput(_l("请写明心愿是怎样实现的。"), field="fulfilment")
    wish.fulfilment, wish.thanks = fulfilment[:500], (thanks or "").strip()[:200]
    wish.status, wish.fulfilled_at, wish.fulfilled_by_id = (
        WishStatus.FULFILLED.value,
        at or utcnow(),
        _id(actor),
    )
    session.flush()
    _audit(session, actor, AuditTag.WISH_FULFIL, wish, {"fulfilment": wish.fulfilment}, at)
    return wish


def get(session: Session, *, village_id: int, wish_id: int) -> Wish:
    wish = session.get(Wish, wish_id)
    if wish is None or wish.village_id != village_id:
        raise NotFound()
    return wish


@dataclass(frozen=True)
class WishRow:
    wish: Wish
    #: What the public may see of the household: the head's surname and the group (王家，啊道组).
    family: str
    household_number: str
    donor: str


def wishes(
    session: Session, *, village_id: int, statuses, page: int = 1, per_page: int = 30, household_id=None
) -> Page:
    """Wishes in the given states, newest first, with what a list shows of household and donor."""
    stmt = (
        select(Wish, Household.number, Member.name, Donor.name)
        .join(Household, Household.id == Wish.household_id)
        .outerjoin(Member, (Member.household_id == Household.id) & (Member.relation == Relation.HEAD.value))
        .outerjoin(Donor, Donor.id == Wish.donor_id)
        .where(Wish.village_id == village_id, Wish.status.in_([WishStatus(s).value for s in statuses]))
        .order_by(func.coalesce(Wish.fulfilled_at, Wish.created_at).desc(), Wish.id.desc())
    )
    if household_id is not None:
        stmt = stmt.where(Wish.household_id == household_id)
    page = min(max(1, page), MAX_PAGE)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    items = [WishRow(wish, _family(head), number, donor or "") for wish, number, head, donor in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def counts(session: Session, *, village_id: int) -> dict[str, int]:
    return dict(
        session.execute(
            select(Wish.status, func.count()).where(Wish.village_id == village_id).group_by(Wish.status)
        ).all()
    )


@dataclass(frozen=True)
class Step:
    label: object
    at: datetime | None
    detail: str = ""


def chain(session: Session, wish: Wish) -> list[Step]:
    """wish → approved → pledged → goods received → handed over → fulfilled, as far as it got."""
    steps = [Step(_l("提出心愿"), wish.created_at)]
    if wish.status == WishStatus.DECLINED:
        return [*steps, Step(_l("未通过审核"), wish.moderated_at, wish.decline_reason)]
    if wish.moderated_at:
        steps.append(Step(_l("审核通过，上墙"), wish.moderated_at))
    if wish.donor_id:
        donor = session.get(Donor, wish.donor_id)
        steps.append(Step(_l("爱心认领"), wish.pledged_at, f"{donor.name} {wish.pledge_note}".strip()))
    if wish.donation_id:
        donation = session.get(Donation, wish.donation_id)
        steps.append(Step(_l("物资入库"), donation.created_at, donation.receipt_no))
    for movement, name in session.execute(
        select(StockMovement, Product.name)
        .join(Product, Product.id == StockMovement.product_id)
        .where(StockMovement.wish_id == wish.id)
        .order_by(StockMovement.id)
    ):
        steps.append(Step(_l("交到农户手中"), movement.created_at, f"{name} × {-movement.quantity}"))
    if wish.fulfilled_at:
        steps.append(Step(_l("心愿实现"), wish.fulfilled_at, wish.fulfilment))
    return steps


def household_by_number(session: Session, *, village_id: int, number: str) -> int | None:
    return session.scalar(
        select(Household.id).where(Household.village_id == village_id, Household.number == number.strip())
    )


def household_label(session: Session, wish: Wish) -> str:
    """户号 and head, for staff pages."""
    number, head = session.execute(
        select(Household.number, Member.name)
        .outerjoin(Member, (Member.household_id == Household.id) & (Member.relation == Relation.HEAD.value))
        .where(Household.id == wish.household_id)
    ).one()
    return f"{number} {head or ''}".strip()


def goods_donations(session: Session, *, village_id: int, donor_id: int | None) -> list[Donation]:
    """The goods donations of a donor, newest first (what a pledged wish can be linked to)."""
    if donor_id is None:
        return []
    return list(
        session.scalars(
            select(Donation)
            .where(Donation.village_id == village_id, Donation.donor_id == donor_id, Donation.kind == "goods")
            .order_by(Donation.id.desc())
        )
    )


def village_by_code(session: Session, code: str) -> Village | None:
    """The village of a public wall (villages are not village-owned rows: no scope applies)."""
    return session.scalar(select(Village).where(Village.code == code.strip().lower()))


def _family(head: str | None) -> str:
    return str(_l("%(surname)s家", surname=head[0])) if head else str(_l("某户"))


def _in_state(session: Session, village_id: int, wish_id: int, state: WishStatus) -> Wish:
    wish = get(session, village_id=village_id, wish_id=wish_id)
    if wish.status != state.value:
        raise WishNotInState(status=WishStatus(wish.status).label)
    return wish


def _moderated(wish: Wish, actor, status: WishStatus, at: datetime | None = None) -> None:
    wish.status, wish.moderated_at, wish.moderated_by_id = status.value, at or utcnow(), _id(actor)


def _audit(
    session: Session, actor, tag: AuditTag, wish: Wish, data: dict, at: datetime | None = None
) -> None:
    session.flush()
    audit.record(session, actor=actor, tag=tag, subject=wish, village_id=wish.village_id, data=data, at=at)


def _id(user) -> int | None:
    return user.id if user is not None else None
