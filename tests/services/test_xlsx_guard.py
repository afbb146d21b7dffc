"""Hostile .xlsx rosters are refused with a clear sentence before the XML parser ever sees them.

The files are built here: small on disk, huge unpacked; a 10 MB comment; billion laughs; a tag of megabytes;
a million rows; sixteen thousand columns. No test measures time: each asserts that openpyxl was not invoked,
how many bytes were decompressed, or how wide the rows read were.
"""

import io
import re
import struct
import zipfile

import pytest

from lovemart.services import spreadsheets, xlsx_guard
from lovemart.services.errors import UnreadableFile
from tests.rosters import GOOD_ROWS, xlsx

SHEET = "xl/worksheets/sheet1.xml"
MB = 2**20
LIMIT = spreadsheets.UNPACKED_BASE + spreadsheets.UNPACKED_PER_ROW * spreadsheets.MAX_ROWS
TOO_BIG = "该 Excel 文件解压后超过"
STRANGE = "无法读取该 Excel 文件：其中含有表格软件不会写入的内容"
BROKEN = "无法读取该 Excel 文件，请确认它是 .xlsx 格式。"
#: Nine levels of ten: "&lol9;" expands to a billion "lol"s.
LAUGHS = "<!DOCTYPE lolz [" + '<!ENTITY lol0 "lol">'
for _level in range(1, 10):
    LAUGHS += f'<!ENTITY lol{_level} "' + f"&lol{_level - 1};" * 10 + '">'
LAUGHS += "]>"


def good_sheet() -> str:
    with zipfile.ZipFile(io.BytesIO(xlsx(GOOD_ROWS))) as archive:
        return archive.read(SHEET).decode()


def rebuilt(sheet, *, chunks=None) -> bytes:
    """The good roster with its sheet replaced by `sheet` (str or bytes), or streamed from `chunks`."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx(GOOD_ROWS))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, source.read(info))
            elif chunks is None:
                target.writestr(SHEET, sheet.encode() if isinstance(sheet, str) else sheet)
            else:
                with target.open(SHEET, "w") as stream:
                    for chunk in chunks:
                        stream.write(chunk)
    return out.getvalue()


def with_sheet_data(before: str = "", rows: str = "", attributes: str = "") -> bytes:
    """The good sheet with `before` ahead of <sheetData> and `rows` appended to it."""
    sheet = good_sheet().replace("<sheetData>", f"{before}<sheetData{attributes}>", 1)
    return rebuilt(sheet.replace("</sheetData>", f"{rows}</sheetData>", 1))


def declared_sizes(data: bytes, size: int) -> bytes:
    """The archive with every size field of its sheet (local header and central directory) set to `size`."""
    data = bytearray(data)
    name = SHEET.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        for match in re.finditer(re.escape(signature), data):
            start = match.start()
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, start + offset, size)
    return bytes(data)


@pytest.fixture
def spy(monkeypatch):
    """Counts calls of openpyxl's load_workbook and the bytes zipfile hands out while decompressing."""
    seen = {"parsed": 0, "bytes": 0}
    real_load, real_read = spreadsheets.load_workbook, zipfile.ZipExtFile.read

    def load(*args, **kwargs):
        seen["parsed"] += 1
        return real_load(*args, **kwargs)

    def read(self, n=-1):
        data = real_read(self, n)
        seen["bytes"] += len(data)
        return data

    monkeypatch.setattr(spreadsheets, "load_workbook", load)
    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return seen


def refusal(data: bytes) -> str:
    with pytest.raises(UnreadableFile) as refused:
        spreadsheets.read_roster("roster.xlsx", data)
    return refused.value.message


def test_the_good_roster_passes_the_guard_and_is_parsed(spy):
    assert len(spreadsheets.read_roster("roster.xlsx", xlsx(GOOD_ROWS))) == len(GOOD_ROWS)
    assert spy["parsed"] == 1


def test_small_on_disk_huge_unpacked_is_refused_on_the_declared_size(spy):
    bomb = rebuilt(None, chunks=(b" " * MB for _ in range(LIMIT // MB + 8)))
    assert len(bomb) < 200_000  # a small upload
    spy.update(parsed=0, bytes=0)
    assert TOO_BIG in refusal(bomb)
    assert spy == {"parsed": 0, "bytes": 0}  # refused before a single byte was unpacked


def test_sizes_that_lie_are_caught_while_unpacking_and_unpacking_stops(spy):
    bomb = declared_sizes(rebuilt(None, chunks=(b" " * MB for _ in range(3 * LIMIT // MB))), LIMIT - MB)
    spy.update(parsed=0, bytes=0)
    assert refusal(bomb) in (BROKEN, f"{TOO_BIG} {LIMIT // MB} MB，请删除多余内容或分批导入。")
    assert spy["parsed"] == 0
    assert spy["bytes"] <= LIMIT + xlsx_guard.CHUNK


def test_the_unpacked_limit_also_holds_counting_every_part(spy, monkeypatch):
    monkeypatch.setattr(spreadsheets, "UNPACKED_BASE", 8000)
    monkeypatch.setattr(spreadsheets, "UNPACKED_PER_ROW", 0)
    message = refusal(xlsx(GOOD_ROWS))  # ~15 KB unpacked, in nine parts of a few KB each
    assert message == "该 Excel 文件解压后超过 0 MB，请删除多余内容或分批导入。"
    assert spy["parsed"] == 0


def laughs() -> bytes:
    sheet = '<?xml version="1.0" encoding="UTF-8"?>' + LAUGHS + good_sheet()
    return rebuilt(sheet.replace("<t>王建华</t>", "<t>&lol9;</t>", 1))


@pytest.mark.parametrize(
    "name, data",
    [
        ("10 MB comment", lambda: with_sheet_data(before=f"<!--{'x' * (10 * MB)}-->")),
        ("billion laughs", lambda: laughs()),
        (
            "CDATA",
            lambda: with_sheet_data(
                rows="<row r='9'><c r='A9' t='inlineStr'><is><t><![CDATA[x]]></t></is></c></row>"
            ),
        ),
        ("processing instruction", lambda: with_sheet_data(before="<?evil x?>")),
        ("2 MB attribute", lambda: with_sheet_data(attributes=f' x="{"y" * (2 * MB)}"')),
        ("2 MB attribute of '>'", lambda: with_sheet_data(attributes=f' x="{">" * (2 * MB)}"')),
        (
            "a tag of 300,000 attributes",
            lambda: with_sheet_data(attributes="".join(f' a{n}="1"' for n in range(300_000))),
        ),
        (
            "UTF-16 part",
            lambda: rebuilt(('<?xml version="1.0" encoding="UTF-16"?>' + good_sheet()).encode("utf-16")),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_xml_no_spreadsheet_program_writes_is_refused_before_parsing(spy, name, data):
    bomb = data()
    assert STRANGE in refusal(bomb), name
    assert spy["parsed"] == 0, name


def test_billion_laughs_in_shared_strings_is_refused_too(spy):
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx(GOOD_ROWS))) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0"?>{LAUGHS}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            "<si><t>&lol9;</t></si></sst>",
        )
    assert STRANGE in refusal(out.getvalue())
    assert spy["parsed"] == 0


def test_a_million_blank_rows_stop_at_twice_the_row_limit(spy, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 50)
    far = '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    blank = "".join(f'<row r="{n}"/>' for n in range(20, 200))
    for rows in (far, blank):
        assert refusal(with_sheet_data(rows=rows)) == "文件超过 100 行（含空行），请删除空行或分批导入。"


def test_sixteen_thousand_columns_or_a_lying_dimension_read_only_the_first_columns(spy, monkeypatch):
    widths = []
    real = spreadsheets._column_positions

    def positions(header):
        widths.append(len(header))
        return real(header)

    monkeypatch.setattr(spreadsheets, "_column_positions", positions)
    far = '<row r="20"><c r="XFD20" t="inlineStr"><is><t>远</t></is></c></row>'
    wide = with_sheet_data(rows=far)
    claim = good_sheet().replace('<dimension ref="A1:J8" />', '<dimension ref="A1:XFD1048576" />')
    assert "XFD1048576" in claim
    lying = rebuilt(claim)
    for data in (wide, lying):
        assert len(spreadsheets.read_roster("roster.xlsx", data)) == len(GOOD_ROWS)
    assert widths == [spreadsheets.MAX_COLUMNS] * 2


def test_a_dimension_that_claims_too_few_rows_loses_none():
    claim = good_sheet().replace('<dimension ref="A1:J8" />', '<dimension ref="A1:J2" />')
    assert 'ref="A1:J2"' in claim
    short = rebuilt(claim)
    assert len(spreadsheets.read_roster("roster.xlsx", short)) == len(GOOD_ROWS)


def test_the_unpacked_allowance_fits_a_full_roster_of_long_values():
    rows = [
        [
            f"{n:05d}",
            "一组",
            f"欧阳某某{n}",
            "户主",
            "男",
            "1970",
            f"英旺乡啊道村一组{n}号院",
            "13800000001",
            "脱贫户",
        ]
        for n in range(500)
    ]
    with zipfile.ZipFile(io.BytesIO(xlsx(rows))) as archive:
        per_row = archive.getinfo(SHEET).file_size / len(rows)
    assert per_row * 1.2 < spreadsheets.UNPACKED_PER_ROW


def test_a_csv_row_of_a_million_columns_is_cut(spy):
    header = ",".join(spreadsheets.COLUMNS)
    row = "001,一组,王建华,户主,男,1970,,,一般户" + "," * 1_000_000 + "x"
    (read,) = spreadsheets.read_roster("r.csv", f"{header}\n{row}\n".encode())
    assert read.name == "王建华"
