"""The offline counter (离线柜台): registered counter devices, the snapshot a device serves from while the
network is down, the sync of what it redeemed meanwhile, and the supervisor's decision on replays that were
no longer valid when they arrived.

A device numbers its offline redemptions 1, 2, 3… and gives each a request key. `apply` books one record in
its own transaction with the counter's own `redemptions.redeem` and the same idempotency rules (the same key
and body again: the first outcome; the same key or number with another body: refused). A record that can no
longer be booked (points spent elsewhere, stock gone, a card reported lost, a changed price, over the
village's offline cap) is never dropped, since the goods have left the shop: it is kept as pending, raised
to the supervisor, and `settle` books it (a negative balance allowed) or records a recovery, with a reason.

Time: a booked entry carries the server's time. The device's clock is kept beside it, and its error is
measured at sync time from the `sent_at` the device puts on each batch (an offline redemption made an hour
ago is not an hour wrong); an error over `MAX_CLOCK_SKEW` is flagged.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import (
    Card,
    CounterDevice,
    OfflineRedemption,
    PointsAccount,
    Product,
    Redemption,
    Village,
)
from lovemart.models.cards import CardStatus
from lovemart.models.offline import OfflineStatus
from lovemart.services import audit, idempotency, points, redemptions
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    OfflineNotAllowed,
    OfflineNotPending,
)
from lovemart.services.redemptions import CartLine

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 200
#: How far back a device's clock may date an offline redemption (a snapshot older than this is refused by
#: the page itself; a record claiming more is malformed).
MAX_OFFLINE_AGE = timedelta(days=30)


@dataclass(frozen=True)
class Snapshot:
    """What a device needs to serve offline: every active card with its household and spendable points, every
    active product with its price and stock, and the village's offline cap, as of `taken_at`."""

    taken_at: datetime
    cap_points: int
    cards: list[dict]
    products: list[dict]


@dataclass(frozen=True)
class OfflineRecord:
    """One offline redemption as the device sends it."""

    seq: int
    request_key: str
    card_number: str
    lines: list[CartLine]
    total_points: int
    provisional_no: str
    client_at: datetime
    snapshot_taken_at: datetime
    snapshot_age_seconds: int

    @property
    def digest(self) -> str:
        body = {
            "card": self.card_number,
            "lines": [[line.product_id, line.quantity] for line in sorted(self.lines, key=_product)],
            "total": self.total_points,
        }
        return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What the server made of one record (`id`: its row). The device removes the record from its outbox
    on any outcome: booked or pending, the server holds it now."""

    id: int
    seq: int
    request_key: str
    status: str
    receipt_no: str = ""
    problem: str = ""


def read_batch(payload) -> tuple[datetime, list[OfflineRecord]]:
    """The device's batch, checked for shape: `{"sent_at": ISO time, "records": [{"seq", "key", "card",
    "lines": [[product id, quantity], …], "total", "provisional_no", "client_at", "snapshot_taken_at",
    "snapshot_age"}, …]}`, in sequence order.

    :raise InvalidInput: naming the first malformed record.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise InvalidInput(_l("同步数据格式不对。"), field="records")
    sent_at = _moment(payload.get("sent_at"), "sent_at")
    if len(payload["records"]) > MAX_BATCH:
        raise InvalidInput(_l("一次最多同步 %(n)d 笔。") % {"n": MAX_BATCH}, field="records")
    records = [_record(raw, sent_at) for raw in payload["records"]]
    if [r.seq for r in records] != sorted({r.seq for r in records}):
        raise InvalidInput(_l("离线记录的序号必须从小到大、不重复。"), field="records")
    return sent_at, records


def _record(raw, sent_at: datetime) -> OfflineRecord:
    def whole(name: str, low: int, high: int) -> int:
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(_l("离线记录的“%(name)s”不对。") % {"name": name}, field=name)
        return value

    def text(name: str, most: int) -> str:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > most:
            raise InvalidInput(_l("离线记录的“%(name)s”不对。") % {"name": name}, field=name)
        return value.strip()

    if not isinstance(raw, dict):
        raise InvalidInput(_l("同步数据格式不对。"), field="records")
    lines = raw.get("lines")
    if not isinstance(lines, list) or not all(
        isinstance(line, list) and len(line) == 2 and all(type(v) is int for v in line) for line in lines
    ):
        raise InvalidInput(_l("离线记录的“%(name)s”不对。") % {"name": "lines"}, field="lines")
    client_at = _moment(raw.get("client_at"), "client_at")
    if not sent_at - MAX_OFFLINE_AGE <= client_at <= sent_at + MAX_CLOCK_SKEW:
        raise InvalidInput(_l("离线记录的“%(name)s”不对。") % {"name": "client_at"}, field="client_at")
    return OfflineRecord(
        seq=whole("seq", 1, 2**31 - 1),
        request_key=text("key", 80),
        card_number=text("card", 40).upper(),
        lines=[CartLine(pid, qty) for pid, qty in lines],
        total_points=whole("total", 1, 10**7),
        provisional_no=text("provisional_no", 40),
        client_at=client_at,
        snapshot_taken_at=_moment(raw.get("snapshot_taken_at"), "snapshot_taken_at"),
        snapshot_age_seconds=whole("snapshot_age", 0, int(MAX_OFFLINE_AGE.total_seconds())),
    )


def _moment(value, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(_l("离线记录的“%(name)s”不对。") % {"name": name}, field=name)
    return moment.astimezone(UTC)


def register_device(session: Session, *, actor, village_id: int, name: str) -> CounterDevice:
    name = name.strip()
    if not name or len(name) > 40:
        raise InvalidInput(_l("请填写设备名称（最多 40 个字）。"), field="name")
    device = CounterDevice(village_id=village_id, token=secrets.token_hex(16), name=name)
    device.registered_by_id = actor.id if actor is not None else None
    session.add(device)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.COUNTER_DEVICE_REGISTER,
        subject=device,
        village_id=village_id,
        data={"name": name},
    )
    return device


def set_offline(session: Session, *, actor, village_id: int, device_id: int, enabled: bool) -> CounterDevice:
    """Switch offline use on or off for one registered device (the administrator's choice)."""
    device = get_device(session, village_id=village_id, device_id=device_id)
    if device.offline_enabled != enabled:
        device.offline_enabled = enabled
        session.flush()
        audit.record(
            session,
            actor=actor,
            tag=AuditTag.COUNTER_DEVICE_UPDATE,
            subject=device,
            village_id=village_id,
            data={"offline_enabled": enabled},
        )
    return device


def get_device(session: Session, *, village_id: int, device_id: int) -> CounterDevice:
    device = session.scalar(
        select(CounterDevice).where(CounterDevice.id == device_id, CounterDevice.village_id == village_id)
    )
    if device is None:
        raise NotFound()
    return device


def device_by_token(session: Session, *, village_id: int, token: str | None) -> CounterDevice | None:
    if not token:
        return None
    return session.scalar(
        select(CounterDevice).where(CounterDevice.token == token, CounterDevice.village_id == village_id)
    )


def devices(session: Session, *, village_id: int) -> list[CounterDevice]:
    return list(
        session.scalars(
            select(CounterDevice).where(CounterDevice.village_id == village_id).order_by(CounterDevice.id)
        )
    )


def snapshot(session: Session, *, village_id: int) -> Snapshot:
    """Two queries, however many households and products the village has."""
    village = session.get(Village, village_id)
    labels = {
        label.account_id: label
        for label in points.household_labels(
            session,
            village_id=village_id,
            account_ids=session.scalars(
                select(Card.account_id).where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE)
            ).all(),
        ).values()
    }
    cards = [
        {"number": number, "household": str(labels[account_id]), "spendable": labels[account_id].balance}
        for number, account_id in session.execute(
            select(Card.number, Card.account_id)
            .join(PointsAccount, PointsAccount.id == Card.account_id)
            .where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE)
            .order_by(Card.number)
        )
        if account_id in labels and labels[account_id].active
    ]
    products = [
        {"id": p.id, "name": p.name, "unit": p.unit, "price": p.points_price, "stock": p.stock}
        for p in session.scalars(
            select(Product)
            .where(Product.village_id == village_id, Product.active.is_(True))
            .order_by(Product.name, Product.id)
        )
    ]
    return Snapshot(utcnow(), village.offline_cap_points, cards, products)


def clock_skew(sent_at: datetime, now: datetime | None = None) -> int:
    """The device's clock minus the server's, in whole seconds, from the moment the device stamped the
    batch (the request's transit time is negligible against the 5 minutes that are flagged)."""
    return round((sent_at - (now or utcnow())).total_seconds())


def apply(
    session: Session, *, actor, village_id: int, device_id: int, record: OfflineRecord, skew_seconds: int
) -> Outcome:
    """Book one offline redemption, or keep it pending for the supervisor; the same record again returns
    the first outcome.

    :raise OfflineNotAllowed: the device is not switched on for offline use.
    :raise IdempotencyConflict: the key or the device's number was used for something else.
    """
    points.lock_book(session, village_id)
    device = get_device(session, village_id=village_id, device_id=device_id)
    if not device.offline_enabled:
        raise OfflineNotAllowed()
    done = idempotency.replayed(session, OfflineRedemption, record.request_key, village_id=village_id)
    same_seq = session.scalar(
        select(OfflineRedemption).where(
            OfflineRedemption.village_id == village_id,
            OfflineRedemption.device_id == device.id,
            OfflineRedemption.seq == record.seq,
        )
    )
    if done is not None or same_seq is not None:
        if done is not same_seq or done.request_digest != record.digest:
            raise IdempotencyConflict()
        return _outcome(session, done)
    row = OfflineRedemption(
        village_id=village_id,
        device_id=device.id,
        seq=record.seq,
        request_key=record.request_key,
        request_digest=record.digest,
        card_number=record.card_number,
        lines=json.dumps([[line.product_id, line.quantity] for line in record.lines]),
        total_points=record.total_points,
        provisional_no=record.provisional_no,
        client_at=record.client_at,
        clock_skew_seconds=skew_seconds,
        snapshot_taken_at=record.snapshot_taken_at,
        snapshot_age_seconds=record.snapshot_age_seconds,
        recorded_by_id=actor.id if actor is not None else None,
    )
    try:
        problem = _beyond_cap(session, village_id, device, record)
        if problem is None:
            with session.begin_nested():
                receipt = redemptions.redeem(
                    session,
                    actor=actor,
                    village_id=village_id,
                    card_number=record.card_number,
                    lines=record.lines,
                    idempotency_key=record.request_key,
                    expected_total=record.total_points,
                )
            row.status, row.redemption_id = OfflineStatus.APPLIED, receipt.id
    except IdempotencyConflict:
        raise
    except DomainError as refusal:
        problem = refusal.message
    if problem is not None:
        row.status, row.problem = OfflineStatus.PENDING, problem[:200]
    device.last_seq = max(device.last_seq, record.seq)
    device.last_sync_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.OFFLINE_APPLY if row.status == OfflineStatus.APPLIED else AuditTag.OFFLINE_PENDING,
        subject=row,
        village_id=village_id,
        data={
            "device": device.name,
            "seq": record.seq,
            "provisional_no": record.provisional_no,
            "points": record.total_points,
            "client_at": record.client_at.isoformat(),
            "clock_skew_seconds": skew_seconds,
            **({"problem": row.problem} if row.problem else {}),
        },
    )
    return _outcome(session, row)


def _beyond_cap(
    session: Session, village_id: int, device: CounterDevice, record: OfflineRecord
) -> str | None:
    """The village's cap on what one household may spend offline from one snapshot (the device keeps to it
    too; this is the server's own check)."""
    cap = session.scalar(select(Village.offline_cap_points).where(Village.id == village_id))
    spent = session.scalar(
        select(func.coalesce(func.sum(OfflineRedemption.total_points), 0)).where(
            OfflineRedemption.village_id == village_id,
            OfflineRedemption.device_id == device.id,
            OfflineRedemption.card_number == record.card_number,
            OfflineRedemption.snapshot_taken_at == record.snapshot_taken_at,
        )
    )
    if spent + record.total_points > cap:
        return str(_l("超过离线兑换限额：每户每次离线最多 %(cap)d 分。") % {"cap": cap})
    return None


def _outcome(session: Session, row: OfflineRedemption) -> Outcome:
    receipt_no = ""
    if row.redemption_id is not None:
        receipt_no = session.scalar(
            select(Redemption.receipt_no).where(
                Redemption.id == row.redemption_id, Redemption.village_id == row.village_id
            )
        )
    return Outcome(row.id, row.seq, row.request_key, row.status, receipt_no, row.problem)


def settle(
    session: Session, *, actor, village_id: int, record_id: int, accept: bool, reason: str
) -> OfflineRedemption:
    """The supervisor's decision on a pending offline redemption: `accept` books it as it was made (the
    balance may go below zero; the card's state no longer matters, the goods were handed over), otherwise a
    recovery is recorded (the goods or their value came back; nothing is booked). Either carries a reason.

    :raise OfflineNotPending: it was booked or settled already.
    :raise OutOfStock: accepting needs stock the books do not show: correct the stock by a stocktake first.
    :raise AccountFrozen: accepting into a frozen account is refused.
    """
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput(_l("请填写处理理由（最多 200 个字）。"), field="reason")
    points.lock_book(session, village_id)
    row = get_record(session, village_id=village_id, record_id=record_id)
    if row.status != OfflineStatus.PENDING:
        raise OfflineNotPending()
    if accept:
        receipt = redemptions.redeem(
            session,
            actor=actor,
            village_id=village_id,
            card_number=row.card_number,
            lines=[CartLine(pid, qty) for pid, qty in json.loads(row.lines)],
            idempotency_key=row.request_key,
            settling=True,
        )
        row.redemption_id = receipt.id
    row.status = OfflineStatus.ACCEPTED if accept else OfflineStatus.RECOVERED
    row.decided_by_id = actor.id if actor is not None else None
    row.decided_at = utcnow()
    row.decision_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.OFFLINE_ACCEPT if accept else AuditTag.OFFLINE_RECOVER,
        subject=row,
        village_id=village_id,
        data={"provisional_no": row.provisional_no, "reason": reason},
    )
    return row


def get_record(session: Session, *, village_id: int, record_id: int) -> OfflineRedemption:
    row = session.scalar(
        select(OfflineRedemption).where(
            OfflineRedemption.id == record_id, OfflineRedemption.village_id == village_id
        )
    )
    if row is None:
        raise NotFound()
    return row


def pending(session: Session, *, village_id: int) -> list[OfflineRedemption]:
    """The supervisor's queue: offline redemptions that wait for a decision, oldest first."""
    return list(
        session.scalars(
            select(OfflineRedemption)
            .where(
                OfflineRedemption.village_id == village_id, OfflineRedemption.status == OfflineStatus.PENDING
            )
            .order_by(OfflineRedemption.id)
        )
    )


@dataclass(frozen=True)
class Gap:
    device: CounterDevice
    missing: list[int]


def gaps(session: Session, *, village_id: int) -> list[Gap]:
    """Each device's sequence numbers below its highest that never arrived."""
    found = []
    for device in devices(session, village_id=village_id):
        if not device.last_seq:
            continue
        seen = set(
            session.scalars(
                select(OfflineRedemption.seq).where(
                    OfflineRedemption.village_id == village_id, OfflineRedemption.device_id == device.id
                )
            )
        )
        missing = [seq for seq in range(1, device.last_seq + 1) if seq not in seen]
        if missing:
            found.append(Gap(device, missing))
    return found


def skewed(session: Session, *, village_id: int, since: datetime) -> list[OfflineRedemption]:
    """Offline redemptions received since `since` from a device whose clock was off by more than
    `MAX_CLOCK_SKEW`."""
    limit = int(MAX_CLOCK_SKEW.total_seconds())
    return list(
        session.scalars(
            select(OfflineRedemption)
            .where(
                OfflineRedemption.village_id == village_id,
                OfflineRedemption.received_at >= since,
                func.abs(OfflineRedemption.clock_skew_seconds) > limit,
            )
            .order_by(OfflineRedemption.id)
        )
    )


def _product(line: CartLine) -> int:
    return line.product_id
