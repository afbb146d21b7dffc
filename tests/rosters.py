"""Roster (花名册) files built on the fly for the import and export tests: no binary fixtures in the repo."""

import csv
import io

from openpyxl import Workbook, load_workbook

from lovemart.services.spreadsheets import COLUMNS

HEADER = list(COLUMNS)

#: Two households of a village with groups 一组 and 二组; in the file a member comes before the head.
GOOD_ROWS = [
    ["001", "", "李秀英", "配偶", "女", "1972", "", "", ""],
    ["001", "一组", "王建华", "户主", "男", "1970", "一组1号", "13800000001", "贫困户"],
    ["001", "", "王小明", "子女", "男", "1995", "", "", ""],
    ["001", "", "刘芳", "儿媳", "女", "1996", "", "", ""],
    ["001", "", "王乐乐", "孙子", "男", "2020", "", "", ""],
    ["002", "二组", "赵大山", "户主", "男", "1958", "二组5号", "", "一般户"],
    ["002", "", "孙桂兰", "母亲", "女", "1935", "", "", ""],
]

#: What GOOD_ROWS become: (number, group, address, phone, status) and members (name, relation, gender, birth
#: year, 党员), the head first, in file order.
GOOD_HOUSEHOLDS = {
    "001": (
        ("一组", "一组1号", "13800000001", "poor"),
        [
            ("王建华", "head", "male", 1970, False),
            ("李秀英", "spouse", "female", 1972, False),
            ("王小明", "child", "male", 1995, False),
            ("刘芳", "child_in_law", "female", 1996, False),
            ("王乐乐", "grandchild", "male", 2020, False),
        ],
    ),
    "002": (
        ("二组", "二组5号", "", "general"),
        [("赵大山", "head", "male", 1958, False), ("孙桂兰", "parent", "female", 1935, False)],
    ),
}


def xlsx(rows, header=HEADER, *, numeric=True) -> bytes:
    """An .xlsx roster; with `numeric`, digit-only cells are written as numbers, as Excel users type them."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    if header is not None:
        sheet.append(list(header))
    for row in rows:
        sheet.append(
            [
                int(c) if numeric and isinstance(c, str) and c.isdigit() and not c.startswith("0") else c
                for c in row
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, *, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def read_xlsx(data: bytes) -> list[tuple]:
    """Every row of the first sheet, header included, as tuples of cell values."""
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def snapshot(households) -> dict:
    """Households as comparable plain values, keyed by number."""
    return {
        h.number: (
            (h.group.name, h.address, h.phone, h.status),
            [(m.name, m.relation, m.gender, m.birth_year, m.party_member) for m in h.members],
        )
        for h in households
    }
