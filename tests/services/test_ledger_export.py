"""A year of a village's ledger as .xlsx: its entries only, in chain order, read in chunks with progress
reported after each; the reversal column names the corrected entry by its place in the chain."""

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from lovemart.db import unit_of_work
from lovemart.services import ledger_export, points
from lovemart.services.errors import InvalidInput
from lovemart.services.points import VILLAGE_TIMEZONE
from tests.factories import make_village
from tests.points_helpers import carded_household, make_rule

THIS_YEAR = datetime.now(VILLAGE_TIMEZONE).year


@pytest.fixture
def books(session):
    a, b = make_village("a"), make_village("b")
    zhang, _ = carded_household(a, head="张三", number="0101")
    li, _ = carded_household(a, head="李四", number="0102")
    carded_household(b, head="王五")
    labour = make_rule(a, "义务劳动", "volunteer", 10)
    with unit_of_work() as s:
        for household in (zhang, li, zhang):
            points.award(s, actor=None, village_id=a, household_id=household, rule_id=labour, note="修路")
    with unit_of_work() as s:
        wrong = points.award(s, actor=None, village_id=a, household_id=li, rule_id=labour).entry
        points.reverse(s, actor=None, village_id=a, entry_id=wrong.id, reason="记错了")
    return a


def export(session, village_id, year, **kwargs):
    target = io.BytesIO()
    written = ledger_export.export_year(session, village_id=village_id, year=year, target=target, **kwargs)
    target.seek(0)
    return written, list(load_workbook(target).active.iter_rows(values_only=True))


def test_a_years_ledger_in_chain_order_read_in_chunks(session, books, monkeypatch):
    monkeypatch.setattr(ledger_export, "CHUNK", 2)
    reported = []
    written, rows = export(
        session, books, THIS_YEAR, progress=lambda done, total: reported.append((done, total))
    )
    assert written == 7 and reported == [(2, 7), (4, 7), (6, 7), (7, 7)]
    assert rows[0][0] == f"a村 {THIS_YEAR} 年积分台账"
    assert rows[1][:3] == ("序号", "时间", "户号")
    body = rows[2:]
    assert [r[0] for r in body] == [1, 2, 3, 4, 5, 6, 7]
    assert [(r[2], r[3], r[4], r[7], r[8]) for r in body[:3]] == [
        ("0101", "张三", "基础积分", 100, 100),
        ("0102", "李四", "基础积分", 100, 100),
        ("0101", "张三", "加分", 10, 110),
    ]
    reversal = body[-1]
    assert (reversal[4], reversal[7], reversal[11]) == ("冲正", -10, 6)  # corrects entry no. 6
    assert all(len(r[12]) == 64 for r in body)  # every entry's hash, to check against the chain
    assert "王五" not in {r[3] for r in body}  # village b's entry stays in village b


def test_a_year_without_entries_has_only_the_headings(session, books):
    assert export(session, books, THIS_YEAR - 1)[0] == 0


@pytest.mark.parametrize("year", [1999, 2101])
def test_an_impossible_year_is_refused(session, books, year):
    with pytest.raises(InvalidInput):
        export(session, books, year)
