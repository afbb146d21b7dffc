"""Staff accounts (role and village) and their API tokens; no business methods."""

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lovemart.authz import VILLAGE_ROLES, Role
from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.geography import County, Township, Village, VillagerGroup

_village_roles = ", ".join(sorted(f"'{r.value}'" for r in VILLAGE_ROLES))


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in Role)})", name="role_known"),
        CheckConstraint(
            f"(role IN ({_village_roles}) AND village_id IS NOT NULL AND county_id IS NULL)"
            f" OR (role = '{Role.COUNTY.value}' AND county_id IS NOT NULL AND village_id IS NULL)"
            f" OR (role = '{Role.SYSADMIN.value}' AND village_id IS NULL AND county_id IS NULL)"
            f" OR (role = '{Role.TOWNSHIP.value}' AND township_id IS NOT NULL AND village_id IS NULL"
            " AND county_id IS NULL)",
            name="role_binding",
        ),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        UniqueConstraint("id", "village_id"),  # target of user_groups' composite key
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("counties.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("townships.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: The household the person belongs to, if any: points they record for it are flagged to the supervisor.
    household_id: Mapped[int | None]
    #: Bumped on password change or deactivation: sessions carrying an older value are signed out.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    village: Mapped[Village | None] = relationship()
    county: Mapped[County | None] = relationship()
    township: Mapped[Township | None] = relationship()
    #: A grid worker's villager groups (网格员负责的村民小组), in the village's group order.
    groups: Mapped[list[VillagerGroup]] = relationship(
        secondary="user_groups", order_by=VillagerGroup.position, viewonly=True
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class UserGroup(Base):
    """A grid worker's villager group: both of one village, by composite keys, so no link crosses villages."""

    __tablename__ = "user_groups"
    __table_args__ = (
        ForeignKeyConstraint(["user_id", "village_id"], ["users.id", "users.village_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["group_id", "village_id"], ["villager_groups.id", "villager_groups.village_id"]
        ),
    )

    user_id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    revoked_at = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class StaffSession(Base):
    """A signed-in browser. The cookie carries a random id whose digest is stored here, so signing out (or
    deactivating the user) ends the session on the server, not only in that browser."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ended_at = mapped_column(UTCDateTime, nullable=True)


class LoginFailure(Base):
    """One failed sign-in, keyed by username and by address: counted over a window by every worker alike."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_created", "key", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
