"""The village ledgers as Merkle trees (RFC 9162), the checkpoints notices publish, and the county's witness.

`TreeNode` keeps every perfect subtree of a village's tree (level 0: the leaf hash of entry seq - 1), written
in the same transaction as the entry, never changed; with them any inclusion or consistency proof, for any
past tree size, takes O(log n) reads (see services/merkle.py and services/ledger_tree.py). The right edge
(the compact range) lives on the village's `LedgerBook`, so an append reads nothing more.
"""

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class TreeNode(Base):
    """Node (level, idx) of a village's tree: the hash of leaves [idx * 2**level, (idx + 1) * 2**level)."""

    __tablename__ = "tree_nodes"
    __table_args__ = (CheckConstraint("level BETWEEN 0 AND 62", name="level_in_range"),)

    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(VillageScoped, Base):
    """What a published notice commits to: the village's tree at that moment, as a C2SP tlog-checkpoint
    note body (origin, size, base64 root). Never changed."""

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), unique=True)
    origin: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class WitnessVerdict:
    CONSISTENT = "consistent"
    FORK = "fork"


class WitnessObservation(VillageScoped, Base):
    """One checkpoint the county office's witness was shown, and whether it extends the last one it had
    accepted for the village ('consistent') or contradicts it ('fork': the past was rewritten).
    Never changed."""

    __tablename__ = "witness_observations"
    __table_args__ = (
        CheckConstraint("verdict IN ('consistent', 'fork')", name="verdict_known"),
        Index("ix_witness_observations_village_verdict", "village_id", "verdict", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"))
    size: Mapped[int]
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The size and root of the checkpoint it was checked against (none for a village's first).
    previous_size: Mapped[int | None]
    previous_root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    verdict: Mapped[str] = mapped_column(String(16))
    #: An accepted notice checkpoint's signed note with the witness's own signature line added.
    cosigned: Mapped[str | None] = mapped_column(Text)
    seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
