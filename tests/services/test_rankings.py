"""The village's household ranking (积分排行) and its 党员户 filter: what counts, ties, and that it keeps to
its village."""

from datetime import datetime

import pytest

from lovemart.db import unit_of_work
from lovemart.services import households, points, rankings
from lovemart.services.households import MemberInput
from lovemart.services.rankings import Who
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.points_helpers import carded_household, make_rule, points_village

TODAY = datetime.now(VILLAGE_TIMEZONE).date()
MONTH = TODAY.replace(day=1)


def make_party_member(village_id: int, household_id: int) -> None:
    """The household's head becomes a 党员 (through the service, as the member form does)."""
    with unit_of_work() as session:
        head = households.get(session, village_id=village_id, household_id=household_id).head
        households.update_member(
            session,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            member_id=head.id,
            member=MemberInput(head.name, head.relation, head.gender, head.birth_year, party_member=True),
        )


@pytest.fixture
def world(session):
    """Village a: 张三 (党员户), 李四, 王五 (党员户), 赵六 (nothing this month); village b: 外村 (党员户, many
    points)."""
    a, b = points_village("a"), points_village("b")
    ids = {
        name: carded_household(a, head=name, number=f"0{i}")[0]
        for i, name in enumerate("张三 李四 王五 赵六".split(), 1)
    }
    ids |= {"a": a, "b": b, "外村": carded_household(b, head="外村", number="01")[0]}
    ids["labour"], ids["litter"] = (
        make_rule(a, "义务劳动", "volunteer", 10),
        make_rule(a, "乱倒垃圾", "deduction", -5),
    )
    ids["b_labour"] = make_rule(b, "义务劳动", "volunteer", 50)
    for name in ("张三", "王五"):
        make_party_member(a, ids[name])
    make_party_member(b, ids["外村"])
    return ids


def book(world, village: str, household: str, rule: str, times: int = 1) -> list[int]:
    with unit_of_work() as session:
        return [
            points.award(
                session,
                actor=None,
                village_id=world[village],
                household_id=world[household],
                rule_id=world[rule],
            ).entry.id
            for _ in range(times)
        ]


def ranking(session, world, who=Who.ALL, village="a"):
    found = rankings.household_ranking(session, village_id=world[village], first=MONTH, last=TODAY, who=who)
    return [(r.rank, r.head, r.party, r.earned, r.deducted, r.net) for r in found]


def test_households_rank_by_awards_less_deductions_ties_share_a_rank(session, world):
    book(world, "a", "张三", "labour", 2)  # +20
    book(world, "a", "李四", "labour", 3)
    book(world, "a", "李四", "litter", 2)  # +30 -10 = 20: tied with 张三, more earned, listed first
    book(world, "a", "王五", "litter")  # -5
    book(world, "b", "外村", "b_labour", 4)

    assert ranking(session, world) == [
        (1, "李四", False, 30, 10, 20),
        (1, "张三", True, 20, 0, 20),
        (3, "赵六", False, 0, 0, 0),
        (4, "王五", True, 0, 5, -5),
    ]


def test_the_party_filter_ranks_only_households_with_a_party_member(session, world):
    book(world, "a", "李四", "labour", 5)
    book(world, "a", "王五", "labour", 1)
    book(world, "b", "外村", "b_labour", 4)

    assert ranking(session, world, Who.PARTY) == [(1, "王五", True, 10, 0, 10), (2, "张三", True, 0, 0, 0)]
    # another village's 党员户, with more points than anyone here, is never in this village's ranking
    assert ranking(session, world, Who.PARTY, village="b") == [(1, "外村", True, 200, 0, 200)]
    assert {r[1] for r in ranking(session, world)} == {"张三", "李四", "王五", "赵六"}


def test_reversed_lines_and_base_points_do_not_count_and_movers_out_are_not_ranked(session, world):
    wrong, _ = book(world, "a", "张三", "labour", 2)
    with unit_of_work() as s:
        points.reverse(s, actor=None, village_id=world["a"], entry_id=wrong, reason="记错")
        households.set_active(s, actor=None, village_id=world["a"], household_id=world["赵六"], active=False)
    # every card's base 100 points count for nobody; 赵六 moved out
    assert ranking(session, world) == [
        (1, "张三", True, 10, 0, 10),
        (2, "李四", False, 0, 0, 0),
        (2, "王五", True, 0, 0, 0),
    ]


def test_a_member_who_is_no_longer_a_party_member_takes_the_household_out_of_the_filter(session, world):
    with unit_of_work() as s:
        head = households.get(s, village_id=world["a"], household_id=world["王五"]).head
        households.update_member(
            s,
            actor=None,
            village_id=world["a"],
            household_id=world["王五"],
            member_id=head.id,
            member=MemberInput(head.name, head.relation, head.gender, head.birth_year, party_member=False),
        )
    assert [r[1] for r in ranking(session, world, Who.PARTY)] == ["张三"]
    assert households.party_household_ids(session, village_id=world["a"]) == {world["张三"]}


def test_who_reads_a_query_parameter_and_falls_back_to_all():
    assert [Who.parse(v) for v in ("party", "all", None, "", "PARTY", "x")] == [
        Who.PARTY, Who.ALL, Who.ALL, Who.ALL, Who.ALL, Who.ALL,
    ]  # fmt: skip
