"""The demo county (宜川县): 啊道村 as the Yichuan report describes it (3 groups, 154 households, 668 people,
31 poor households with 96 people) and four more villages in two townships, each carrying the twelve months
before today, and one account per role.

Everything is recorded through the services the pages and the API use, each event at its own moment (the
services' `at`), in the order of those moments; the random choices come from generators seeded by village,
so every installation loaded on the same day gets the same demo. Loading is idempotent: a village that
exists already is left alone, and so is an existing account.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.authz import Role
from lovemart.db import utcnow
from lovemart.models import Card, HouseholdStatus, Member, User, Village
from lovemart.models import Household as HouseholdRow
from lovemart.models.cards import CardStatus
from lovemart.models.households import Relation
from lovemart.services import households, users, villages
from lovemart.services.households import HouseholdInput
from lovemart.services.totals import VILLAGE_TIMEZONE

from .people import family, family_sizes, party_members
from .year import Household, Scenario, Staff, Year, local, month_starts

DEMO_PASSWORD = "demo1234"
#: The months of history before today's month.
MONTHS = 12


@dataclass(frozen=True)
class VillagePlan:
    code: str
    name: str
    township: str
    groups: tuple[tuple[str, int], ...]  # (group name, households)
    people: int
    poor_households: int
    poor_people: int
    lifted_households: int = 0
    scenario: Scenario = field(default_factory=Scenario)


ADAO = VillagePlan(
    code="adao",
    name="啊道村",
    township="英旺乡",
    groups=(("啊道", 60), ("富庄", 52), ("杜河沟", 42)),
    people=668,
    poor_households=31,
    poor_people=96,
    scenario=Scenario(awards=0.8, redemptions=0.36, full=True),
)
XIALIYUAN = VillagePlan(
    code="xialiyuan",
    name="下里垣村",
    township="英旺乡",
    groups=(("下里垣", 14), ("上里垣", 10)),
    people=97,
    poor_households=3,
    poor_people=9,
    lifted_households=5,
    scenario=Scenario(awards=0.6, redemptions=0.3),
)
OTHERS = (
    VillagePlan(
        code="chuankou",
        name="川口村",
        township="英旺乡",
        groups=(("川口", 18), ("后沟", 12)),
        people=118,
        poor_households=6,
        poor_people=17,
        lifted_households=4,
        scenario=Scenario(awards=0.5, redemptions=0.25),
    ),
    VillagePlan(
        code="chenjiashan",
        name="陈家山村",
        township="交里乡",
        groups=(("陈家山", 20), ("西庄", 16)),
        people=141,
        poor_households=8,
        poor_people=25,
        lifted_households=6,
        scenario=Scenario(awards=0.7, redemptions=0.3, held_from=4),
    ),
    VillagePlan(
        code="jiaoli",
        name="交里村",
        township="交里乡",
        groups=(("交里", 22), ("南塬", 14)),
        people=139,
        poor_households=5,
        poor_people=14,
        lifted_households=7,
        scenario=Scenario(awards=0.4, redemptions=0.2),
    ),
)
PLANS = (ADAO, XIALIYUAN, *OTHERS)
COUNTY = ("yichuan", "宜川县")

#: (username, display name, role, village code or None, household number the user lives in)
ACCOUNTS = (
    ("admin", "张建华（管理员）", Role.ADMIN, "adao", "02005"),
    ("supervisor", "李文博（第一书记）", Role.SUPERVISOR, "adao", ""),
    ("leader", "贺振兴（支部书记）", Role.LEADER, "adao", ""),
    ("xly-admin", "高永平（下里垣管理员）", Role.ADMIN, "xialiyuan", ""),
    ("cjs-supervisor", "陈小林（陈家山第一书记）", Role.SUPERVISOR, "chenjiashan", ""),
    ("county", "王丽（县扶贫办）", Role.COUNTY, "adao", ""),
    ("yingwang", "刘振国（英旺乡政府）", Role.TOWNSHIP, "adao", ""),
    ("sysadmin", "系统管理员", Role.SYSADMIN, None, ""),
    ("wangge", "王秀兰（杜河沟网格员）", Role.GRID, "adao", ""),
)
#: The villager groups of each grid worker (网格员) among the accounts.
GRID_GROUPS = {"wangge": ("杜河沟",)}
#: The household whose card the README's tour opens on a phone and redeems for at the counter.
TOUR_HOUSEHOLD = "01003"


def load(session: Session, *, scale: float = 1.0, progress: Callable[[str], None] | None = None):
    """Create whatever part of the demo is missing; returns (username, role label, village) of accounts.

    `scale` thins the everyday events (awards, redemptions) for a quicker load in tests; every kind of
    event still happens.
    """
    now = utcnow()
    new = []
    for plan in PLANS:
        if session.scalar(select(Village.id).where(Village.code == plan.code)) is None:
            new.append((plan, _create_village(session, plan)))
            if progress:
                progress(f"{plan.name}: {sum(n for _, n in plan.groups)} 户")
    for username, display_name, role, village_code, household in ACCOUNTS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            users.create_user(
                session,
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=display_name,
                village=villages.by_code(session, village_code) if village_code else None,
                household_number=household,
                group_names=GRID_GROUPS.get(username, ()),
            )
    months = month_starts(now.astimezone(VILLAGE_TIMEZONE).date(), MONTHS)
    for plan, village in new:
        _history(session, plan, village, now, months, scale, progress)
    return [(u, str(r.label), v or "—") for u, _, r, v, _ in ACCOUNTS]


def tour_card(session: Session) -> tuple[str, str, str] | None:
    """(household "户号 户主", card number, QR token) of the tour's household in 啊道村."""
    row = session.execute(
        select(Card.number, Card.token, Member.name)
        .join(Village, Village.id == Card.village_id)
        .join(HouseholdRow, HouseholdRow.id == Card.household_id)
        .join(Member, (Member.household_id == Card.household_id) & (Member.relation == Relation.HEAD.value))
        .where(
            Village.code == ADAO.code,
            HouseholdRow.number == TOUR_HOUSEHOLD,
            Card.status == CardStatus.ACTIVE.value,
        )
    ).one_or_none()
    return (f"{TOUR_HOUSEHOLD} {row.name}", row.number, row.token) if row else None


def _history(session, plan: VillagePlan, village: Village, now, months, scale, progress) -> None:
    staff = Staff(*(_user(session, village, role) for role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER)))
    year = Year(
        session, village, staff, plan.scenario, now, random.Random(f"lovemart-demo-year-{plan.code}"), scale
    )
    year.households = [
        Household(h.id, h.number, h.group_id)
        for h in session.scalars(
            select(HouseholdRow).where(HouseholdRow.village_id == village.id).order_by(HouseholdRow.number)
        )
    ]
    # The tour household and the two before it pass the first round, so its card is always ADAO00003.
    year.kept["always_pass"] = {"01001", "01002", TOUR_HOUSEHOLD}
    year.set_up(local(months[0], 8))
    year.plan(months)
    year.run(progress)


def _user(session: Session, village: Village, role: Role) -> User | None:
    return session.scalar(
        select(User).where(User.village_id == village.id, User.role == role.value).order_by(User.id).limit(1)
    )


def _create_village(session: Session, plan: VillagePlan) -> Village:
    village = villages.create_village(
        session,
        actor=None,
        county_code=COUNTY[0],
        county_name=COUNTY[1],
        township_name=plan.township,
        code=plan.code,
        name=plan.name,
        groups=[name for name, _ in plan.groups],
    )
    rng = random.Random(f"lovemart-demo-{plan.code}")
    total = sum(n for _, n in plan.groups)
    statuses = (
        [HouseholdStatus.POOR] * plan.poor_households
        + [HouseholdStatus.LIFTED] * plan.lifted_households
        + [HouseholdStatus.GENERAL] * (total - plan.poor_households - plan.lifted_households)
    )
    rng.shuffle(statuses)
    poor = [i for i, s in enumerate(statuses) if s is HouseholdStatus.POOR]
    others = [i for i, s in enumerate(statuses) if s is not HouseholdStatus.POOR]
    sizes = [0] * total
    for index, size in zip(poor, family_sizes(rng, len(poor), plan.poor_people), strict=True):
        sizes[index] = size
    for index, size in zip(
        others, family_sizes(rng, len(others), plan.people - plan.poor_people), strict=True
    ):
        sizes[index] = size

    groups = {g.name: g for g in villages.groups(session, village.id)}
    # A generator of its own: the households, families and books stay what they were before 党员 existed.
    party_rng = random.Random(f"lovemart-demo-party-{plan.code}")
    index = 0
    for group_number, (group_name, count) in enumerate(plan.groups, start=1):
        for house in range(1, count + 1):
            households.create(
                session,
                actor=None,
                village_id=village.id,
                data=HouseholdInput(
                    number=f"{group_number:02d}{house:03d}",
                    group_id=groups[group_name].id,
                    address=f"{plan.name}{group_name}组{house}号",
                    phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
                    if rng.random() < 0.8
                    else "",
                    status=statuses[index].value,
                ),
                members=party_members(party_rng, family(rng, sizes[index])),
            )
            index += 1
    return village
