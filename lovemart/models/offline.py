"""The offline counter: the counter devices a village registered, and each redemption a device made while it
could not reach the server, as the device sent it when the network came back."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class CounterDevice(VillageScoped, Base):
    """A phone or PC the administrator registered as a counter (登记柜台设备). Only a device switched on for
    offline use may send redemptions made offline. Each device numbers its offline redemptions 1, 2, 3…;
    `last_seq` is the highest it has sent, so the numbers below it that never arrived are a gap the
    supervisor is told of (a late arrival fills it)."""

    __tablename__ = "counter_devices"
    __table_args__ = (
        UniqueConstraint("token"),
        UniqueConstraint("id", "village_id"),  # target of the offline redemptions' composite key
        CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The device's name for itself in requests (a random 128-bit hex string, kept in a cookie).
    token: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    offline_enabled: Mapped[bool] = mapped_column(default=False)
    last_seq: Mapped[int] = mapped_column(default=0)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    registered_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_sync_at = mapped_column(UTCDateTime, nullable=True)


class OfflineStatus(StrEnum):
    #: Booked as an ordinary redemption when it arrived.
    APPLIED = "applied"
    #: No longer valid when it arrived (points spent elsewhere, stock gone, card lost…): the goods have left
    #: the shop, so it waits for the supervisor.
    PENDING = "pending"
    #: The supervisor booked it anyway (the balance may go below zero).
    ACCEPTED = "accepted"
    #: The supervisor recorded that the goods or their value were recovered; nothing was booked.
    RECOVERED = "recovered"

    @property
    def label(self):
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    OfflineStatus.APPLIED: _l("已入账"),
    OfflineStatus.PENDING: _l("待监督员处理"),
    OfflineStatus.ACCEPTED: _l("监督员准予入账"),
    OfflineStatus.RECOVERED: _l("已追回"),
}


class OfflineRedemption(VillageScoped, Base):
    """One redemption made offline, as it arrived. Time: `received_at` is the server's (the booked entry's
    time); the device's clock (`client_at`) and its error at sync time (`clock_skew_seconds`: the device's
    clock minus the server's) are kept beside it; `snapshot_age_seconds` is how old the device's copy of
    balances and stock was when the redemption was made."""

    __tablename__ = "offline_redemptions"
    __table_args__ = (
        UniqueConstraint("request_key"),
        UniqueConstraint("device_id", "seq"),
        ForeignKeyConstraint(
            ["device_id", "village_id"], ["counter_devices.id", "counter_devices.village_id"]
        ),
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("status IN ('applied', 'pending', 'accepted', 'recovered')", name="status_known"),
        CheckConstraint(
            "(status IN ('applied', 'accepted')) = (redemption_id IS NOT NULL)", name="booked_has_redemption"
        ),
        CheckConstraint(
            "(status IN ('accepted', 'recovered')) = (decided_at IS NOT NULL)", name="decided_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(index=True)
    seq: Mapped[int]
    request_key: Mapped[str] = mapped_column(String(80))
    #: SHA-256 of the card number and the lines, as for a redemption at the counter.
    request_digest: Mapped[str] = mapped_column(String(64))
    card_number: Mapped[str] = mapped_column(String(40))
    #: The lines as sent, JSON `[[product_id, quantity], …]`.
    lines: Mapped[str] = mapped_column(Text)
    total_points: Mapped[int]
    provisional_no: Mapped[str] = mapped_column(String(40))
    client_at = mapped_column(UTCDateTime, nullable=False)
    clock_skew_seconds: Mapped[int] = mapped_column(default=0)
    #: The server's stamp on the snapshot the device served from (the offline cap counts per snapshot).
    snapshot_taken_at = mapped_column(UTCDateTime, nullable=False)
    snapshot_age_seconds: Mapped[int] = mapped_column(default=0)
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    status: Mapped[str] = mapped_column(String(16))
    #: Why it could not be booked on arrival (the refusal's sentence), for a pending one.
    problem: Mapped[str] = mapped_column(String(200), default="")
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(200), default="")

    @property
    def status_label(self):
        return OfflineStatus(self.status).label

    device: Mapped[CounterDevice] = relationship(
        primaryjoin="and_(OfflineRedemption.device_id == CounterDevice.id, "
        "OfflineRedemption.village_id == CounterDevice.village_id)",
        foreign_keys="[OfflineRedemption.device_id, OfflineRedemption.village_id]",
        viewonly=True,
    )
