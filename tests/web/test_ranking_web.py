"""The village's points ranking page (积分排行) and its 全部 / 党员户 filter: plain links and a GET form."""

import re
from datetime import datetime

import pytest

from lovemart.db import db, unit_of_work
from lovemart.services import households, points
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule

MONTH = datetime.now(VILLAGE_TIMEZONE).strftime("%Y-%m")


@pytest.fixture
def ids(app):
    """Village a: 王大山 (党员户, +20), 李小河 (+30), 赵三 (nothing); village b: 钱八 (党员户, +100)."""
    with app.app_context():
        ids = make_two_villages()
        a, b = ids["a"], ids["b"]
        ids["h1"], _ = carded_household(a, head="王大山", number="01001")
        ids["h2"], _ = carded_household(a, head="李小河", number="01002")
        ids["h3"], _ = carded_household(a, head="赵三", number="01003")
        ids["hb"], _ = carded_household(b, head="钱八", number="01001")
        labour, b_labour = (
            make_rule(a, "义务劳动", "volunteer", 10),
            make_rule(b, "义务劳动", "volunteer", 50),
        )
        with unit_of_work() as session:
            for village, household, rule, times in (
                (a, "h1", labour, 2),
                (a, "h2", labour, 3),
                (b, "hb", b_labour, 2),
            ):
                for _ in range(times):
                    points.award(
                        session, actor=None, village_id=village, household_id=ids[household], rule_id=rule
                    )
            for village, household in ((a, "h1"), (b, "hb")):
                head = households.get(session, village_id=village, household_id=ids[household]).head
                households.update_member(
                    session,
                    actor=None,
                    village_id=village,
                    household_id=ids[household],
                    member_id=head.id,
                    member=households.MemberInput(
                        head.name, head.relation, head.gender, head.birth_year, True
                    ),
                )
        db.session.remove()
        return ids


#: One row of the ranking table: its rank, the head's name (before any badge) and the net points.
ROW = re.compile(
    r'<tr>\s*<td class="num">(\d+)</td>.*?<td>([^<]+?)(?: <span[^>]*>[^<]*</span>)?</td>'
    r".*?<strong>([^<]+)</strong>",
    re.S,
)


def rows(html: str) -> list[tuple[str, str, str]]:
    """(rank, head, net) of each row of the ranking table."""
    return ROW.findall(html[html.index("<tbody>") : html.index("</tbody>")])


def test_the_ranking_lists_the_village_and_filters_to_party_households(login, ids):
    client = login("a-supervisor")
    ledger = client.get("/points/").get_data(as_text=True)
    assert 'href="/points/ranking"' in ledger

    everyone = client.get("/points/ranking").get_data(as_text=True)
    assert rows(everyone) == [("1", "李小河", "+30"), ("2", "王大山", "+20"), ("3", "赵三", "0")]
    assert "钱八" not in everyone  # another village's household, with more points, is never listed
    assert '<span class="tag party">党员户</span>' in everyone.split("王大山")[1].split("</td>")[0]
    assert f'href="/points/ranking?month={MONTH}&amp;who=party"' in everyone
    assert '<strong aria-current="true">全部</strong>' in everyone
    assert re.search(
        r'<form method="get" class="filters">.*name="month".*name="who" value="all"', everyone, re.S
    )

    party = client.get("/points/ranking", query_string={"month": MONTH, "who": "party"}).get_data(
        as_text=True
    )
    assert rows(party) == [("1", "王大山", "+20")]
    assert "积分排行 · 党员户" in party and 'name="who" value="party"' in party
    assert f'href="/points/ranking?month={MONTH}&amp;who=all"' in party


def test_an_unknown_month_or_filter_falls_back_to_this_month_and_everyone(login, ids):
    page = login("a-admin").get("/points/ranking", query_string={"month": "1999-01", "who": "x"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert len(rows(html)) == 3 and f'<option value="{MONTH}" selected>' in html


def test_a_village_without_party_households_says_how_to_mark_them(app, login, ids):
    with app.app_context():
        with unit_of_work() as session:
            head = households.get(session, village_id=ids["a"], household_id=ids["h1"]).head
            households.update_member(
                session,
                actor=None,
                village_id=ids["a"],
                household_id=ids["h1"],
                member_id=head.id,
                member=households.MemberInput(head.name, head.relation, head.gender, head.birth_year, False),
            )
        db.session.remove()
    html = login("a-leader").get("/points/ranking?who=party").get_data(as_text=True)
    assert rows(html) == [] and "没有已发卡的党员户" in html
