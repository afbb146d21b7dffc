"""The import pages: upload, preview (nothing written), confirm (everything or nothing), and their guards."""

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lovemart.db import db
from lovemart.models import AuditEvent, Household, Member
from lovemart.services import spreadsheets
from lovemart.web.photos import file_store
from tests.factories import make_two_villages
from tests.rosters import GOOD_ROWS, csv_bytes, read_xlsx, xlsx

UPLOAD_URL = "/households/import"
CONFIRM_URL = "/households/import/confirm"
TOKEN = re.compile(r"^/households/import/([0-9a-f]{32})$")


@pytest.fixture
def ids(app):
    # an app context of its own, so each request gets a fresh one, as in production
    with app.app_context():
        return make_two_villages()


def counts(app, village_id=None) -> tuple[int, int, int]:
    """Households and members (of one village, or all) and audit rows, read in a fresh app context."""
    with app.app_context():
        households = select(func.count()).select_from(Household)
        members = select(func.count()).select_from(Member)
        if village_id is not None:
            households = households.where(Household.village_id == village_id)
            members = members.where(Member.village_id == village_id)
        return (
            db.session.scalar(households),
            db.session.scalar(members),
            db.session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def upload(client, data: bytes, filename: str = "花名册.xlsx"):
    return client.post(
        UPLOAD_URL,
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def upload_token(client, data: bytes, filename: str = "花名册.xlsx") -> str:
    response = upload(client, data, filename)
    assert response.status_code == 302, response.get_data(as_text=True)
    match = TOKEN.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def test_upload_page_lists_the_columns(login, ids):
    response = login("a-admin").get(UPLOAD_URL)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "导入花名册" in page
    assert "户号，村民小组，姓名，与户主关系，性别，出生年份，住址，电话，户类别" in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page


def test_good_file_previews_then_imports_on_confirm(app, login, ids):
    client = login("a-admin")
    before = counts(app, ids["a"])

    token = upload_token(client, xlsx(GOOD_ROWS))
    preview = client.get(f"{UPLOAD_URL}/{token}")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "检查通过：共 2 户、7 人。" in page
    assert "王建华、李秀英、王小明、刘芳、王乐乐" in page  # the head first
    assert "赵大山、孙桂兰" in page and "贫困户" in page
    assert f'value="{token}"' in page
    assert counts(app, ids["a"]) == before  # the preview writes nothing

    confirmed = client.post(CONFIRM_URL, data={"upload": token})
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].endswith("/households/")
    listing = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "已导入 2 户。" in listing
    assert "王建华" in listing and "赵大山" in listing

    households, members, _ = counts(app, ids["a"])
    assert (households, members) == (before[0] + 2, before[1] + 7)
    assert counts(app, ids["b"])[:2] == (1, 1)  # the other village is untouched
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "household:household:import"))
        assert event.data["households"] == 2 and event.data["people"] == 7
        assert event.actor_name == "a-admin" and event.village_id == ids["a"]


def test_csv_in_gb18030_goes_through_the_same_flow(app, login, ids):
    client = login("a-admin")
    token = upload_token(client, csv_bytes(GOOD_ROWS, encoding="gb18030"), "roster.csv")
    assert "检查通过：共 2 户、7 人。" in client.get(f"{UPLOAD_URL}/{token}").get_data(as_text=True)
    client.post(CONFIRM_URL, data={"upload": token})
    assert counts(app, ids["a"])[0] == 3


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_written(app, login, ids):
    client = login("a-admin")
    rows = [
        *GOOD_ROWS,
        ["003", "九组", "韩梅", "户主", "女", "1980", "", "", ""],  # line 9
        ["003", "", "韩雷", "堂兄", "男", "1982", "", "", ""],  # line 10
        ["004", "一组", "马丽", "配偶", "X", "1980", "", "", ""],  # line 11
    ]
    before = counts(app)

    token = upload_token(client, xlsx(rows))
    page = client.get(f"{UPLOAD_URL}/{token}").get_data(as_text=True)

    assert "发现 4 处错误，请修改文件后重新上传。未导入任何数据。" in page
    problems = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td></tr>', page)
    assert [line for line, _ in problems] == ["9", "10", "11"]  # one table row per line of the file
    messages = dict(problems)
    assert "九组" in messages["9"]
    assert "无法识别的与户主关系：堂兄" in messages["10"]
    # every problem of the line, not only its first
    assert messages["11"] == "性别只能填“男”或“女”。；户号 004 没有户主。"
    assert "确认导入" not in page  # no confirm button for a bad file
    assert counts(app) == before

    # a hand-made confirm of the bad upload is refused as well, with a message, and writes nothing
    refused = client.post(
        CONFIRM_URL, data={"upload": token}, headers={"Referer": f"http://localhost{UPLOAD_URL}"}
    )
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith(UPLOAD_URL)
    assert "导入文件有 4 处错误，未导入任何数据。" in client.get(UPLOAD_URL).get_data(as_text=True)
    assert counts(app) == before


#: A roster saved by a traditional-Chinese (Big5) Excel: valid GB18030 bytes too, meaning other characters.
BIG5 = csv_bytes(
    [["001", "一組", "王建華", "戶主", "男", "1970", "", "", ""]],
    header=["戶號", "村民小組", "姓名", "與戶主關係", "性別", "出生年份", "住址", "電話", "戶類別"],
    encoding="big5",
)

UNREADABLE = [
    ("roster.xlsx", b"PK\x03\x04 not really a workbook", "无法读取该 Excel 文件"),
    ("roster.csv", b"", "文件是空的"),
    ("roster.csv", csv_bytes([["1", "王"]], header=["户号", "姓名"]), "缺少必需的列：与户主关系、性别"),
    ("roster.csv", b"\x00\x01\x02binary", "这不是文本格式的 CSV 文件"),
    ("roster.csv", BIG5, "文件编码无法识别，请另存为 UTF-8 编码的 CSV"),
    ("roster.csv", b"\xff\xfe\xff\xfe", "文件编码无法识别，请另存为 UTF-8 编码的 CSV"),
]


def test_big5_file_is_named_an_encoding_problem(app, login, ids):
    page = upload(login("a-admin"), BIG5, "roster.csv").get_data(as_text=True)
    assert "文件编码无法识别，请另存为 UTF-8 编码的 CSV（Excel 中选“CSV UTF-8”），或上传 .xlsx 文件。" in page
    assert "缺少必需的列" not in page


def test_template_is_offered_on_the_upload_page_and_passes_the_preview(app, login, ids):
    client = login("a-admin")
    page = client.get(UPLOAD_URL).get_data(as_text=True)
    assert 'href="/households/import/template.xlsx"' in page and "下载模板" in page

    response = client.get("/households/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    template = response.get_data()
    header, example = read_xlsx(template)
    assert header == tuple(spreadsheets.COLUMNS) and example[2] == "王建华"

    token = upload_token(client, template, "模板.xlsx")
    preview = client.get(f"{UPLOAD_URL}/{token}").get_data(as_text=True)
    assert "检查通过：共 1 户、1 人。" in preview and "王建华" in preview


@pytest.mark.parametrize("username", ["a-supervisor", "county"])
def test_template_is_for_those_who_import(login, ids, username):
    assert login(username).get("/households/import/template.xlsx").status_code == 403


def stored_uploads(app) -> list:
    """Every kept roster as (village id, token, bytes), in the store the app is configured with."""
    with app.app_context():
        return list(file_store("roster").files())


def test_unreadable_file_is_refused_on_the_upload_form_and_nothing_is_kept(app, login, ids):
    client = login("a-admin")
    for filename, data, message in UNREADABLE:
        response = upload(client, data, filename)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, message
        assert message in page and "上传并检查" in page
        assert "确认导入" not in page
    assert stored_uploads(app) == []
    assert counts(app, ids["a"])[0] == 1


def test_the_file_is_read_once_at_the_upload_and_only_its_rows_are_kept(app, login, ids, monkeypatch):
    client = login("a-admin")
    token = upload_token(client, xlsx(GOOD_ROWS), "花名册.xlsx")
    ((village, name, kept),) = stored_uploads(app)
    assert (village, name) == (ids["a"], token) and b"PK" not in kept
    if app.config["FILE_STORAGE"] == "directory":
        path = Path(app.instance_path) / "uploads" / str(village) / f"{token}.json"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700"

    def no_parsing(*args, **kwargs):
        raise AssertionError("the preview and the confirmation must not read the file again")

    monkeypatch.setattr(spreadsheets, "read_roster", no_parsing)
    monkeypatch.setattr(spreadsheets, "load_workbook", no_parsing)
    assert "检查通过：共 2 户、7 人。" in client.get(f"{UPLOAD_URL}/{token}").get_data(as_text=True)
    assert client.post(CONFIRM_URL, data={"upload": token}).status_code == 302
    assert counts(app, ids["a"])[0] == 3
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "household:household:import"))
        assert event.data["file"] == "花名册.xlsx"


def test_wrong_extension_or_no_file_is_refused_on_the_form(app, login, ids):
    client = login("a-admin")
    response = upload(client, csv_bytes(GOOD_ROWS), "roster.xls")
    assert response.status_code == 200
    assert "只支持 .xlsx 或 .csv 文件。" in response.get_data(as_text=True)

    response = client.post(UPLOAD_URL, data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "请选择要导入的文件。" in response.get_data(as_text=True)
    assert counts(app, ids["a"])[0] == 1


def test_upload_of_village_a_is_404_for_village_b(app, login, ids):
    a_client, b_client = login("a-admin"), login("b-admin")
    token = upload_token(a_client, xlsx(GOOD_ROWS))
    before = counts(app)

    assert b_client.get(f"{UPLOAD_URL}/{token}").status_code == 404
    assert b_client.post(CONFIRM_URL, data={"upload": token}).status_code == 404
    assert counts(app) == before

    # the owner still can
    assert a_client.get(f"{UPLOAD_URL}/{token}").status_code == 200
    assert a_client.post(CONFIRM_URL, data={"upload": token}).status_code == 302
    assert counts(app, ids["a"])[0] == 3 and counts(app, ids["b"])[0] == 1


BAD_TOKENS = [
    "0123456789abcdef0123456789abcdef",  # well-formed, never uploaded
    "0123456789abcdef0123456789abcdef.json",
    "0123456789ABCDEF0123456789ABCDEF",
    "short.xlsx",
    "..%2F..%2Fsecret_key",
]


def test_unknown_or_malformed_upload_is_404(app, login, ids):
    client = login("a-admin")
    for token in BAD_TOKENS:
        response = client.get(f"{UPLOAD_URL}/{token}")
        assert response.status_code == 404, token
        assert "找不到该页面或记录。" in response.get_data(as_text=True)
        assert client.post(CONFIRM_URL, data={"upload": token.replace("%2F", "/")}).status_code == 404, token


def test_confirm_without_a_token_goes_back_to_the_upload_page(app, login, ids):
    response = login("a-admin").post(CONFIRM_URL, data={})
    assert response.status_code == 302 and response.headers["Location"].endswith(UPLOAD_URL)


def test_file_over_the_size_limit_gets_413_in_chinese(app, login, ids):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    client = login("a-admin")
    response = upload(client, csv_bytes(GOOD_ROWS * 50), "big.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "上传的文件太大。" in page
    assert "<html" in page.lower()
    assert counts(app, ids["a"])[0] == 1


@pytest.mark.parametrize("username", ["a-supervisor", "a-leader", "county"])
def test_read_only_roles_may_not_import(app, login, ids, username):
    owner = login("a-admin")
    token = upload_token(owner, xlsx(GOOD_ROWS))
    client = login(username)

    assert client.get(UPLOAD_URL).status_code == 403
    assert upload(client, xlsx(GOOD_ROWS)).status_code == 403
    assert client.get(f"{UPLOAD_URL}/{token}").status_code == 403
    response = client.post(CONFIRM_URL, data={"upload": token})
    assert response.status_code == 403
    assert "您没有权限执行此操作。" in response.get_data(as_text=True)
    assert counts(app, ids["a"])[0] == 1


def test_anonymous_is_sent_to_sign_in(client, ids):
    response = client.get(UPLOAD_URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(CONFIRM_URL, data={"upload": "x"}).status_code == 302


def test_confirming_twice_imports_once(app, login, ids):
    client = login("a-admin")
    token = upload_token(client, xlsx(GOOD_ROWS))
    assert client.post(CONFIRM_URL, data={"upload": token}).status_code == 302
    after_first = counts(app)

    second = client.post(CONFIRM_URL, data={"upload": token})

    assert second.status_code == 404  # the upload was discarded by the first confirm
    assert counts(app) == after_first
    assert counts(app, ids["a"])[0] == 3


def test_confirming_a_second_upload_of_the_same_file_is_refused(app, login, ids):
    """Two tabs, the same file uploaded twice: the second confirm finds the households already there."""
    client = login("a-admin")
    first, second = upload_token(client, xlsx(GOOD_ROWS)), upload_token(client, xlsx(GOOD_ROWS))
    client.post(CONFIRM_URL, data={"upload": first})
    after_first = counts(app)

    refused = client.post(CONFIRM_URL, data={"upload": second})

    assert refused.status_code == 302
    assert "导入文件有 7 处错误，未导入任何数据。" in client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert counts(app) == after_first
    # and its preview now says why
    assert "户号 001 在本村已存在。" in client.get(f"{UPLOAD_URL}/{second}").get_data(as_text=True)


def test_hostile_workbooks_are_refused_at_the_upload_with_a_clear_sentence(app, login, ids, monkeypatch):
    from tests.services.test_xlsx_guard import STRANGE, TOO_BIG, laughs, rebuilt, with_sheet_data

    parsed = []
    monkeypatch.setattr(spreadsheets, "load_workbook", lambda *a, **k: parsed.append(a))
    client = login("a-admin")
    hostile = {
        "billion laughs": (laughs(), STRANGE),
        "10 MB comment": (with_sheet_data(before=f"<!--{'x' * 10 * 2**20}-->"), STRANGE),
        "100 MB unpacked": (rebuilt(None, chunks=(b" " * 2**20 for _ in range(100))), TOO_BIG),
    }
    for name, (data, message) in hostile.items():
        response = upload(client, data)
        assert response.status_code == 200, name
        assert message in response.get_data(as_text=True), name
    assert parsed == []
    assert stored_uploads(app) == []
    assert counts(app, ids["a"])[0] == 1
