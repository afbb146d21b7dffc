"""Chinese first, English on request: the language switch, translated pages and messages, and a catalogue
that keeps up with the code (every msgid extracted from lovemart/ and templates/ is translated in `en`)."""

import io
import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale
from sqlalchemy import select

from lovemart.authz import Role
from lovemart.db import db
from lovemart.models.households import Member, Relation
from tests.factories import make_household, make_user, make_village

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lovemart" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
#: The keywords of the documented command: pybabel extract -F babel.cfg -k _l -k lazy_gettext ...
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _read_en():
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue():
    """Flask-Babel reads the .mo, which is not in git (`make translations` builds it). Compile it here too,
    so a plain `pytest` run tests the current .po; written atomically, and only when it changed."""
    buffer = io.BytesIO()
    write_mo(buffer, _read_en())
    mo = EN_PO.with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != buffer.getvalue():
        partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        partial.write_bytes(buffer.getvalue())
        os.replace(partial, mo)


def _html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


# --- The language switch ---------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _html_lang(response) == "zh-CN"
    assert "登录" in html
    assert "Sign in" not in html
    assert 'href="/lang/en' in html  # the footer offers English


def test_switching_to_english_and_back(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"

    english = client.get("/login")
    html = english.get_data(as_text=True)
    assert _html_lang(english) == "en"
    assert "Sign in" in html
    assert "Username" in html and "Password" in html
    assert "登录" not in html
    assert 'href="/lang/zh_Hans_CN' in html  # the footer offers Chinese back

    client.get("/lang/zh_Hans_CN?next=/login")
    chinese = client.get("/login")
    assert _html_lang(chinese) == "zh-CN"
    assert "登录" in chinese.get_data(as_text=True)


def test_unknown_language_code_is_ignored(client):
    client.get("/lang/en")
    response = client.get("/lang/xx?next=/login")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert session["locale"] == "en"  # unchanged
    assert _html_lang(client.get("/login")) == "en"


def test_unknown_language_code_keeps_the_default(client):
    client.get("/lang/fr")
    with client.session_transaction() as session:
        assert "locale" not in session
    assert _html_lang(client.get("/login")) == "zh-CN"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example/login",
        "https:/evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ],
)
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil.example" not in location
    with client.session_transaction() as session:
        assert session["locale"] == "en"  # the switch itself still happened


# --- English pages and messages ----------------------------------------------------------------------


@pytest.fixture
def village(app):
    with app.app_context():
        village_id = make_village("a", groups=("一组",))
        household_id = make_household(village_id, head="张三", others=("张小红",), number="A001")
        make_user("a-admin", Role.ADMIN, "a")
    return {"village": village_id, "household": household_id}


def test_households_list_in_english(login, village):
    client = login("a-admin")
    client.get("/lang/en")
    response = client.get("/households/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _html_lang(response) == "en"
    for text in ("Households", "Household roster", "Head of household", "General household", "Households: 1"):
        assert text in html, text
    assert "张三" in html  # data stays as entered
    for chinese in ("农户花名册", "户主", "一般户", "查找"):
        assert chinese not in html, chinese


def test_household_detail_in_english(login, village):
    client = login("a-admin")
    client.get("/lang/en")
    html = client.get(f"/households/{village['household']}").get_data(as_text=True)
    for text in ("Members (2)", "Relation to head", "Child", "Registered", "Back to roster"):
        assert text in html, text


def test_domain_error_flash_in_english(app, login, village):
    """A refusal raised by a service (DomainError) is flashed in the reader's language."""
    with app.app_context():
        head_id = db.session.scalar(
            select(Member.id).where(
                Member.household_id == village["household"], Member.relation == Relation.HEAD
            )
        )
        db.session.remove()
    client = login("a-admin")
    url = f"/households/{village['household']}/members/{head_id}/delete"

    chinese = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "不能删除户主，请先将其他成员设为户主。" in chinese

    client.get("/lang/en")
    english = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "The head of household cannot be removed; make another member the head first." in english
    assert "不能删除户主" not in english


def test_wrong_password_message_in_english(client):
    client.get("/lang/en")
    response = client.post("/login", data={"username": "nobody", "password": "wrong-password"})
    html = response.get_data(as_text=True)
    assert "Incorrect username or password." in html


def test_template_strings_escape_their_values_and_read_percent_signs(app):
    source = "{{ _('户主：%(name)s', name='<b>') }}|{{ _('100%%') }}|{{ _('分') }}"
    with app.test_request_context("/"):
        assert render_template_string(source) == "户主：&lt;b&gt;|100%|分"


def test_template_strings_follow_a_forced_locale(app):
    with app.test_request_context("/"):
        with force_locale("en"):
            assert render_template_string("{{ _('分') }}") == "points"
        assert render_template_string("{{ _('分') }}") == "分"


# --- WTForms' own validation messages follow the locale -----------------------------------------------


def test_wtforms_messages_are_chinese_by_default(client):
    html = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert html.count("该字段是必填字段。") == 2
    assert "This field is required." not in html


def test_wtforms_messages_are_english_when_chosen(client):
    client.get("/lang/en")
    html = client.post("/login", data={"username": "", "password": ""}).get_data(as_text=True)
    assert html.count("This field is required.") == 2
    assert "该字段是必填字段" not in html


def test_wtforms_length_message_is_chinese(client):
    html = client.post("/login", data={"username": "x" * 65, "password": "p"}).get_data(as_text=True)
    assert "字段长度不能超过 64 个字符。" in html


# --- The catalogue -----------------------------------------------------------------------------------


def test_every_english_msgid_is_translated():
    catalog = _read_en()
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated in {EN_PO.relative_to(ROOT)}:\n  " + "\n  ".join(untranslated)
    assert not fuzzy, f"fuzzy in {EN_PO.relative_to(ROOT)}:\n  " + "\n  ".join(fuzzy)


def test_english_placeholders_match_the_chinese():
    """Babel's checkers: python-format placeholders of each msgstr are those of its msgid."""
    problems = [(m.id, [str(e) for e in errors]) for m, errors in _read_en().check()]
    assert problems == []


def test_catalogue_covers_every_string_in_the_code():
    """Extract like `pybabel extract -F babel.cfg -k _l -k lazy_gettext` and require each msgid in the .po.

    When this fails after adding a string: follow the commands at the top of babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        extracted.setdefault(msgid, f"{filename}:{lineno}")
    assert len(extracted) > 100, "extraction found almost nothing; is babel.cfg right?"
    catalog = _read_en()
    missing = {msgid: where for msgid, where in extracted.items() if msgid not in catalog}
    assert not missing, f"{len(missing)} string(s) missing from {EN_PO.relative_to(ROOT)}:\n" + "\n".join(
        f"  {where}: {msgid}" for msgid, where in sorted(missing.items(), key=lambda item: item[1])
    )


def test_extraction_skips_the_virtualenv_and_tests():
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, _options = parse_mapping_cfg(f)
    patterns = [pattern for pattern, _method in method_map]
    assert patterns == ["lovemart/**.py", "templates/**.html"]
