"""Files every app server must read: photos (inspection records, evidence, applications, wishes) and
roster uploads kept between an import's preview and its confirmation. One row per file, its bytes inline.

Used when `FILE_STORAGE` is "database" (lovemart.services.filestore); the "directory" store keeps the same
files under the instance folder instead."""

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class StoredFile(VillageScoped, Base):
    __tablename__ = "stored_files"
    __table_args__ = (
        UniqueConstraint("kind", "village_id", "name"),
        CheckConstraint("kind IN ('photo', 'roster')", name="kind_known"),
        CheckConstraint("size = length(content)", name="size_is_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "photo" or "roster" (lovemart.services.filestore.KINDS)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
