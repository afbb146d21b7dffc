"""The demo county: 啊道村 as the Yichuan report describes it (3 groups, 154 households, 668 people, 31 poor
households with 96 people), a smaller neighbour village to show isolation, and one account per role.

Names are generated from common local surnames and given names with a fixed seed, so every installation
gets the same demo. Loading is idempotent: what exists already is left alone.
"""

import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.authz import Role
from lovemart.models import HouseholdStatus, Notice, User, Village
from lovemart.models.households import Gender, Relation
from lovemart.services import cards, households, inspections, notices, points, rules, users, villages
from lovemart.services.errors import InsufficientPoints
from lovemart.services.households import HouseholdInput, MemberInput
from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput

DEMO_PASSWORD = "demo1234"

SURNAMES = "王李张刘杨高贺薛冯白郭马孙赵师屈任雷呼惠党拓曹史焦"
MALE_GIVEN = (
    "建华 建军 国强 志刚 永平 海军 文斌 小龙 宏伟 卫东 拴柱 满仓 天明 红兵 军 斌 涛 鹏 磊 浩 "
    "振兴 新民 俊杰 子豪 宇航 晨阳 家乐 锦程 银锁 有福"
).split()
FEMALE_GIVEN = (
    "秀英 桂兰 玉梅 凤琴 彩霞 艳 丽 娟 芳 霞 红梅 春燕 翠兰 爱萍 小芳 雪梅 欣怡 梓涵 雨萱 "
    "佳怡 婷 静 金花 巧云 改娥 兰英 转转 银花"
).split()


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


ADAO = VillagePlan(
    code="adao",
    name="啊道村",
    township="英旺乡",
    groups=(("啊道", 60), ("富庄", 52), ("杜河沟", 42)),
    people=668,
    poor_households=31,
    poor_people=96,
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
)
COUNTY = ("yichuan", "宜川县")

#: (username, display name, role, village code or None)
ACCOUNTS = (
    ("admin", "张建华（管理员）", Role.ADMIN, "adao"),
    ("supervisor", "李文博（第一书记）", Role.SUPERVISOR, "adao"),
    ("leader", "贺振兴（支部书记）", Role.LEADER, "adao"),
    ("xly-admin", "高永平（下里垣管理员）", Role.ADMIN, "xialiyuan"),
    ("county", "王丽（县扶贫办）", Role.COUNTY, "adao"),
    ("sysadmin", "系统管理员", Role.SYSADMIN, None),
)


def load(session: Session) -> list[tuple[str, str, str]]:
    """Create whatever part of the demo is missing; returns (username, role label, village) of accounts."""
    for plan in (ADAO, XIALIYUAN):
        if session.scalar(select(Village.id).where(Village.code == plan.code)) is None:
            _create_village(session, plan)
    for username, display_name, role, village_code in ACCOUNTS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            users.create_user(
                session,
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                display_name=display_name,
                village=villages.by_code(session, village_code) if village_code else None,
            )
    _last_month_notice(session)
    return [(u, str(r.label), v or "—") for u, _, r, v in ACCOUNTS]


def _last_month_notice(session: Session) -> None:
    """啊道村's notice (公示) for last month, compiled and published by the demo supervisor, once.

    The demo's history is dated the day it is loaded, so on a fresh demo last month's notice lists no entries;
    an installation loaded earlier shows them.
    """
    village = villages.by_code(session, ADAO.code)
    start, end = notices.last_month(notices.local_today())
    if session.scalar(select(Notice.id).where(Notice.village_id == village.id, Notice.period_start == start)):
        return
    supervisor = users.by_username(session, "supervisor")
    draft = notices.compile(
        session, actor=supervisor, village_id=village.id, period_start=start, period_end=end
    )
    notices.publish(session, actor=supervisor, village_id=village.id, notice_id=draft.id)


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
    for index, size in zip(poor, _sizes(rng, len(poor), plan.poor_people), strict=True):
        sizes[index] = size
    for index, size in zip(others, _sizes(rng, len(others), plan.people - plan.poor_people), strict=True):
        sizes[index] = size

    groups = {g.name: g for g in villages.groups(session, village.id)}
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
                members=_family(rng, sizes[index]),
            )
            index += 1
    _points_history(session, village, rng)
    return village


def _points_history(session: Session, village: Village, rng: random.Random) -> None:
    """The Adao rules; most households inspected and carded; a few months' worth of awards and deductions.

    About one household in eight has not passed yet, so the demo shows refusals and the door-to-door round.
    """
    catalogue = rules.seed(session, actor=None, village_id=village.id)
    everyday = [
        r for r in catalogue if not r.requires_approval and r.cap_per_month is None and not r.repeat_points
    ]
    carded = []
    for household in inspections.group_households(session, village_id=village.id, group_id=None):
        checks = dict.fromkeys(CHECK_COLUMNS, True)
        if rng.random() < 0.12:
            checks[rng.choice(CHECK_COLUMNS)] = False
        inspections.record(
            session,
            actor=None,
            village_id=village.id,
            household_id=household.id,
            data=InspectionInput(date(2026, 10, 15), "村两委检查组", checks),
        )
        if all(checks.values()):
            cards.issue(session, actor=None, village_id=village.id, household_id=household.id)
            carded.append(household.id)
    for _ in range(len(carded) * 2):
        rule = rng.choice(everyday)
        try:
            points.award(
                session,
                actor=None,
                village_id=village.id,
                household_id=rng.choice(carded),
                rule_id=rule.id,
                note="演示数据",
            )
        except InsufficientPoints:
            continue  # a deduction the household cannot cover: skipped, as the counter would refuse it


def _sizes(rng: random.Random, households: int, people: int) -> list[int]:
    """`households` family sizes between 1 and 8 that add up to exactly `people`."""
    mean = people / households
    sizes = [max(1, min(8, round(rng.gauss(mean, 1.2)))) for _ in range(households)]
    while (gap := people - sum(sizes)) != 0:
        i = rng.randrange(households)
        step = 1 if gap > 0 else -1
        if 1 <= sizes[i] + step <= 8:
            sizes[i] += step
    return sizes


def _family(rng: random.Random, size: int) -> list[MemberInput]:
    surname = rng.choice(SURNAMES)
    head_male = rng.random() < 0.85
    head_year = rng.randint(1945, 1990)
    members = [_person(rng, surname, Relation.HEAD, head_male, head_year)]
    if size >= 2 and rng.random() < 0.9:
        spouse_surname = rng.choice(SURNAMES)
        members.append(
            _person(rng, spouse_surname, Relation.SPOUSE, not head_male, head_year + rng.randint(-3, 3))
        )
    elders_possible = head_year > 1965
    while len(members) < size:
        if elders_possible and rng.random() < 0.25:
            members.append(
                _person(rng, surname, Relation.PARENT, rng.random() < 0.4, head_year - rng.randint(22, 32))
            )
            elders_possible = False
        elif head_year < 1965 and len(members) >= 3 and rng.random() < 0.5:
            members.append(
                _person(
                    rng,
                    surname,
                    Relation.GRANDCHILD,
                    rng.random() < 0.5,
                    min(2022, head_year + rng.randint(45, 60)),
                )
            )
        else:
            members.append(
                _person(
                    rng,
                    surname,
                    Relation.CHILD,
                    rng.random() < 0.5,
                    min(2023, head_year + rng.randint(20, 32)),
                )
            )
    return members


def _person(rng: random.Random, surname: str, relation: Relation, male: bool, year: int) -> MemberInput:
    given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
    return MemberInput(
        name=surname + given,
        relation=relation.value,
        gender=(Gender.MALE if male else Gender.FEMALE).value,
        birth_year=year,
    )
