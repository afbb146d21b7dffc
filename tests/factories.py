"""Builders for test data, each writing through the services in its own unit of work."""

from itertools import count

from lovemart.authz import Role
from lovemart.db import unit_of_work
from lovemart.models.households import Gender, HouseholdStatus, Relation
from lovemart.services import households, users, villages
from lovemart.services.households import HouseholdInput, MemberInput
from lovemart.services.villages import VillageSettings
from tests.conftest import PASSWORD

_numbers = count(1)


def make_village(
    code: str, *, groups=("一组", "二组"), county="yichuan", township="英旺乡", **settings
) -> int:
    with unit_of_work() as session:
        return villages.create_village(
            session,
            actor=None,
            county_code=county,
            county_name="宜川县" if county == "yichuan" else f"{county}县",
            township_name=township,
            code=code,
            name=f"{code}村",
            groups=list(groups),
            settings=VillageSettings(**settings) if settings else None,
        ).id


def make_user(username: str, role: Role, village_code: str | None = None) -> int:
    with unit_of_work() as session:
        village = villages.by_code(session, village_code) if village_code else None
        return users.create_user(
            session, actor=None, username=username, password=PASSWORD, role=role, village=village
        ).id


def make_grid_user(
    username: str, village_code: str, groups: tuple[str, ...], household_number: str = ""
) -> int:
    """A grid worker (网格员) of the village, linked to the named villager groups."""
    with unit_of_work() as session:
        return users.create_user(
            session,
            actor=None,
            username=username,
            password=PASSWORD,
            role=Role.GRID,
            display_name=f"{username}（网格员）",
            village=villages.by_code(session, village_code),
            household_number=household_number,
            group_names=groups,
        ).id


def make_household(
    village_id: int,
    *,
    head: str = "王建华",
    number: str | None = None,
    group: str | None = None,
    status: HouseholdStatus = HouseholdStatus.GENERAL,
    others: tuple[str, ...] = (),
) -> int:
    with unit_of_work() as session:
        group_row = next(g for g in villages.groups(session, village_id) if group is None or g.name == group)
        members = [MemberInput(head, Relation.HEAD.value, Gender.MALE.value, 1970)] + [
            MemberInput(name, Relation.CHILD.value, Gender.FEMALE.value, 1995) for name in others
        ]
        return households.create(
            session,
            actor=None,
            village_id=village_id,
            data=HouseholdInput(
                number=number or f"H{next(_numbers):04d}", group_id=group_row.id, status=status.value
            ),
            members=members,
        ).id


def make_two_villages() -> dict:
    """Villages `a` and `b` of one county, each with one household and a user per village role,
    plus a county user and a system admin. Returns their ids by name."""
    ids = {"a": make_village("a"), "b": make_village("b")}
    ids["a_household"] = make_household(ids["a"], head="张三", others=("张小红",))
    ids["b_household"] = make_household(ids["b"], head="李四")
    for village in ("a", "b"):
        for role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER):
            make_user(f"{village}-{role.value}", role, village)
    make_user("county", Role.COUNTY, "a")
    make_user("sysadmin", Role.SYSADMIN)
    return ids
