"""PointsAccount (stored balance), LedgerEntry (append-only, hash-chained per village), the per-village
LedgerBook (chain head and counters), and PointsClaim (entries awaiting a decision)."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped

GENESIS_HASH = "0" * 64


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class EntryKind(StrEnum):
    BASE = "base"
    AWARD = "award"
    DEDUCTION = "deduction"
    REDEMPTION = "redemption"
    REVERSAL = "reversal"

    @property
    def label(self):
        return _KIND_LABELS[self]


_KIND_LABELS = {
    EntryKind.BASE: _l("基础积分"),
    EntryKind.AWARD: _l("加分"),
    EntryKind.DEDUCTION: _l("扣分"),
    EntryKind.REDEMPTION: _l("兑换"),
    EntryKind.REVERSAL: _l("冲正"),
}


class LedgerBook(Base):
    """One row per village: the chain head, the Merkle tree's right edge and the counters every append
    advances in its transaction."""

    __tablename__ = "ledger_books"

    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    entry_count: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    #: The compact range of the village's Merkle tree (services/merkle.py `append`): 32 bytes per set bit
    #: of `entry_count`, largest subtree first.
    tree_edge: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    card_count: Mapped[int] = mapped_column(default=0)
    receipt_count: Mapped[int] = mapped_column(default=0)
    donation_count: Mapped[int] = mapped_column(default=0)


class PointsAccount(VillageScoped, Base):
    __tablename__ = "points_accounts"
    __table_args__ = (
        UniqueConstraint("household_id"),
        UniqueConstraint("id", "village_id"),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        CheckConstraint("status IN ('active', 'frozen')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int]
    balance: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    opened_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    frozen_at = mapped_column(UTCDateTime, nullable=True)


class LedgerEntry(VillageScoped, Base):
    """Never updated or deleted. A wrong entry is answered by a REVERSAL entry that names it.

    `hash` covers `prev_hash` and the entry's canonical content (see services/points.py), so rewriting any
    entry breaks every later hash up to the village's published chain head.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("village_id", "seq"),
        UniqueConstraint("reversal_of_id"),
        UniqueConstraint("request_key"),
        ForeignKeyConstraint(
            ["account_id", "village_id"], ["points_accounts.id", "points_accounts.village_id"]
        ),
        CheckConstraint("points <> 0", name="points_not_zero"),
        CheckConstraint(
            "kind IN ('base', 'award', 'deduction', 'redemption', 'reversal')", name="kind_known"
        ),
        CheckConstraint("(kind = 'redemption') = (redemption_id IS NOT NULL)", name="redemption_names_sale"),
        CheckConstraint("(kind = 'reversal') = (reversal_of_id IS NOT NULL)", name="reversal_names_entry"),
        Index("ix_ledger_entries_account_seq", "account_id", "seq"),
        Index("ix_ledger_entries_village_created", "village_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    account_id: Mapped[int]
    points: Mapped[int]
    balance_after: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    rule_name: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    evidence: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    request_key: Mapped[str | None] = mapped_column(String(80))
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def kind_label(self):
        return EntryKind(self.kind).label


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"  # a villager's application (积分申报), waiting for the administrator
    PENDING = "pending"  # waiting for the supervisor's approval
    PUBLICIZING = "publicizing"  # 公示中: credited once a notice listing it passes its period (公示后入账)
    APPROVED = "approved"
    REJECTED = "rejected"  # by the supervisor
    DECLINED = "declined"  # an application the administrator turned down

    @property
    def label(self):
        return _CLAIM_LABELS[self]


_CLAIM_LABELS = {
    ClaimStatus.SUBMITTED: _l("待受理"),
    ClaimStatus.PENDING: _l("待审核"),
    ClaimStatus.PUBLICIZING: _l("公示中"),
    ClaimStatus.APPROVED: _l("已入账"),
    ClaimStatus.REJECTED: _l("审核未通过"),
    ClaimStatus.DECLINED: _l("未受理"),
}


class PointsClaim(VillageScoped, Base):
    """Points not yet in the ledger: a villager's application, or an entry under a rule needing approval."""

    __tablename__ = "points_claims"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "village_id"], ["points_accounts.id", "points_accounts.village_id"]
        ),
        CheckConstraint(
            "status IN ('submitted', 'pending', 'publicizing', 'approved', 'rejected', 'declined')",
            name="status_known",
        ),
        CheckConstraint("(status = 'approved') = (entry_id IS NOT NULL)", name="approved_has_entry"),
        UniqueConstraint("request_key"),
        Index("ix_points_claims_village_status", "village_id", "status"),
        Index("ix_points_claims_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int]
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    points: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    evidence: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    from_villager: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    #: The published notice that lists this held claim (公示后入账).
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    request_key: Mapped[str | None] = mapped_column(String(80))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def status_label(self):
        return ClaimStatus(self.status).label
