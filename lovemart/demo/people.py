"""Names and families of the demo's households: common local surnames and given names, drawn with a seeded
random generator so that every installation gets the same people."""

import random
from dataclasses import replace

from lovemart.models.households import Gender, Relation
from lovemart.services.households import MemberInput

SURNAMES = "王李张刘杨高贺薛冯白郭马孙赵师屈任雷呼惠党拓曹史焦"
MALE_GIVEN = (
    "建华 建军 国强 志刚 永平 海军 文斌 小龙 宏伟 卫东 拴柱 满仓 天明 红兵 军 斌 涛 鹏 磊 浩 "
    "振兴 新民 俊杰 子豪 宇航 晨阳 家乐 锦程 银锁 有福"
).split()
FEMALE_GIVEN = (
    "秀英 桂兰 玉梅 凤琴 彩霞 艳 丽 娟 芳 霞 红梅 春燕 翠兰 爱萍 小芳 雪梅 欣怡 梓涵 雨萱 "
    "佳怡 婷 静 金花 巧云 改娥 兰英 转转 银花"
).split()


def family_sizes(rng: random.Random, households: int, people: int) -> list[int]:
    """`households` family sizes between 1 and 8 that add up to exactly `people`."""
    mean = people / households
    sizes = [max(1, min(8, round(rng.gauss(mean, 1.2)))) for _ in range(households)]
    while (gap := people - sum(sizes)) != 0:
        i = rng.randrange(households)
        step = 1 if gap > 0 else -1
        if 1 <= sizes[i] + step <= 8:
            sizes[i] += step
    return sizes


def family(rng: random.Random, size: int) -> list[MemberInput]:
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


def party_members(rng: random.Random, members: list[MemberInput]) -> list[MemberInput]:
    """The family with some party members (党员): the head of about one household in eight, otherwise
    sometimes a grown-up child; `rng` is the demo's party generator, not the families' one."""
    if rng.random() < 0.125:
        return [replace(m, party_member=True) if m.relation == Relation.HEAD else m for m in members]
    grown = [i for i, m in enumerate(members) if m.relation == Relation.CHILD and (m.birth_year or 0) <= 2000]
    if grown and rng.random() < 0.08:
        chosen = rng.choice(grown)
        return [replace(m, party_member=True) if i == chosen else m for i, m in enumerate(members)]
    return members


def _person(rng: random.Random, surname: str, relation: Relation, male: bool, year: int) -> MemberInput:
    given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
    return MemberInput(
        name=surname + given,
        relation=relation.value,
        gender=(Gender.MALE if male else Gender.FEMALE).value,
        birth_year=year,
    )
