"""The offline counter's server side: devices, the batch a device sends when the network returns (replays,
duplicates, gaps, conflicts, wrong clocks), and the supervisor's decision on replays no longer valid."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lovemart.db import unit_of_work, utcnow
from lovemart.models import AuditEvent, OfflineRedemption, PointsAccount, Product, Redemption
from lovemart.services import cards, inventory, offline, points, redemptions
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    IdempotencyConflict,
    InvalidInput,
    OfflineNotAllowed,
    OfflineNotPending,
    OutOfStock,
)
from lovemart.services.offline import OfflineRecord
from lovemart.services.redemptions import CartLine
from tests.points_helpers import carded_household, points_village
from tests.shop_helpers import make_product


@pytest.fixture
def counter(session):
    """Village a with a household of 100 points, rice at 30 (stock 5) and a device switched on."""
    village_id = points_village(offline_cap_points=100)
    household_id, _ = carded_household(village_id)
    rice = make_product(village_id, "大米", 30, stock=5)
    with unit_of_work() as s:
        device = offline.register_device(s, actor=None, village_id=village_id, name="柜台手机")
        offline.set_offline(s, actor=None, village_id=village_id, device_id=device.id, enabled=True)
        device_id = device.id
    number = cards.active_card(session, village_id=village_id, household_id=household_id).number
    session.rollback()
    return village_id, household_id, number, rice, device_id


TAKEN = utcnow() - timedelta(hours=2)


def record(seq, number, product, quantity=1, total=30, key=None, taken=TAKEN):
    return OfflineRecord(
        seq=seq,
        request_key=key or f"offline-{uuid.uuid4().hex}",
        card_number=number,
        lines=[CartLine(product, quantity)],
        total_points=total,
        provisional_no=f"离线-{seq}",
        client_at=taken + timedelta(minutes=seq),
        snapshot_taken_at=taken,
        snapshot_age_seconds=60 * seq,
    )


def apply(village_id, device_id, rec, skew=0):
    with unit_of_work() as session:
        return offline.apply(
            session, actor=None, village_id=village_id, device_id=device_id, record=rec, skew_seconds=skew
        )


def balance_and_stock(session, household_id, product_id):
    session.rollback()
    balance = session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))
    return balance, session.get(Product, product_id).stock


def test_a_valid_record_is_booked_once_with_the_servers_time(session, counter):
    village_id, household_id, number, rice, device_id = counter
    rec = record(1, number, rice)
    outcome = apply(village_id, device_id, rec)
    assert (outcome.status, outcome.receipt_no, outcome.problem) == ("applied", "A-000001", "")
    again = apply(village_id, device_id, rec)  # the reply was lost: the device sends it again
    assert again == outcome
    assert balance_and_stock(session, household_id, rice) == (70, 4)
    assert session.scalar(select(func.count()).select_from(Redemption)) == 1
    row = session.get(OfflineRedemption, outcome.id)
    assert row.client_at == rec.client_at and row.received_at > rec.client_at
    booked = session.get(Redemption, row.redemption_id)
    assert booked.created_at >= row.received_at - timedelta(seconds=5)  # the entry's time is the server's
    tags = session.scalars(select(AuditEvent.tag).order_by(AuditEvent.id)).all()
    assert tags.count(AuditTag.OFFLINE_APPLY) == 1 and tags.count(AuditTag.REDEMPTION_CREATE) == 1
    assert points.verify(session) == [] and inventory.verify(session) == []


@pytest.mark.parametrize("change", ["other_body", "other_key_same_seq"])
def test_the_same_key_or_number_for_another_sale_is_refused(session, counter, change):
    village_id, household_id, number, rice, device_id = counter
    first = record(1, number, rice, key="k-1")
    apply(village_id, device_id, first)
    if change == "other_body":
        second = record(2, number, rice, quantity=2, total=60, key="k-1")
    else:
        second = record(1, number, rice, key="k-2")
    with pytest.raises(IdempotencyConflict):
        apply(village_id, device_id, second)
    assert balance_and_stock(session, household_id, rice) == (70, 4)


def test_a_device_not_switched_on_may_not_sync(session, counter):
    village_id, household_id, number, rice, device_id = counter
    with unit_of_work() as s:
        offline.set_offline(s, actor=None, village_id=village_id, device_id=device_id, enabled=False)
    with pytest.raises(OfflineNotAllowed):
        apply(village_id, device_id, record(1, number, rice))
    assert session.scalar(select(func.count()).select_from(OfflineRedemption)) == 0


@pytest.mark.parametrize(
    "spoil, problem",
    [
        ("spent_online", "积分不足"),
        ("card_lost", "挂失"),
        ("stock_gone", "库存不足"),
        ("price_changed", "价格已变化"),
    ],
)
def test_a_replay_no_longer_valid_waits_for_the_supervisor(session, counter, spoil, problem):
    village_id, household_id, number, rice, device_id = counter
    rec = record(1, number, rice, quantity=3, total=90)
    if spoil == "spent_online":
        soap = make_product(village_id, "肥皂", 20, stock=5)
        with unit_of_work() as s:
            redemptions.redeem(
                s, actor=None, village_id=village_id, card_number=number, lines=[CartLine(soap, 1)],
                idempotency_key="online",
            )  # fmt: skip
    elif spoil == "card_lost":
        with unit_of_work() as s:
            card = cards.active_card(s, village_id=village_id, household_id=household_id)
            cards.reissue(s, actor=None, village_id=village_id, card_id=card.id)
    elif spoil == "stock_gone":
        salt = make_product(village_id, "盐", 1, stock=2)
        rec = record(1, number, salt, quantity=3, total=3)
    else:
        rec = record(1, number, rice, quantity=2, total=40)  # the snapshot said 20 a bag
    before = balance_and_stock(session, household_id, rice)
    outcome = apply(village_id, device_id, rec)
    assert outcome.status == "pending" and problem in outcome.problem, outcome
    assert balance_and_stock(session, household_id, rice) == before  # nothing booked, nothing lost
    queue = offline.pending(session, village_id=village_id)
    assert [r.id for r in queue] == [outcome.id] and queue[0].problem == outcome.problem
    assert session.scalar(select(func.count()).where(AuditEvent.tag == AuditTag.OFFLINE_PENDING)) == 1
    assert apply(village_id, device_id, rec) == outcome  # a resend changes nothing


def test_the_offline_cap_counts_per_household_and_snapshot(session, counter):
    village_id, household_id, number, rice, device_id = counter
    with unit_of_work() as s:
        s.get(offline.Village, village_id).offline_cap_points = 50
    assert apply(village_id, device_id, record(1, number, rice)).status == "applied"
    over = apply(village_id, device_id, record(2, number, rice))
    assert over.status == "pending" and "离线兑换限额" in over.problem
    fresh = apply(village_id, device_id, record(3, number, rice, taken=utcnow() - timedelta(minutes=5)))
    assert fresh.status == "applied"  # a new snapshot starts a new allowance
    assert balance_and_stock(session, household_id, rice) == (40, 3)


def test_the_supervisor_accepts_into_a_negative_balance_or_records_a_recovery(session, counter):
    village_id, household_id, number, rice, device_id = counter
    soap = make_product(village_id, "肥皂", 20, stock=5)
    with unit_of_work() as s:
        redemptions.redeem(
            s, actor=None, village_id=village_id, card_number=number, lines=[CartLine(soap, 4)],
            idempotency_key="online",
        )  # fmt: skip
    first = apply(village_id, device_id, record(1, number, rice))  # 20 left, 30 wanted
    second = apply(village_id, device_id, record(2, number, rice))
    assert first.status == second.status == "pending"
    with unit_of_work() as s:
        accepted = offline.settle(
            s, actor=None, village_id=village_id, record_id=first.id, accept=True, reason="东西已拿走"
        )
        assert accepted.status == "accepted" and accepted.redemption_id is not None
    with unit_of_work() as s:
        offline.settle(
            s, actor=None, village_id=village_id, record_id=second.id, accept=False, reason="已退回"
        )
    assert balance_and_stock(session, household_id, rice) == (-10, 4)
    assert offline.pending(session, village_id=village_id) == []
    for record_id in (first.id, second.id):
        with pytest.raises(OfflineNotPending), unit_of_work() as s:
            offline.settle(
                s, actor=None, village_id=village_id, record_id=record_id, accept=True, reason="再来"
            )
    tags = session.scalars(select(AuditEvent.tag)).all()
    assert tags.count(AuditTag.OFFLINE_ACCEPT) == 1 and tags.count(AuditTag.OFFLINE_RECOVER) == 1
    assert points.verify(session) == [] and inventory.verify(session) == []


def test_accepting_needs_the_stock_in_the_books(session, counter):
    village_id, household_id, number, rice, device_id = counter
    pending = apply(village_id, device_id, record(1, number, rice, quantity=6, total=180))
    with pytest.raises(OutOfStock), unit_of_work() as s:
        offline.settle(
            s, actor=None, village_id=village_id, record_id=pending.id, accept=True, reason="已拿走"
        )
    assert [r.id for r in offline.pending(session, village_id=village_id)] == [pending.id]
    with pytest.raises(InvalidInput), unit_of_work() as s:
        offline.settle(s, actor=None, village_id=village_id, record_id=pending.id, accept=False, reason=" ")


def test_a_gap_in_a_devices_numbers_is_reported_until_it_arrives(session, counter):
    village_id, household_id, number, rice, device_id = counter
    apply(village_id, device_id, record(1, number, rice, quantity=1, total=30))
    apply(village_id, device_id, record(4, number, rice, quantity=1, total=30))
    gaps = offline.gaps(session, village_id=village_id)
    assert [(g.device.id, g.missing) for g in gaps] == [(device_id, [2, 3])]
    session.rollback()
    apply(village_id, device_id, record(2, number, rice, quantity=1, total=30))
    apply(village_id, device_id, record(3, number, rice, quantity=1, total=30))
    assert offline.gaps(session, village_id=village_id) == []


def test_a_wrong_clock_is_measured_at_sync_time_and_flagged(session, counter):
    village_id, household_id, number, rice, device_id = counter
    now = utcnow()
    assert offline.clock_skew(now + timedelta(minutes=7), now) == 420
    apply(
        village_id,
        device_id,
        record(1, number, rice),
        skew=offline.clock_skew(now - timedelta(minutes=2), now),
    )
    late = apply(
        village_id, device_id, record(2, number, rice), skew=offline.clock_skew(now + timedelta(hours=3), now)
    )
    flagged = offline.skewed(session, village_id=village_id, since=now - timedelta(hours=1))
    assert [r.id for r in flagged] == [late.id] and flagged[0].clock_skew_seconds == 3 * 3600


def _batch(**overrides):
    raw = {
        "seq": 1, "key": "k", "card": "a-0001", "lines": [[1, 2]], "total": 10, "provisional_no": "离线-1",
        "client_at": "2026-12-04T08:00:00+00:00", "snapshot_taken_at": "2026-12-04T07:00:00.123456+00:00",
        "snapshot_age": 3600,
    } | overrides  # fmt: skip
    return {"sent_at": "2026-12-04T09:00:00Z", "records": [raw]}


def test_a_batch_is_read_with_its_moments_in_utc():
    sent_at, (rec,) = offline.read_batch(_batch())
    assert sent_at.isoformat() == "2026-12-04T09:00:00+00:00"
    assert (rec.card_number, rec.lines, rec.snapshot_taken_at.microsecond) == (
        "A-0001",
        [CartLine(1, 2)],
        123456,
    )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"seq": 0}, "seq"),
        ({"seq": "1"}, "seq"),
        ({"total": True}, "total"),
        ({"key": ""}, "key"),
        ({"lines": [[1, 2.5]]}, "lines"),
        ({"lines": "1x2"}, "lines"),
        ({"client_at": "2026-12-04T08:00:00"}, "client_at"),  # no zone: which clock?
        ({"client_at": "2026-10-01T08:00:00Z"}, "client_at"),  # older than any snapshot may be
        ({"snapshot_age": -1}, "snapshot_age"),
    ],
)
def test_a_malformed_record_is_refused_by_name(overrides, field):
    with pytest.raises(InvalidInput) as refused:
        offline.read_batch(_batch(**overrides))
    assert refused.value.field == field


def test_a_batch_must_come_in_order():
    batch = _batch()
    batch["records"] = [batch["records"][0] | {"seq": 2}, batch["records"][0]]
    with pytest.raises(InvalidInput):
        offline.read_batch(batch)
    with pytest.raises(InvalidInput):
        offline.read_batch({"records": "all"})


def test_the_snapshot_holds_active_cards_and_products_of_the_village(session, counter):
    village_id, household_id, number, rice, device_id = counter
    other = points_village("b")
    carded_household(other)
    make_product(other, "乙米", 10, stock=3)
    snap = offline.snapshot(session, village_id=village_id)
    assert [(c["number"], c["spendable"]) for c in snap.cards] == [(number, 100)]
    assert [(p["id"], p["price"], p["stock"]) for p in snap.products] == [(rice, 30, 5)]
    assert snap.cap_points == 100
