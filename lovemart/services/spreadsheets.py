"""Household rosters (花名册) in .xlsx and .csv: read, check every row, import all-or-nothing, export.

One row per person; the rows of a household share its 户号 and the head's row carries the household's
group, address, phone and category. Export writes the same columns, so an export can be imported again.
"""

import csv
import io
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError
from zipfile import BadZipFile

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lovemart.models import Household, HouseholdStatus
from lovemart.models.households import Gender, Relation
from lovemart.services import audit, households, villages, xlsx_guard
from lovemart.services.audit import AuditTag
from lovemart.services.errors import DomainError, ImportRejected, UnreadableFile
from lovemart.services.households import HouseholdInput, MemberInput
from lovemart.services.sheets import TextSheet, csv_text

COLUMNS = ("户号", "村民小组", "姓名", "与户主关系", "性别", "出生年份", "住址", "电话", "户类别", "党员")
_FIELDS = (
    "number",
    "group",
    "name",
    "relation",
    "gender",
    "birth_year",
    "address",
    "phone",
    "status",
    "party",
)
REQUIRED = ("户号", "姓名", "与户主关系", "性别")
#: Labels in a roster are data the import reads back: written in Chinese whatever the UI language.
ROSTER_LOCALE = "zh_Hans_CN"
MAX_ROWS = 20000
#: Columns read from a roster; the ones beyond are ignored (a roster has ten).
MAX_COLUMNS = 64
#: What an .xlsx roster may unpack to: a few MB of styles and themes, plus about 1.5 times what one row
#: takes in the largest writer we know (openpyxl's inline strings: ~470 bytes).
UNPACKED_BASE = 4 * 2**20
UNPACKED_PER_ROW = 640
#: The CLI's bound: 10,000 households of up to 10 people each.
LARGE_ROSTER_ROWS = 100_000

_RELATIONS = (
    {str(r.label): r.value for r in Relation}
    | {r.value: r.value for r in Relation}
    | {
        "儿媳": Relation.CHILD_IN_LAW.value,
        "女婿": Relation.CHILD_IN_LAW.value,
        "子": Relation.CHILD.value,
        "女": Relation.CHILD.value,
        "妻": Relation.SPOUSE.value,
        "夫": Relation.SPOUSE.value,
        "孙子": Relation.GRANDCHILD.value,
        "孙女": Relation.GRANDCHILD.value,
        "父亲": Relation.PARENT.value,
        "母亲": Relation.PARENT.value,
    }
)
_GENDERS = {"男": Gender.MALE.value, "女": Gender.FEMALE.value, "male": "male", "female": "female"}
_STATUSES = {str(s.label): s.value for s in HouseholdStatus} | {s.value: s.value for s in HouseholdStatus}
#: The 党员 column: a blank cell is 否. Compared in lower case; an Excel TRUE/FALSE cell reads as true/false.
_PARTY = {
    **dict.fromkeys(("是", "y", "yes", "1", "√", "✓", "true"), True),
    **dict.fromkeys(("否", "n", "no", "0", "", "false"), False),
}


@dataclass(frozen=True)
class RosterRow:
    line: int
    number: str = ""
    group: str = ""
    name: str = ""
    relation: str = ""
    gender: str = ""
    birth_year: str = ""
    address: str = ""
    phone: str = ""
    status: str = ""
    #: Last, with a default: rows kept by an upload made before the column existed still load.
    party: str = ""


@dataclass(frozen=True)
class Problem:
    line: int  # 0 for a problem of the whole file
    message: str


@dataclass
class PlannedHousehold:
    data: HouseholdInput
    group_name: str
    members: list[MemberInput] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


@dataclass
class ImportPlan:
    households: list[PlannedHousehold]
    problems: list[Problem]

    @property
    def people(self) -> int:
        return sum(len(h.members) for h in self.households)


def plan_roster(
    session: Session, *, village_id: int, filename: str, data: bytes, max_rows: int | None = None
) -> ImportPlan:
    """Read a roster file and check every row; a file that cannot be read is one problem on line 0."""
    try:
        rows = read_roster(filename, data, max_rows=max_rows)
    except UnreadableFile as error:
        return ImportPlan(households=[], problems=[Problem(0, error.message)])
    return plan_import(session, village_id=village_id, rows=rows)


def import_roster(
    session: Session,
    *,
    actor,
    village_id: int,
    filename: str,
    data: bytes,
    max_rows: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Household]:
    """Create every household of the roster file, or none; `progress(done, total)` after each household.

    The web page takes up to `MAX_ROWS` rows (a request must end within the server's timeout); the CLI's
    `import-households` passes `LARGE_ROSTER_ROWS` for a whole county's roster.
    :raise ImportRejected: listing every bad row (or the file's problem), when there is at least one.
    """
    try:
        rows = read_roster(filename, data, max_rows=max_rows)
    except UnreadableFile as error:
        raise ImportRejected([Problem(0, error.message)]) from error
    return import_rows(
        session, actor=actor, village_id=village_id, filename=filename, rows=rows, progress=progress
    )


def import_rows(
    session: Session,
    *,
    actor,
    village_id: int,
    filename: str,
    rows: list[RosterRow],
    progress: Callable[[int, int], None] | None = None,
) -> list[Household]:
    """Create every household of rows read by `read_roster` (at the upload, for the web page), or none.

    :raise ImportRejected: listing every bad row, when there is at least one.
    """
    plan = plan_import(session, village_id=village_id, rows=rows)
    if plan.problems:
        raise ImportRejected(plan.problems)
    created = []
    for done, planned in enumerate(plan.households, start=1):
        try:
            created.append(
                households.create(
                    session, actor=actor, village_id=village_id, data=planned.data, members=planned.members
                )
            )
        except DomainError as error:  # a rule the plan did not foresee: report it against the rows
            raise ImportRejected([Problem(planned.lines[0], error.message)]) from error
        if progress is not None:
            progress(done, len(plan.households))
    if created:
        audit.record(
            session,
            actor=actor,
            tag=AuditTag.HOUSEHOLD_IMPORT,
            subject=created[0],
            village_id=village_id,
            data={"households": len(created), "people": plan.people, "file": filename},
        )
    return created


def read_roster(filename: str, data: bytes, *, max_rows: int | None = None) -> list[RosterRow]:
    """The data rows of an .xlsx or .csv roster; at most `max_rows` (default: `MAX_ROWS`, read at call time).

    The work is bounded before anything is parsed: an .xlsx may unpack to `UNPACKED_BASE` plus
    `UNPACKED_PER_ROW` bytes a row at most (`xlsx_guard`), a sheet may hold twice `max_rows` rows counting
    blank ones, and only its first `MAX_COLUMNS` columns are read.
    :raise UnreadableFile: for a file that is not a readable roster (format, headers, size).
    """
    max_rows = MAX_ROWS if max_rows is None else max_rows
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        table = _xlsx_rows(data, max_unpacked=UNPACKED_BASE + UNPACKED_PER_ROW * max_rows)
    elif suffix == "csv":
        table = _csv_rows(data)
    else:
        raise UnreadableFile(_l("只支持 .xlsx 或 .csv 文件。"))
    header = next(table, None)
    if header is None:
        raise UnreadableFile(_l("文件是空的。"))
    positions = _column_positions(header)
    rows = []
    for line, cells in enumerate(table, start=2):
        if line > 2 * max_rows + 1:
            too_many = _l("文件超过 %(n)d 行（含空行），请删除空行或分批导入。")
            raise UnreadableFile(too_many % {"n": 2 * max_rows})
        values = [_cell_text(cells[i]) if i is not None and i < len(cells) else "" for i in positions]
        if not any(values):
            continue
        if len(rows) >= max_rows:
            raise UnreadableFile(_l("文件超过 %(n)d 行，请分批导入。") % {"n": max_rows})
        rows.append(RosterRow(line, **dict(zip(_FIELDS, values, strict=True))))
    if not rows:
        raise UnreadableFile(_l("文件中没有数据行。"))
    return rows


def plan_import(session: Session, *, village_id: int, rows: list[RosterRow]) -> ImportPlan:
    """Group rows into households and check every row against the rules and the village's registry.

    Every problem of every row is reported, not only a row's first: a row with a bad gender and a bad
    birth year gets both, and a household's own problems (its group, its head) come after its rows' own.
    """
    problems: list[Problem] = []
    groups = households.group_by_name(session, village_id=village_id)
    existing = set(session.scalars(select(Household.number).where(Household.village_id == village_id)))
    by_number: dict[str, list[tuple[RosterRow, MemberInput | None]]] = defaultdict(list)
    for row in rows:
        member, row_problems = _member(row)
        problems.extend(row_problems)
        if row.number:
            by_number[row.number].append((row, member))

    planned = []
    for number, entries in by_number.items():
        household, household_problems = _plan_household(number, entries, groups, existing)
        problems.extend(household_problems)
        if household is not None:
            planned.append(household)
    problems.sort(key=lambda p: p.line)  # stable: a line's problems keep their order
    return ImportPlan(households=planned, problems=problems)


def roster_template(session: Session, *, village_id: int) -> io.BytesIO:
    """An .xlsx to fill in: the import's columns in order and one example row (a head in the first group).

    The example imports as it is, so what a cadre types below it in the same shape imports too.
    """
    groups = [g.name for g in villages.groups(session, village_id)]
    workbook = Workbook(write_only=True)
    sheet = TextSheet(workbook, "花名册")
    for letter in "ABCDEFGHIJ":
        sheet.column_dimensions[letter].width = 14
    sheet.append([sheet.bold(c) for c in COLUMNS])
    with force_locale(ROSTER_LOCALE):
        sheet.append(
            (
                "001",
                groups[0] if groups else "一组",
                "王建华",
                str(Relation.HEAD.label),
                str(Gender.MALE.label),
                1970,
                "一组1号",
                "13800000001",
                str(HouseholdStatus.GENERAL.label),
                "是",
            )
        )
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def export_households(session: Session, *, village_id: int) -> io.BytesIO:
    """Every household of the village (moved-out ones too), one row per person, in the import's columns."""
    workbook = Workbook(write_only=True)
    sheet = TextSheet(workbook, "花名册")
    sheet.append(COLUMNS)
    stmt = (
        select(Household)
        .where(Household.village_id == village_id)
        .options(selectinload(Household.members), selectinload(Household.group))
        .order_by(Household.number)
    )
    with force_locale(ROSTER_LOCALE):
        for household in session.scalars(stmt):
            for member in household.members:
                head = member.relation == Relation.HEAD
                sheet.append(
                    (
                        household.number,
                        household.group.name,
                        member.name,
                        str(member.relation_label),
                        str(member.gender_label),
                        member.birth_year,
                        household.address if head else "",
                        household.phone if head else "",
                        str(household.status_label) if head else "",
                        "是" if member.party_member else "否",
                    )
                )
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def _plan_household(number, entries, groups, existing) -> tuple[PlannedHousehold | None, list[Problem]]:
    """The household of the rows sharing `number`, or None with every problem found in its rows."""
    rows = [row for row, _ in entries]
    problems = []
    if number in existing:
        problems += [Problem(r.line, str(_l("户号 %(n)s 在本村已存在。")) % {"n": number}) for r in rows]
    heads = [r for r in rows if _RELATIONS.get(r.relation) == Relation.HEAD]
    if len(heads) != 1:
        message = _l("户号 %(n)s 没有户主。") if not heads else _l("户号 %(n)s 有多名户主。")
        return None, problems + [Problem(r.line, str(message) % {"n": number}) for r in rows]
    head = heads[0]
    group = groups.get(head.group)
    if not head.group:
        problems.append(Problem(head.line, str(_l("户主行须填写村民小组。"))))
    elif group is None:
        problems.append(Problem(head.line, str(_l("没有名为“%(g)s”的村民小组。")) % {"g": head.group}))
    status = _STATUSES.get(head.status or str(HouseholdStatus.GENERAL.label))
    if status is None:
        problems.append(Problem(head.line, str(_l("户类别只能是贫困户、脱贫户或一般户。"))))
    for row in rows:
        if row is not head and any(
            getattr(row, f) and getattr(row, f) != getattr(head, f)
            for f in ("group", "address", "phone", "status")
        ):
            problems.append(Problem(row.line, str(_l("小组、住址、电话或户类别与户主行不一致。"))))
    data = HouseholdInput(
        number=number,
        group_id=group.id if group is not None else 0,
        address=head.address,
        phone=head.phone,
        status=status or HouseholdStatus.GENERAL.value,
    )
    problems += [
        Problem(head.line, error.message)
        for error in households.household_shape_problems(data)
        if error.field != "status"  # an unknown status is reported above, in the roster's words
    ]
    members = [member for _, member in entries]
    if problems or None in members:
        return None, problems
    ordered = sorted(members, key=lambda m: m.relation != Relation.HEAD)
    return PlannedHousehold(data, group.name, ordered, [r.line for r in rows]), []


def _member(row: RosterRow) -> tuple[MemberInput | None, list[Problem]]:
    """The member of one row, or None with every problem of the row's own fields."""
    problems = []
    reported = set()
    if missing := [c for c, f in zip(COLUMNS, _FIELDS, strict=True) if c in REQUIRED and not getattr(row, f)]:
        problems.append(Problem(row.line, str(_l("缺少必填项：%(cols)s")) % {"cols": "、".join(missing)}))
        reported |= {f for c, f in zip(COLUMNS, _FIELDS, strict=True) if c in missing}
    relation = _RELATIONS.get(row.relation)
    if relation is None and row.relation:
        problems.append(Problem(row.line, str(_l("无法识别的与户主关系：%(r)s")) % {"r": row.relation}))
        reported.add("relation")
    gender = _GENDERS.get(row.gender)
    if gender is None and row.gender:
        problems.append(Problem(row.line, str(_l("性别只能填“男”或“女”。"))))
        reported.add("gender")
    birth_year = None
    if row.birth_year:
        if row.birth_year.isdigit():
            birth_year = int(row.birth_year)
        else:
            problems.append(Problem(row.line, str(_l("出生年份应为四位数字。"))))
            reported.add("birth_year")
    party_member = _PARTY.get(row.party.lower())
    if party_member is None:
        problems.append(
            Problem(
                row.line,
                str(_l("党员一栏只能填“是”或“否”（或 Y/N、1/0、√），不能填“%(v)s”。")) % {"v": row.party},
            )
        )
    member = MemberInput(
        name=row.name,
        relation=relation or "",
        gender=gender or "",
        birth_year=birth_year,
        party_member=bool(party_member),
    )
    problems += [
        Problem(row.line, error.message)
        for error in households.member_problems(member)
        if error.field not in reported
    ]
    return (None if problems else member), problems


def _xlsx_rows(data: bytes, *, max_unpacked: int):
    """The first sheet's rows, each of its first `MAX_COLUMNS` cells (padded with None)."""
    xlsx_guard.check_archive(data, max_unpacked=max_unpacked)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except _XLSX_BROKEN as error:
        raise xlsx_guard.unreadable() from error
    try:
        sheet = workbook.worksheets[0]
        # the sheet's own <dimension> may claim a million rows and columns, or too few: read what is there
        sheet.reset_dimensions()
        yield from sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    except _XLSX_BROKEN as error:
        raise xlsx_guard.unreadable() from error
    finally:
        workbook.close()


_XLSX_BROKEN = (BadZipFile, InvalidFileException, KeyError, IndexError, ValueError, OSError, ParseError)


#: Said of a CSV whose bytes are neither UTF-8 nor GB18030, or decode to no column we know.
_UNKNOWN_ENCODING = _l(
    "文件编码无法识别，请另存为 UTF-8 编码的 CSV（Excel 中选“CSV UTF-8”），或上传 .xlsx 文件。"
)


def _csv_rows(data: bytes):
    """The rows of a CSV in UTF-8 (with or without BOM) or GB18030 (what Excel writes on a Chinese PC).

    Any byte string of a Big5 file (traditional Chinese) is also valid GB18030, only meaning other
    characters: such a file decodes, but into a header naming none of the roster's columns. A header
    like that, in a file that is not UTF-8, is reported as the encoding problem it is, not as missing
    columns.
    """
    try:
        text, guessed = data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        try:
            text, guessed = data.decode("gb18030"), True
        except UnicodeDecodeError:
            raise UnreadableFile(_UNKNOWN_ENCODING) from None
    if "\x00" in text:
        raise UnreadableFile(_l("这不是文本格式的 CSV 文件。"))
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None:
        return iter(())
    if guessed and not {csv_text(cell).strip() for cell in header} & set(COLUMNS):
        raise UnreadableFile(_UNKNOWN_ENCODING)
    return ([csv_text(cell) for cell in row[:MAX_COLUMNS]] for row in itertools.chain([header], rows))


def _column_positions(header) -> list[int | None]:
    names = [_cell_text(c) for c in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise UnreadableFile(_l("缺少必需的列：%(cols)s") % {"cols": "、".join(missing)})
    return [names.index(c) if c in names else None for c in COLUMNS]


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
