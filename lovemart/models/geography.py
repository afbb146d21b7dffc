"""County, township, village (with its settings) and villager group (村民小组)."""

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class County(Base):
    __tablename__ = "counties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    townships: Mapped[list["Township"]] = relationship(back_populates="county", order_by="Township.name")


class Township(Base):
    __tablename__ = "townships"
    __table_args__ = (UniqueConstraint("county_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))

    county: Mapped[County] = relationship(back_populates="townships")
    villages: Mapped[list["Village"]] = relationship(back_populates="township", order_by="Village.name")


class Village(Base):
    __tablename__ = "villages"
    __table_args__ = (
        CheckConstraint("base_points >= 0", name="base_points_not_negative"),
        CheckConstraint("yuan_per_point > 0", name="yuan_per_point_positive"),
        CheckConstraint("code <> ''", name="code_not_empty"),
        CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days_in_range"),
        CheckConstraint("quiet_days BETWEEN 14 AND 365", name="quiet_days_in_range"),
        CheckConstraint("offline_cap_points >= 0", name="offline_cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("townships.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    base_points: Mapped[int] = mapped_column(default=100)
    yuan_per_point: Mapped[int] = mapped_column(default=3)
    card_prefix: Mapped[str] = mapped_column(String(16))
    #: 公示后入账: awards count only once the notice listing them has passed its period unopposed.
    credit_after_notice: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The objection period of a published notice, in days.
    notice_days: Mapped[int] = mapped_column(default=7, server_default="7")
    #: A household whose last ledger entry is older than this many days is named as quiet (冷清提醒).
    quiet_days: Mapped[int] = mapped_column(default=60, server_default="60")
    #: The most one household may spend at an offline counter from one snapshot of balances (0: none).
    offline_cap_points: Mapped[int] = mapped_column(default=100, server_default="100")
    #: 网格员直接记分: a grid worker's awards and deductions count at once (as the administrator's would),
    #: instead of waiting for the supervisor's approval.
    grid_awards_direct: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    township: Mapped[Township] = relationship(back_populates="villages")
    groups: Mapped[list["VillagerGroup"]] = relationship(
        back_populates="village", order_by="VillagerGroup.position"
    )

    @property
    def county(self) -> County:
        return self.township.county


class VillagerGroup(VillageScoped, Base):
    __tablename__ = "villager_groups"
    __table_args__ = (
        UniqueConstraint("village_id", "name"),
        UniqueConstraint("id", "village_id"),  # target of households' composite key
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)

    village: Mapped[Village] = relationship(back_populates="groups")
