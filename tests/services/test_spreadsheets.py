"""Roster import and export: reading .xlsx/.csv, checking every row, all-or-nothing import, round trip."""

import io
import os
import zipfile

import pytest
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Household, Member, User
from lovemart.models.households import Relation
from lovemart.services import households, spreadsheets
from lovemart.services.errors import ImportRejected
from lovemart.services.spreadsheets import Problem, RosterRow
from tests.factories import make_household, make_user, make_village
from tests.rosters import GOOD_HOUSEHOLDS, GOOD_ROWS, HEADER, csv_bytes, read_xlsx, snapshot, xlsx


def counts(session) -> tuple[int, int, int]:
    session.rollback()  # a fresh snapshot, after the unit of work of the test
    return (
        session.scalar(select(func.count()).select_from(Household)),
        session.scalar(select(func.count()).select_from(Member)),
        session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def village_households(session, village_id) -> dict:
    session.rollback()
    page = households.search(
        session, village_id=village_id, filters=households.HouseholdFilter(active=None), per_page=1000
    )
    return snapshot(page.items)


def do_import(session, village_id, filename, data, actor=None):
    with unit_of_work() as s:
        return [
            h.id
            for h in spreadsheets.import_roster(
                s, actor=actor, village_id=village_id, filename=filename, data=data
            )
        ]


def plan(session, village_id, filename, data):
    return spreadsheets.plan_roster(session, village_id=village_id, filename=filename, data=data)


def row(
    line,
    number="100",
    group="",
    name="张三",
    relation="户主",
    gender="男",
    birth_year="1980",
    address="",
    phone="",
    status="",
):
    return RosterRow(line, number, group, name, relation, gender, birth_year, address, phone, status)


# --- good files


@pytest.mark.parametrize(
    "filename, data",
    [
        ("花名册.xlsx", xlsx(GOOD_ROWS)),
        ("花名册.xlsx", xlsx(GOOD_ROWS, numeric=False)),
        ("ROSTER.XLSX", xlsx(GOOD_ROWS)),
        ("花名册.csv", csv_bytes(GOOD_ROWS, encoding="utf-8-sig")),
        ("花名册.csv", csv_bytes(GOOD_ROWS, encoding="utf-8")),
        ("花名册.csv", csv_bytes(GOOD_ROWS, encoding="gb18030")),
    ],
    ids=["xlsx", "xlsx-text-cells", "xlsx-upper-suffix", "csv-utf8-bom", "csv-utf8", "csv-gb18030"],
)
def test_good_roster_creates_households_with_members_head_first(session, filename, data):
    village_id = make_village("a")

    checked = plan(session, village_id, filename, data)
    assert checked.problems == []
    assert [h.data.number for h in checked.households] == ["001", "002"]
    assert checked.people == 7
    assert [h.group_name for h in checked.households] == ["一组", "二组"]
    assert checked.households[0].lines == [2, 3, 4, 5, 6]

    created = do_import(session, village_id, filename, data)
    assert len(created) == 2
    assert village_households(session, village_id) == GOOD_HOUSEHOLDS


def test_csv_column_order_is_free_and_optional_columns_may_be_missing(session):
    village_id = make_village("a")
    header = ["姓名", "性别", "户号", "与户主关系", "村民小组"]
    data = csv_bytes([["王建华", "男", "7", "户主", "一组"], ["李秀英", "女", "7", "妻", ""]], header=header)
    do_import(session, village_id, "r.csv", data)
    assert village_households(session, village_id) == {
        "7": (
            ("一组", "", "", "general"),
            [("王建华", "head", "male", None, False), ("李秀英", "spouse", "female", None, False)],
        )
    }


def test_blank_rows_are_skipped_and_cells_are_trimmed(session):
    village_id = make_village("a")
    rows = [
        [" 001 ", " 一组 ", " 王建华 ", " 户主 ", " 男 ", " 1970 ", " 一组1号 ", "", " 脱贫户 "],
        ["", "", "", "", "", "", "", "", ""],
        ["  ", "", "", "", "", "", "", "", ""],
        ["001", "", "王小明", "子女", "男", "", "", "", ""],
    ]
    checked = plan(session, village_id, "r.csv", csv_bytes(rows))
    assert checked.problems == []
    (household,) = checked.households
    assert household.lines == [2, 5]  # line numbers still count the blank rows
    assert household.data.number == "001" and household.data.address == "一组1号"
    assert household.data.status == "lifted"
    assert [m.name for m in household.members] == ["王建华", "王小明"]


RELATIONS = {
    "户主": "head",
    "head": "head",
    "配偶": "spouse",
    "妻": "spouse",
    "夫": "spouse",
    "子女": "child",
    "子": "child",
    "女": "child",
    "儿媳": "child_in_law",
    "女婿": "child_in_law",
    "儿媳/女婿": "child_in_law",
    "孙子": "grandchild",
    "孙女": "grandchild",
    "孙子女": "grandchild",
    "父亲": "parent",
    "母亲": "parent",
    "父母": "parent",
    "兄弟姐妹": "sibling",
    "其他": "other",
    "spouse": "spouse",
}


def test_chinese_relation_gender_and_status_labels_parse(session):
    """One household per label, so one planning pass checks them all."""
    village_id = make_village("a")
    rows, line = [], 2
    for n, label in enumerate(RELATIONS):
        if RELATIONS[label] == "head":
            rows.append(row(line, number=f"R{n}", group="一组", relation=label))
            line += 1
        else:
            rows.append(row(line, number=f"R{n}", group="一组"))
            rows.append(row(line + 1, number=f"R{n}", name="某某", relation=label))
            line += 2
    for n, label in enumerate(GENDERS):
        rows.append(row(line, number=f"G{n}", group="一组", gender=label))
        line += 1
    for n, label in enumerate(STATUSES):
        rows.append(row(line, number=f"S{n}", group="二组", status=label))
        line += 1

    checked = spreadsheets.plan_import(session, village_id=village_id, rows=rows)

    assert checked.problems == []
    planned = {h.data.number: h for h in checked.households}
    assert {label: planned[f"R{n}"].members[-1].relation for n, label in enumerate(RELATIONS)} == RELATIONS
    assert {label: planned[f"G{n}"].members[0].gender for n, label in enumerate(GENDERS)} == GENDERS
    assert {label: planned[f"S{n}"].data.status for n, label in enumerate(STATUSES)} == STATUSES


GENDERS = {"男": "male", "女": "female", "male": "male", "female": "female"}
STATUSES = {"贫困户": "poor", "脱贫户": "lifted", "一般户": "general", "": "general", "poor": "poor"}


def test_number_used_in_another_village_is_fine(session):
    village_id, other_id = make_village("a"), make_village("b")
    make_household(other_id, number="001")
    do_import(session, village_id, "r.xlsx", xlsx(GOOD_ROWS))
    assert set(village_households(session, village_id)) == {"001", "002"}
    assert set(village_households(session, other_id)) == {"001"}


# --- bad rows

BAD_ROWS = [
    # line 2: a good household 100, except for its member on line 3
    ["100", "一组", "王建华", "户主", "男", "1970", "", "", ""],
    ["100", "", "", "配偶", "女", "1972", "", "", ""],  # 3 no name
    ["101", "三组", "李明", "户主", "男", "1970", "", "", ""],  # 4 unknown group
    ["102", "一组", "张伟", "户主", "男", "1970", "", "", ""],
    ["102", "", "张强", "邻居", "男", "1990", "", "", ""],  # 6 unknown relation
    ["103", "一组", "刘洋", "户主", "M", "1970", "", "", ""],  # 7 bad gender
    ["104", "一组", "陈静", "户主", "女", "一九七〇", "", "", ""],  # 8 non-numeric birth year
    ["105", "一组", "杨帆", "户主", "男", "1850", "", "", ""],  # 9 birth year too early
    ["106", "一组", "黄磊", "户主", "男", "2999", "", "", ""],  # 10 birth year in the future
    ["107", "一组", "赵敏", "配偶", "女", "1970", "", "", ""],  # 11 no head
    ["107", "", "赵强", "子女", "男", "1990", "", "", ""],  # 12 no head
    ["108", "一组", "周杰", "户主", "男", "1970", "", "", ""],  # 13 two heads
    ["108", "一组", "周伦", "户主", "男", "1971", "", "", ""],  # 14 two heads
    ["109", "一组", "吴刚", "户主", "男", "1970", "一组3号", "", ""],
    ["109", "", "吴月", "子女", "女", "1995", "二组9号", "", ""],  # 16 conflicting address
    ["E01", "一组", "郑和", "户主", "男", "1970", "", "", ""],  # 17 number already in the village
    ["110", "一组", "孙悟", "户主", "男", "1970", "", "电话abc", ""],  # 18 bad phone
    ["", "一组", "冯巩", "户主", "", "1970", "", "", ""],  # 19 missing 户号 and 性别
    ["", "", "", "", "", "", "", "", ""],  # 20 blank: skipped
    ["111", "一组", "钱多", "户主", "男", "1970", "", "", "特困户"],  # 21 unknown status
    ["112", "二组", "卫青", "户主", "男", "1970", "", "", ""],  # 22 good
    ["112", "", "卫子", "子女", "男", "19.5", "", "", ""],  # 23 non-numeric birth year
    ["113", "二组", "霍去", "户主", "男", "1970", "", "", ""],  # 24 good household 113
    ["113", "", "霍光", "兄弟姐妹", "男", "1972", "", "", ""],
]

EXPECTED_PROBLEMS = [
    (3, "缺少必填项：姓名"),
    (4, "没有名为“三组”的村民小组"),
    (6, "无法识别的与户主关系：邻居"),
    (7, "性别只能填“男”或“女”"),
    (8, "出生年份应为四位数字"),
    (9, "出生年份须在 1900 到"),
    (10, "出生年份须在 1900 到"),
    (11, "户号 107 没有户主"),
    (12, "户号 107 没有户主"),
    (13, "户号 108 有多名户主"),
    (14, "户号 108 有多名户主"),
    (16, "小组、住址、电话或户类别与户主行不一致"),
    (17, "户号 E01 在本村已存在"),
    (18, "电话号码格式不正确"),
    (19, "缺少必填项：户号、性别"),
    (21, "户类别只能是贫困户、脱贫户或一般户"),
    (23, "出生年份应为四位数字"),
]


@pytest.mark.parametrize("filename, encode", [("bad.xlsx", xlsx), ("bad.csv", csv_bytes)])
def test_plan_lists_every_bad_row_with_line_and_reason(session, filename, encode):
    village_id = make_village("a")
    make_household(village_id, number="E01")

    checked = plan(session, village_id, filename, encode(BAD_ROWS))

    assert [p.line for p in checked.problems] == [line for line, _ in EXPECTED_PROBLEMS]
    for problem, (_, expected) in zip(checked.problems, EXPECTED_PROBLEMS, strict=True):
        assert problem.message.startswith(expected), problem
    # households whose rows are all fine are still planned (not 100: its member on line 3 has no name)
    assert [h.data.number for h in checked.households] == ["113"]


def test_import_with_a_bad_row_raises_and_writes_nothing(session):
    village_id = make_village("a")
    make_household(village_id, number="E01")
    actor = session.get(User, make_user("a-admin", Role.ADMIN, "a"))
    before = counts(session)

    with pytest.raises(ImportRejected) as rejected:
        do_import(session, village_id, "bad.xlsx", xlsx(BAD_ROWS), actor=actor)

    assert [p.line for p in rejected.value.problems] == [line for line, _ in EXPECTED_PROBLEMS]
    assert rejected.value.message == f"导入文件有 {len(EXPECTED_PROBLEMS)} 处错误，未导入任何数据。"
    assert rejected.value.code == "import_rejected"
    assert counts(session) == before


def test_one_bad_row_among_good_ones_rejects_the_whole_file(session):
    village_id = make_village("a")
    rows = [*GOOD_ROWS, ["003", "一组", "韩梅", "户主", "女", "abcd", "", "", ""]]
    before = counts(session)
    with pytest.raises(ImportRejected) as rejected:
        do_import(session, village_id, "r.csv", csv_bytes(rows))
    assert rejected.value.problems == [Problem(9, "出生年份应为四位数字。")]
    assert counts(session) == before


def test_every_problem_of_every_row_is_listed_not_only_the_first(session):
    village_id = make_village("a")
    rows = [
        ["001", "九组", "王" * 40, "堂兄", "X", "19.5", "", "电话abc", "特困户"],  # line 2: eight problems
        ["002", "一组", "", "", "", "1850", "", "", ""],  # line 3: missing values and a birth year
        ["002", "一组", "李四", "户主", "男", "1970", "", "", ""],  # line 4: fine itself
    ]
    checked = plan(session, village_id, "r.csv", csv_bytes(rows))
    by_line = {}
    for problem in checked.problems:
        by_line.setdefault(problem.line, []).append(problem.message)
    assert by_line[2] == [
        "无法识别的与户主关系：堂兄",
        "性别只能填“男”或“女”。",
        "出生年份应为四位数字。",
        "姓名最多 32 个字。",
        "户号 001 没有户主。",
    ]
    assert by_line[3][0] == "缺少必填项：姓名、与户主关系、性别"
    assert by_line[3][1].startswith("出生年份须在 1900 到")
    assert len(by_line[3]) == 2
    assert 4 not in by_line and checked.households == []

    # with its head known, a household's own fields are all reported on the head's line
    rows[0][3] = "户主"
    checked = plan(session, village_id, "r.csv", csv_bytes(rows[:1]))
    assert [p.message for p in checked.problems] == [
        "性别只能填“男”或“女”。",
        "出生年份应为四位数字。",
        "姓名最多 32 个字。",
        "没有名为“九组”的村民小组。",
        "户类别只能是贫困户、脱贫户或一般户。",
        "电话号码格式不正确。",
    ]


def test_roster_template_lists_the_columns_and_its_example_imports(session):
    village_id = make_village("a")
    template = spreadsheets.roster_template(session, village_id=village_id).getvalue()
    header, example = read_xlsx(template)
    assert header == tuple(spreadsheets.COLUMNS)
    assert example[:5] == ("001", "一组", "王建华", "户主", "男")
    checked = plan(session, village_id, "template.xlsx", template)
    assert checked.problems == []
    assert [(h.data.number, h.group_name, len(h.members)) for h in checked.households] == [("001", "一组", 1)]


def test_a_rule_the_plan_did_not_foresee_rolls_back_every_household(session, monkeypatch):
    """If creating the second household fails, the first one (already flushed) is rolled back too."""
    village_id = make_village("a")
    real_create = households.create

    def create_then_refuse(session, **kwargs):
        if kwargs["data"].number == "002":
            from lovemart.services.errors import DuplicateHouseholdNumber

            raise DuplicateHouseholdNumber(number="002")
        return real_create(session, **kwargs)

    monkeypatch.setattr(households, "create", create_then_refuse)
    before = counts(session)
    with pytest.raises(ImportRejected) as rejected:
        do_import(session, village_id, "r.xlsx", xlsx(GOOD_ROWS))
    assert rejected.value.problems == [Problem(7, "户号 002 在本村已存在。")]
    assert counts(session) == before


def test_importing_the_same_file_twice_is_refused_the_second_time(session):
    village_id = make_village("a")
    data = xlsx(GOOD_ROWS)
    do_import(session, village_id, "r.xlsx", data)
    before = counts(session)
    with pytest.raises(ImportRejected) as rejected:
        do_import(session, village_id, "r.xlsx", data)
    assert {p.line for p in rejected.value.problems} == set(range(2, 9))
    assert all("在本村已存在" in p.message for p in rejected.value.problems)
    assert counts(session) == before


# --- whole-file problems


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "不是表格")
    return out.getvalue()


def _empty_xlsx() -> bytes:
    return xlsx([], header=None)


ENCODING = "文件编码无法识别，请另存为 UTF-8 编码的 CSV（Excel 中选“CSV UTF-8”），或上传 .xlsx 文件。"
#: What a roster's header looks like in traditional Chinese, as a Big5 (Taiwan, Hong Kong) Excel writes it.
BIG5_HEADER = ["戶號", "村民小組", "姓名", "與戶主關係", "性別", "出生年份", "住址", "電話", "戶類別"]


def big5_roster() -> bytes:
    return csv_bytes(
        [["001", "一組", "王建華", "戶主", "男", "1970", "", "", ""]], BIG5_HEADER, encoding="big5"
    )


WHOLE_FILE_PROBLEMS = [
    ("roster.xls", xlsx(GOOD_ROWS), "只支持 .xlsx 或 .csv 文件。"),
    ("roster.txt", csv_bytes(GOOD_ROWS), "只支持 .xlsx 或 .csv 文件。"),
    ("roster", csv_bytes(GOOD_ROWS), "只支持 .xlsx 或 .csv 文件。"),
    ("empty.csv", b"", "文件是空的。"),
    ("empty.xlsx", _empty_xlsx(), "文件是空的。"),
    ("header-only.csv", csv_bytes([]), "文件中没有数据行。"),
    ("header-only.xlsx", xlsx([]), "文件中没有数据行。"),
    ("blank-rows.csv", csv_bytes([[""] * 9, [" "] * 9]), "文件中没有数据行。"),
    ("cols.csv", csv_bytes([["001", "王建华"]], header=["户号", "姓名"]), "缺少必需的列：与户主关系、性别"),
    ("cols.xlsx", xlsx([["王建华"]], header=["姓名"]), "缺少必需的列：户号、与户主关系、性别"),
    ("no-header.csv", csv_bytes(GOOD_ROWS, header=None), "缺少必需的列：户号、姓名、与户主关系、性别"),
    ("random.xlsx", os.urandom(2048), "无法读取该 Excel 文件，请确认它是 .xlsx 格式。"),
    ("text.xlsx", csv_bytes(GOOD_ROWS), "无法读取该 Excel 文件，请确认它是 .xlsx 格式。"),
    ("zip.xlsx", _zip_without_workbook(), "无法读取该 Excel 文件，请确认它是 .xlsx 格式。"),
    ("truncated.xlsx", xlsx(GOOD_ROWS)[:1500], "无法读取该 Excel 文件，请确认它是 .xlsx 格式。"),
    ("binary.csv", b"\x00\x01\x02\x03" * 100, "这不是文本格式的 CSV 文件。"),
    ("xlsx.csv", xlsx(GOOD_ROWS), None),  # a zip archive named .csv: either sentence below
    ("latin.csv", b"\xff\xfe\xff" * 10, ENCODING),
    ("big5.csv", big5_roster(), ENCODING),  # decodes as GB18030 too, into columns nobody knows
]


@pytest.mark.parametrize(
    "filename, data, message", WHOLE_FILE_PROBLEMS, ids=[case[0] for case in WHOLE_FILE_PROBLEMS]
)
def test_unreadable_file_is_one_problem_on_line_zero(filename, data, message):
    # a file that cannot be read never reaches the database: no session needed
    checked = spreadsheets.plan_roster(None, village_id=1, filename=filename, data=data)
    (problem,) = checked.problems
    assert checked.households == []
    assert problem.line == 0
    if message is None:
        assert problem.message in ("这不是文本格式的 CSV 文件。", ENCODING)
    else:
        assert problem.message == message


def test_big5_roster_is_named_an_encoding_problem_not_missing_columns():
    data = big5_roster()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    data.decode("gb18030")  # no error: only the header shows the file was misread
    checked = spreadsheets.plan_roster(None, village_id=1, filename="roster.csv", data=data)
    assert checked.problems == [Problem(0, ENCODING)]
    assert "缺少必需的列" not in checked.problems[0].message


def test_gb18030_file_with_some_columns_missing_still_names_the_columns():
    data = csv_bytes([["001", "王建华"]], header=["户号", "姓名"], encoding="gb18030")
    checked = spreadsheets.plan_roster(None, village_id=1, filename="roster.csv", data=data)
    assert checked.problems == [Problem(0, "缺少必需的列：与户主关系、性别")]


def test_unreadable_files_import_nothing(session):
    village_id = make_village("a")
    before = counts(session)
    for filename, data, _ in WHOLE_FILE_PROBLEMS:
        with pytest.raises(ImportRejected) as rejected:
            do_import(session, village_id, filename, data)
        assert [p.line for p in rejected.value.problems] == [0], filename
    assert counts(session) == before


@pytest.mark.parametrize("encode, filename", [(csv_bytes, "big.csv"), (xlsx, "big.xlsx")])
def test_more_rows_than_the_limit_is_refused(session, monkeypatch, encode, filename):
    village_id = make_village("a")
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 5)
    rows = [[f"{n:03d}", "一组", f"户主{n}", "户主", "男", "1970", "", "", ""] for n in range(1, 7)]

    checked = plan(session, village_id, filename, encode(rows))
    assert checked.problems == [Problem(0, "文件超过 5 行，请分批导入。")]
    before = counts(session)
    with pytest.raises(ImportRejected):
        do_import(session, village_id, filename, encode(rows))
    assert counts(session) == before

    # exactly at the limit, with blank rows that do not count, is fine
    blank = [""] * 9
    fits = plan(session, village_id, filename, encode([blank, *rows[:5], blank]))
    assert fits.problems == [] and len(fits.households) == 5


def test_default_limit_is_twenty_thousand_rows():
    assert spreadsheets.MAX_ROWS == 20000


# --- audit and export


def test_import_records_one_audit_row_with_counts(session):
    village_id = make_village("a")
    actor = session.get(User, make_user("a-admin", Role.ADMIN, "a"))
    created = do_import(session, village_id, "花名册.xlsx", xlsx(GOOD_ROWS), actor=actor)

    session.rollback()
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.tag == "household:household:import"))
    assert event.data == {"households": 2, "people": 7, "file": "花名册.xlsx"}
    assert event.village_id == village_id
    assert event.actor_id == actor.id and event.actor_name == "a-admin"
    assert event.subject_type == "Household" and event.subject_id == created[0]
    creates = session.scalars(select(AuditEvent).where(AuditEvent.tag == "household:household:create")).all()
    assert sorted(e.subject_id for e in creates) == sorted(created)


def test_export_writes_import_columns_one_row_per_person(session):
    village_id, other_id = make_village("a"), make_village("b")
    do_import(session, village_id, "r.xlsx", xlsx(_with_party(GOOD_ROWS, {"王建华": "是"})))
    make_household(other_id, head="别村人", number="999")

    rows = read_xlsx(spreadsheets.export_households(session, village_id=village_id).getvalue())

    assert rows[0] == tuple(HEADER)
    assert rows[1:] == [
        ("001", "一组", "王建华", "户主", "男", 1970, "一组1号", "13800000001", "贫困户", "是"),
        ("001", "一组", "李秀英", "配偶", "女", 1972, None, None, None, "否"),
        ("001", "一组", "王小明", "子女", "男", 1995, None, None, None, "否"),
        ("001", "一组", "刘芳", "儿媳/女婿", "女", 1996, None, None, None, "否"),
        ("001", "一组", "王乐乐", "孙子女", "男", 2020, None, None, None, "否"),
        ("002", "二组", "赵大山", "户主", "男", 1958, "二组5号", None, "一般户", "否"),
        ("002", "二组", "孙桂兰", "父母", "女", 1935, None, None, None, "否"),
    ]


def test_export_then_import_into_another_village_gives_the_same_households(session):
    source, target = make_village("a"), make_village("b")
    do_import(session, source, "r.xlsx", xlsx(_with_party(GOOD_ROWS, {"李秀英": "√", "孙桂兰": "Y"})))
    make_household(source, head="钱七", number="H-9", group="二组", others=("钱小七", "钱二七"))
    moved_id = make_household(source, head="孙八", number="M1")
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=source, household_id=moved_id, active=False)
        households.add_member(
            s,
            actor=None,
            village_id=source,
            household_id=moved_id,
            member=households.MemberInput("孙老", Relation.PARENT.value, "male", None),
        )

    exported = spreadsheets.export_households(session, village_id=source).getvalue()
    created = do_import(session, target, "a-households.xlsx", exported)

    original = village_households(session, source)
    assert len(created) == len(original) == 4
    assert village_households(session, target) == original


# --- the 党员 column


def _with_party(rows, marks: dict[str, str]) -> list[list[str]]:
    """The rows with a 党员 cell (the tenth column) for the members named in `marks`, blank for the rest."""
    return [[*r, marks.get(r[2], "")] for r in rows]


def _party_of(session, village_id) -> dict[str, bool]:
    session.rollback()
    return dict(
        session.execute(select(Member.name, Member.party_member).where(Member.village_id == village_id)).all()
    )


@pytest.mark.parametrize("encode", [xlsx, csv_bytes], ids=["xlsx", "csv"])
@pytest.mark.parametrize(
    "cell, party",
    [
        ("是", True), ("Y", True), ("y", True), ("1", True), ("√", True),
        ("否", False), ("N", False), ("n", False), ("0", False), ("", False),
    ],
)  # fmt: skip
def test_party_column_reads_each_spelling(session, encode, cell, party):
    village_id = make_village("a")
    filename = "r.xlsx" if encode is xlsx else "r.csv"
    do_import(session, village_id, filename, encode(_with_party(GOOD_ROWS, {"王小明": cell})))
    found = _party_of(session, village_id)
    assert found["王小明"] is party
    assert [name for name, is_party in found.items() if is_party] == (["王小明"] if party else [])


def test_party_column_takes_excel_true_and_false_cells(session):
    village_id = make_village("a")
    rows = _with_party(GOOD_ROWS, {})
    rows[1][9], rows[2][9] = True, False  # Excel's TRUE/FALSE cells, not text
    do_import(session, village_id, "r.xlsx", xlsx(rows))
    found = _party_of(session, village_id)
    assert found["王建华"] is True and found["王小明"] is False


def test_a_roster_without_the_party_column_imports_nobody_as_a_party_member(session):
    village_id = make_village("a")
    header = [c for c in HEADER if c != "党员"]
    do_import(session, village_id, "r.csv", csv_bytes(GOOD_ROWS, header=header))
    found = _party_of(session, village_id)
    assert len(found) == 7 and not any(found.values())


@pytest.mark.parametrize("encode, filename", [(xlsx, "r.xlsx"), (csv_bytes, "r.csv")])
def test_a_bad_party_value_is_a_problem_named_with_its_row(session, encode, filename):
    village_id = make_village("a")
    rows = _with_party(GOOD_ROWS, {"王小明": "党员", "孙桂兰": "预备"})
    before = counts(session)

    checked = plan(session, village_id, filename, encode(rows))

    assert checked.problems == [
        Problem(4, "党员一栏只能填“是”或“否”（或 Y/N、1/0、√），不能填“党员”。"),
        Problem(8, "党员一栏只能填“是”或“否”（或 Y/N、1/0、√），不能填“预备”。"),
    ]
    assert checked.households == []
    with pytest.raises(ImportRejected) as rejected:
        do_import(session, village_id, filename, encode(rows))
    assert [p.line for p in rejected.value.problems] == [4, 8]
    assert counts(session) == before


def test_the_template_has_the_party_column_and_a_party_member_example(session):
    village_id = make_village("a")
    header, example = read_xlsx(spreadsheets.roster_template(session, village_id=village_id).getvalue())
    assert header[-1] == "党员" and example[-1] == "是"
    planned = plan(session, village_id, "template.xlsx", xlsx([list(example)], header=header))
    assert [m.party_member for h in planned.households for m in h.members] == [True]
