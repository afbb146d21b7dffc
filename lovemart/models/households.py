"""Household (户), its members, and poverty status."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.geography import VillagerGroup
from lovemart.models.scoped import VillageScoped


class HouseholdStatus(StrEnum):
    POOR = "poor"
    LIFTED = "lifted"
    GENERAL = "general"

    @property
    def label(self):
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    HouseholdStatus.POOR: _l("贫困户"),
    HouseholdStatus.LIFTED: _l("脱贫户"),
    HouseholdStatus.GENERAL: _l("一般户"),
}


class Relation(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    CHILD_IN_LAW = "child_in_law"
    GRANDCHILD = "grandchild"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"

    @property
    def label(self):
        return _RELATION_LABELS[self]


_RELATION_LABELS = {
    Relation.HEAD: _l("户主"),
    Relation.SPOUSE: _l("配偶"),
    Relation.CHILD: _l("子女"),
    Relation.CHILD_IN_LAW: _l("儿媳/女婿"),
    Relation.GRANDCHILD: _l("孙子女"),
    Relation.PARENT: _l("父母"),
    Relation.SIBLING: _l("兄弟姐妹"),
    Relation.OTHER: _l("其他"),
}


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def label(self):
        return _l("男") if self is Gender.MALE else _l("女")


def _one_of(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in enum)})"


class Household(VillageScoped, Base):
    __tablename__ = "households"
    __table_args__ = (
        UniqueConstraint("village_id", "number"),
        UniqueConstraint("id", "village_id"),  # target of members' composite key
        ForeignKeyConstraint(
            ["group_id", "village_id"], ["villager_groups.id", "villager_groups.village_id"]
        ),
        CheckConstraint(_one_of("status", HouseholdStatus), name="status_known"),
        CheckConstraint("number <> ''", name="number_not_empty"),
        CheckConstraint("active OR moved_out_at IS NOT NULL", name="moved_out_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(16), default=HouseholdStatus.GENERAL.value)
    active: Mapped[bool] = mapped_column(default=True)
    moved_out_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    group: Mapped[VillagerGroup] = relationship(
        primaryjoin="and_(Household.group_id == VillagerGroup.id, "
        "Household.village_id == VillagerGroup.village_id)",
        foreign_keys="[Household.group_id, Household.village_id]",
        viewonly=True,
    )
    members: Mapped[list["Member"]] = relationship(
        back_populates="household",
        order_by="Member.position",
        primaryjoin="and_(Household.id == Member.household_id, Household.village_id == Member.village_id)",
        foreign_keys="[Member.household_id, Member.village_id]",
        viewonly=True,
    )

    @property
    def status_label(self):
        return HouseholdStatus(self.status).label

    @property
    def head(self) -> "Member | None":
        return next((m for m in self.members if m.relation == Relation.HEAD), None)

    @property
    def party_household(self) -> bool:
        """党员户: at least one member is a party member."""
        return any(m.party_member for m in self.members)


class Member(VillageScoped, Base):
    __tablename__ = "members"
    __table_args__ = (
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        CheckConstraint(_one_of("relation", Relation), name="relation_known"),
        CheckConstraint(_one_of("gender", Gender), name="gender_known"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        Index(
            "uq_members_one_head",
            "household_id",
            unique=True,
            sqlite_where=text("relation = 'head'"),
            postgresql_where=text("relation = 'head'"),
        ),
        Index("ix_members_village_name", "village_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(32))
    relation: Mapped[str] = mapped_column(String(16))
    gender: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
    #: 党员: a village that scores party members separately ranks its 党员户 (a household with one) apart.
    party_member: Mapped[bool] = mapped_column(default=False, server_default=false())

    household: Mapped[Household] = relationship(
        back_populates="members",
        primaryjoin="and_(Household.id == Member.household_id, Household.village_id == Member.village_id)",
        foreign_keys="[Member.household_id, Member.village_id]",
        viewonly=True,
    )

    @property
    def relation_label(self):
        return Relation(self.relation).label

    @property
    def gender_label(self):
        return Gender(self.gender).label
