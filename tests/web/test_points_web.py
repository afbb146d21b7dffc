"""The ledger pages as the village's staff use them: the ledger list and its filters, awarding and deducting
for one household (with refusals, evidence photos and double clicks), batch awards, reversals, the
supervisor's approvals and the administrator's queue of villagers' applications; who may do what; and
another village's entries and claims answering 404."""

import io
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from lovemart.db import db, unit_of_work, utcnow
from lovemart.models import AuditEvent, LedgerEntry, PointsAccount, PointsClaim, VillagerGroup
from lovemart.services import points
from lovemart.services.points import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        a = ids["a"]
        ids["h1"], _ = carded_household(a, head="王大山", number="01001", group="一组")
        ids["h2"], _ = carded_household(a, head="李小河", number="01002", group="一组")
        ids["h3"], _ = carded_household(a, head="赵三", number="02001", group="二组")
        ids["hb"], _ = carded_household(ids["b"], head="钱八", number="01001")
        ids["labour"] = make_rule(a, "义务劳动（全天）", "volunteer", 10)
        ids["meeting"] = make_rule(a, "参加村组会议", "collective", 2, cap_per_month=4)
        ids["litter"] = make_rule(a, "乱倒垃圾", "deduction", -5)
        ids["heavy"] = make_rule(a, "损坏公物", "deduction", -150)
        ids["debt"] = make_rule(a, "违反村规民约", "deduction", -150, allow_negative=True)
        ids["honour"] = make_rule(a, "评为“五好家庭”", "honour", 50, requires_approval=True)
        ids["old"] = make_rule(a, "旧细则", "collective", 3)
        with unit_of_work() as session:
            from lovemart.services import rules

            rules.set_active(session, actor=None, village_id=a, rule_id=ids["old"], active=False)
        ids["b_rule"] = make_rule(ids["b"], "b村义务劳动", "volunteer", 10)
        ids["group1"] = db.session.scalar(
            select(VillagerGroup.id).where(VillagerGroup.village_id == a, VillagerGroup.name == "一组")
        )
        return ids


@pytest.fixture
def login(cached_login):
    return cached_login


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def balance(app, household_id) -> int:
    with fresh_session(app) as session:
        return session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))


def entries(app, **where) -> list[LedgerEntry]:
    with fresh_session(app) as session:
        rows = session.scalars(select(LedgerEntry).filter_by(**where).order_by(LedgerEntry.seq)).all()
        session.expunge_all()
        return rows


def award(app, village_id, household_id, rule_id, **kwargs):
    with app.app_context(), unit_of_work() as session:
        recorded = points.award(
            session, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id, **kwargs
        )
        return recorded.entry.id if recorded.entry else recorded.claim.id


def errors(html: str) -> list[str]:
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash flash-success"[^>]*>([^<]*)<', html)


def request_key(html: str) -> str:
    return re.search(r'name="request_key" type="hidden" value="([^"]+)"', html).group(1)


def tbody(html: str) -> str:
    return html[html.index("<tbody>") : html.index("</tbody>")]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, format="PNG")
    return out.getvalue()


# ---- the ledger list ------------------------------------------------------------------------------------


def test_ledger_lists_the_villages_entries_newest_first(app, admin, ids):
    award(app, ids["a"], ids["h1"], ids["labour"], note="修村道")
    award(app, ids["a"], ids["h2"], ids["litter"])
    award(app, ids["b"], ids["hb"], ids["b_rule"])
    html = admin.get("/points/").get_data(as_text=True)
    body = tbody(html)
    assert "共 5 条记录" in html  # three base entries and two of a's rules; b's are not listed
    assert body.index("乱倒垃圾") < body.index("义务劳动（全天）") < body.index("发卡基础积分")
    assert "01001 王大山" in body and "修村道" in body and "+10" in body and "-5" in body
    assert "钱八" not in body and "b村义务劳动" not in body


def test_ledger_filters_by_household_rule_kind_and_period(app, admin, ids):
    award(app, ids["a"], ids["h1"], ids["labour"])
    award(app, ids["a"], ids["h2"], ids["labour"])
    award(app, ids["a"], ids["h2"], ids["litter"])
    by_name = tbody(admin.get("/points/?q=李小河").get_data(as_text=True))
    assert "李小河" in by_name and "王大山" not in by_name
    by_number = tbody(admin.get("/points/?q=01001").get_data(as_text=True))
    assert "王大山" in by_number and "李小河" not in by_number
    by_rule = admin.get(f"/points/?rule={ids['labour']}").get_data(as_text=True)
    assert "共 2 条记录" in by_rule and "乱倒垃圾" not in tbody(by_rule)
    by_kind = admin.get("/points/?kind=deduction").get_data(as_text=True)
    assert "共 1 条记录" in by_kind
    today = utcnow().astimezone(VILLAGE_TIMEZONE).date()
    assert "共 6 条记录" in admin.get(f"/points/?date_from={today}&date_to={today}").get_data(as_text=True)
    tomorrow = today + timedelta(days=1)
    assert "共 0 条记录" in admin.get(f"/points/?date_from={tomorrow}").get_data(as_text=True)
    backwards = admin.get(f"/points/?date_from={tomorrow}&date_to={today}").get_data(as_text=True)
    assert "结束日期不能早于开始日期。" in backwards and "共 6 条记录" in backwards


def test_ledger_pages(app, admin, ids):
    app.config["PAGE_SIZE"] = 2
    for _ in range(3):
        award(app, ids["a"], ids["h1"], ids["labour"])
    first = admin.get("/points/").get_data(as_text=True)
    assert "第 1 / 3 页" in first and "/points/?page=2" in first
    assert "第 3 / 3 页" in admin.get("/points/?page=3").get_data(as_text=True)


def test_ledger_page_cost_does_not_grow_with_the_ledger(app, admin, ids, query_counter):
    app.config["PAGE_SIZE"] = 5

    def cost():
        with query_counter() as statements:
            assert admin.get("/points/?q=王").status_code == 200
        return len(statements)

    for _ in range(5):
        award(app, ids["a"], ids["h1"], ids["labour"])
    before = cost()
    for _ in range(25):
        award(app, ids["a"], ids["h2"], ids["labour"])
        award(app, ids["a"], ids["h1"], ids["labour"])
    assert cost() == before


def test_every_reader_sees_the_ledger_but_only_the_administrator_writes(app, login, ids):
    for username in ("a-admin", "a-supervisor", "a-leader", "county"):
        assert login(username).get("/points/").status_code == 200, username
    for username in ("a-supervisor", "a-leader", "county"):
        client = login(username)
        assert client.get("/points/award").status_code == 403, username
        assert client.get("/points/batch").status_code == 403
        data = {"household_id": ids["h1"], "rule_id": ids["labour"], "request_key": "k" + username[:3]}
        assert client.post("/points/award", data=data).status_code == 403
    assert (
        "记分"
        not in login("a-supervisor")
        .get("/points/")
        .get_data(as_text=True)
        .split("<main")[1]
        .split("</h1>")[1][:200]
    )
    assert login("sysadmin").get("/points/").status_code == 403
    assert len(entries(app, kind="award")) == 0


# ---- awarding one household -----------------------------------------------------------------------------


def test_award_page_offers_card_holders_and_active_rules_grouped(app, admin, ids):
    html = admin.get("/points/award").get_data(as_text=True)
    assert "01001 王大山（一组，余额 100 分）" in html and "02001 赵三" in html
    assert "钱八" not in html and "b村义务劳动" not in html
    assert '<optgroup label="义务劳动">' in html and "义务劳动（全天）（+10 分）" in html
    assert "旧细则" not in html  # retired
    assert len(request_key(html)) >= 20
    assert request_key(html) != request_key(admin.get("/points/award").get_data(as_text=True))


def test_searching_narrows_the_household_list_and_picks_a_single_match(app, admin, ids):
    html = admin.get("/points/award?q=李小河").get_data(as_text=True)
    assert "找到 1 户持卡农户" in html
    assert re.search(rf'<option data-card="A\d+" selected value="{ids["h2"]}">01002 李小河', html)
    assert "王大山" not in html
    preset = admin.get(f"/points/award?household={ids['h3']}").get_data(as_text=True)
    assert re.search(rf'<option data-card="A\d+" selected value="{ids["h3"]}">', preset)


def test_the_household_search_finds_a_card_number_and_the_page_offers_the_picker(app, admin, ids):
    from lovemart.services import cards

    with fresh_session(app) as session:
        (number,) = cards.active_numbers(session, village_id=ids["a"], household_ids=[ids["h2"]]).values()
    html = admin.get(f"/points/award?q={number}").get_data(as_text=True)
    assert "找到 1 户持卡农户" in html and f'data-card="{number}" selected value="{ids["h2"]}"' in html
    assert 'data-picker="找农户"' in html and "js/household-picker.js" in html


def test_award_records_and_says_the_new_balance(app, admin, ids):
    response = admin.post(
        "/points/award",
        data={
            "household_id": ids["h1"],
            "rule_id": ids["labour"],
            "note": "修村道",
            "request_key": "award-1",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/points/award"
    assert flashes(admin.get("/points/award").get_data(as_text=True)) == [
        "01001 王大山：已记入 10 分，余额 110 分"
    ]
    (entry,) = entries(app, kind="award")
    assert (entry.points, entry.rule_name, entry.note, entry.balance_after) == (
        10,
        "义务劳动（全天）",
        "修村道",
        110,
    )
    with fresh_session(app) as session:
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.tag == "points:entry:create", AuditEvent.subject_id == entry.id
            )
        )
        assert event.actor_name == "a-admin"


def test_a_deduction_is_recorded_as_negative(app, admin, ids):
    admin.post(
        "/points/award", data={"household_id": ids["h1"], "rule_id": ids["litter"], "request_key": "d-1"}
    )
    assert flashes(admin.get("/points/award").get_data(as_text=True)) == [
        "01001 王大山：已记入 -5 分，余额 95 分"
    ]
    assert balance(app, ids["h1"]) == 95


def test_a_rule_needing_approval_is_submitted_not_credited(app, admin, ids):
    admin.post(
        "/points/award", data={"household_id": ids["h1"], "rule_id": ids["honour"], "request_key": "h-1"}
    )
    assert flashes(admin.get("/points/award").get_data(as_text=True)) == [
        "01001 王大山：已记录 50 分，该细则需监督员审核，已提交待审，审核通过后入账。"
        "现可用 100 分，另有 50 分待审核"
    ]
    assert balance(app, ids["h1"]) == 100
    with fresh_session(app) as session:
        claim = session.scalar(select(PointsClaim))
        assert (claim.status, claim.points) == ("pending", 50)


def test_double_submit_of_the_award_form_records_once(app, admin, ids):
    key = request_key(admin.get("/points/award").get_data(as_text=True))
    data = {"household_id": ids["h1"], "rule_id": ids["labour"], "request_key": key}
    first = admin.post("/points/award", data=data)
    second = admin.post("/points/award", data=data)
    assert first.status_code == second.status_code == 302
    assert len(entries(app, kind="award")) == 1
    assert balance(app, ids["h1"]) == 110
    assert (
        flashes(admin.get("/points/award").get_data(as_text=True))
        == ["01001 王大山：已记入 10 分，余额 110 分"] * 2
    )


@pytest.mark.parametrize(
    ("rule", "prepare", "message"),
    [
        ("meeting", 2, "“参加村组会议”每户每月最多 4 分，本月已得 4 分。"),
        ("old", 0, "积分细则“旧细则”已停用。"),
        ("heavy", 0, "积分不足：需要 150 分，当前余额 100 分。"),
    ],
)
def test_refusals_are_shown_on_the_form_and_nothing_is_recorded(app, admin, ids, rule, prepare, message):
    for _ in range(prepare):
        award(app, ids["a"], ids["h1"], ids[rule])
    before = len(entries(app))
    response = admin.post(
        "/points/award",
        data={"household_id": ids["h1"], "rule_id": ids[rule], "note": "试试", "request_key": "r-1"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in errors(html)
    assert re.search(
        rf'<option data-card="A\d+" selected value="{ids["h1"]}">', html
    )  # the form keeps what was chosen
    assert len(entries(app)) == before


def test_a_rule_allowing_negative_takes_the_balance_below_zero(app, admin, ids):
    admin.post(
        "/points/award", data={"household_id": ids["h1"], "rule_id": ids["debt"], "request_key": "n-1"}
    )
    assert flashes(admin.get("/points/award").get_data(as_text=True)) == [
        "01001 王大山：已记入 -150 分，余额 -50 分"
    ]
    assert balance(app, ids["h1"]) == -50


def test_household_and_rule_must_be_chosen(app, admin, ids):
    response = admin.post("/points/award", data={"household_id": "", "rule_id": "", "request_key": "e-1"})
    assert response.status_code == 200
    assert {"请选择农户。", "请选择细则。"} <= set(errors(response.get_data(as_text=True)))


def test_a_household_without_a_card_is_refused(app, admin, ids):
    response = admin.post(
        "/points/award",
        data={"household_id": ids["a_household"], "rule_id": ids["labour"], "request_key": "c-1"},
    )
    assert "该户还没有积分卡，请先发卡。" in errors(response.get_data(as_text=True))


def test_evidence_photo_is_stored_and_shown(app, admin, ids):
    response = admin.post(
        "/points/award",
        data={
            "household_id": ids["h1"],
            "rule_id": ids["labour"],
            "request_key": "p-1",
            "photo": (io.BytesIO(png()), "labour.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    (entry,) = entries(app, kind="award")
    assert entry.evidence and len(entry.evidence) == 32
    page = admin.get(f"/points/entries/{entry.id}").get_data(as_text=True)
    assert f"/photos/{entry.evidence}" in page
    photo = admin.get(f"/photos/{entry.evidence}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert login_b_cannot_see(app, entry.evidence)


def test_an_entry_page_is_titled_with_the_number_of_its_url(app, admin, ids):
    """/points/entries/<id>: the title and the heading carry the id, the number of the URL and of every link
    to the entry; the village's own chain position (seq, the ledger export's 序号) is named as such, in the
    fold, never as "#"."""
    entry_id = award(app, ids["a"], ids["h1"], ids["labour"])  # after village b's first entry: id ≠ seq
    (entry,) = entries(app, id=entry_id)
    assert entry.id != entry.seq
    html = admin.get(f"/points/entries/{entry.id}").get_data(as_text=True)
    assert f"<title>积分记录 #{entry.id} · " in html
    assert f"<h1>积分记录 #{entry.id}</h1>" in html
    assert f"#{entry.seq}<" not in html and f"#{entry.seq} " not in html
    assert f"本村第 {entry.seq} 条" in html


def test_an_entry_page_keeps_its_hashes_one_click_away(app, admin, ids):
    """The SHA-256 strings are for checking, not reading: inside a <details> fold (no script), closed."""
    entry_id = award(app, ids["a"], ids["h1"], ids["labour"])
    (entry,) = entries(app, id=entry_id)
    html = admin.get(f"/points/entries/{entry.id}").get_data(as_text=True)
    fold = re.search(r'<details class="tech">(.*?)</details>', html, re.S)
    assert fold, "no technical fold"
    assert "<summary>技术信息/校验值</summary>" in fold.group(1)
    outside = html.replace(fold.group(0), "")
    for digest in (entry.hash, entry.prev_hash):
        assert digest in fold.group(1)
        assert digest not in outside
    assert '<details class="tech" open' not in html


def login_b_cannot_see(app, name) -> bool:
    from tests.conftest import PASSWORD

    client = app.test_client()
    client.post("/login", data={"username": "b-admin", "password": PASSWORD})
    return client.get(f"/photos/{name}").status_code == 404


def test_a_file_that_is_not_a_photo_is_refused_on_the_form(app, admin, ids):
    response = admin.post(
        "/points/award",
        data={
            "household_id": ids["h1"],
            "rule_id": ids["labour"],
            "request_key": "p-2",
            "photo": (io.BytesIO(b"not an image"), "evil.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "无法识别该照片，请上传 JPG 或 PNG 图片。" in errors(response.get_data(as_text=True))
    assert entries(app, kind="award") == []


# ---- batch ----------------------------------------------------------------------------------------------


def test_batch_page_lists_the_groups_card_holders(app, admin, ids):
    html = admin.get("/points/batch").get_data(as_text=True)
    assert "一组" in html and "二组" in html and 'name="households"' not in html
    html = admin.get(f"/points/batch?group={ids['group1']}").get_data(as_text=True)
    assert "选择参加的农户（2 户持卡）" in html
    assert f'value="{ids["h1"]}">' in html and f'value="{ids["h2"]}">' in html and "赵三" not in html
    assert "checked" not in html.split('name="households"')[1][:80]
    all_checked = admin.get(f"/points/batch?group={ids['group1']}&all=1").get_data(as_text=True)
    assert all_checked.count(" checked>") == 3  # both households and the select-all box


def test_batch_awards_every_chosen_household_once(app, admin, ids):
    html = admin.get(f"/points/batch?group={ids['group1']}").get_data(as_text=True)
    data = {
        "group_id": ids["group1"],
        "households": [ids["h1"], ids["h2"]],
        "rule_id": ids["labour"],
        "note": "全村修路",
        "request_key": request_key(html),
    }
    assert admin.post("/points/batch", data=data).status_code == 302
    assert admin.post("/points/batch", data=data).status_code == 302  # a double click
    assert flashes(admin.get("/points/").get_data(as_text=True)) == ["已为 2 户记入积分，共 20 分。"] * 2
    assert [(e.points, e.note) for e in entries(app, kind="award")] == [(10, "全村修路"), (10, "全村修路")]
    assert (balance(app, ids["h1"]), balance(app, ids["h2"]), balance(app, ids["h3"])) == (110, 110, 100)


def test_batch_is_refused_whole_naming_the_household(app, admin, ids):
    award(app, ids["a"], ids["h2"], ids["meeting"])
    award(app, ids["a"], ids["h2"], ids["meeting"])
    data = {
        "group_id": ids["group1"],
        "households": [ids["h1"], ids["h2"]],
        "rule_id": ids["meeting"],
        "request_key": "b-1",
    }
    response = admin.post("/points/batch", data=data)
    assert response.status_code == 200
    assert errors(response.get_data(as_text=True)) == [
        "01002 号 李小河 户：“参加村组会议”每户每月最多 4 分，本月已得 4 分。本批全部未记入。"
    ]
    assert balance(app, ids["h1"]) == 100
    assert len(entries(app, rule_id=ids["meeting"])) == 2


def test_batch_needs_a_household_and_a_group_of_the_village(app, admin, ids):
    response = admin.post(
        "/points/batch", data={"group_id": ids["group1"], "rule_id": ids["labour"], "request_key": "b-2"}
    )
    assert "请至少选择一户。" in errors(response.get_data(as_text=True))
    with fresh_session(app) as session:
        b_group = session.scalar(select(VillagerGroup.id).where(VillagerGroup.village_id == ids["b"]))
    data = {"group_id": b_group, "households": [ids["hb"]], "rule_id": ids["labour"], "request_key": "b-3"}
    assert admin.post("/points/batch", data=data).status_code == 404
    data = {
        "group_id": ids["group1"],
        "households": [ids["hb"]],
        "rule_id": ids["labour"],
        "request_key": "b-4",
    }
    assert admin.post("/points/batch", data=data).status_code == 404
    assert balance(app, ids["hb"]) == 100


def test_batch_errors_show_at_the_top_of_the_form_before_the_list(app, admin, ids):
    """A cadre on a phone sees why nothing was recorded without scrolling past the households: the problem
    is listed at the top of the form (a link to the field) and again at the top of the field."""
    award(app, ids["a"], ids["h2"], ids["meeting"])
    award(app, ids["a"], ids["h2"], ids["meeting"])
    refusals = [
        ({"households": [ids["h1"], ids["h2"]], "rule_id": ids["meeting"]}, "本批全部未记入。"),
        ({"rule_id": ids["labour"]}, "请至少选择一户。"),
    ]
    for n, (data, message) in enumerate(refusals):
        data |= {"group_id": ids["group1"], "request_key": f"top-{n}"}
        html = admin.post("/points/batch", data=data).get_data(as_text=True)
        form = html[html.index('<form method="post" novalidate>') :]
        summary = form[: form.index('name="rule_id"')]  # before the first field of the form
        assert 'role="alert"' in summary and message in summary
        assert 'href="#households"' in summary
        fieldset = form[form.index('<fieldset class="households-pick has-error" id="households">') :]
        assert fieldset.index(message) < fieldset.index('type="checkbox" name="households"')


# ---- reversal -------------------------------------------------------------------------------------------


def test_reversal_confirms_then_records_once(app, admin, ids):
    wrong = award(app, ids["a"], ids["h1"], ids["labour"], note="记错户")
    page = admin.get(f"/points/entries/{wrong}/reverse").get_data(as_text=True)
    assert (
        "冲正这条记录？" in page
        and "义务劳动（全天）" in page
        and "记错户" in page
        and "01001 王大山" in page
    )
    assert "新增一条相反的记录（-10 分）" in page
    key = request_key(page)
    missing = admin.post(f"/points/entries/{wrong}/reverse", data={"reason": " ", "request_key": key})
    assert "请填写冲正原因。" in errors(missing.get_data(as_text=True))
    done = admin.post(f"/points/entries/{wrong}/reverse", data={"reason": "应为李小河户", "request_key": key})
    assert done.status_code == 302 and done.headers["Location"] == f"/statements/{ids['h1']}"
    again = admin.post(
        f"/points/entries/{wrong}/reverse", data={"reason": "应为李小河户", "request_key": key}
    )
    assert again.status_code == 302  # the same form twice: one reversal
    assert flashes(admin.get("/points/").get_data(as_text=True)) == ["已冲正 -10 分，余额 100 分。"] * 2
    (reversal,) = entries(app, kind="reversal")
    assert (reversal.reversal_of_id, reversal.points, reversal.note) == (wrong, -10, "应为李小河户")
    twice = admin.post(
        f"/points/entries/{wrong}/reverse", data={"reason": "再冲一次", "request_key": "other-key"}
    )
    assert twice.status_code == 200
    assert "这条记录已经冲正过了。" in errors(twice.get_data(as_text=True))
    assert len(entries(app, kind="reversal")) == 1
    assert balance(app, ids["h1"]) == 100
    entry_page = admin.get(f"/points/entries/{wrong}").get_data(as_text=True)
    assert "已冲正" in entry_page and f"/points/entries/{reversal.id}" in entry_page
    assert f"/points/entries/{wrong}/reverse" not in entry_page


def test_only_the_administrator_reverses(app, login, ids):
    wrong = award(app, ids["a"], ids["h1"], ids["labour"])
    for username in ("a-supervisor", "a-leader"):
        assert (
            login(username)
            .post(f"/points/entries/{wrong}/reverse", data={"reason": "x", "request_key": "k"})
            .status_code
            == 403
        )
    assert entries(app, kind="reversal") == []


# ---- approvals (supervisor) and applications (administrator) ---------------------------------------------


def test_supervisor_approves_and_rejects_pending_claims(app, login, ids):
    admin, supervisor = login("a-admin"), login("a-supervisor")
    admin.post(
        "/points/award",
        data={"household_id": ids["h1"], "rule_id": ids["honour"], "note": "村民评议", "request_key": "c-1"},
    )
    admin.post(
        "/points/award", data={"household_id": ids["h2"], "rule_id": ids["honour"], "request_key": "c-2"}
    )
    html = supervisor.get("/points/approvals").get_data(as_text=True)
    assert "待审核" in html and '<span class="badge"' in html and ">2</span>" in html
    assert "01001 王大山" in html and "评为“五好家庭”" in html and "+50" in html and "村民评议" in html
    assert "记录人：张" not in html and "记录人：a-admin" in html
    with fresh_session(app) as session:
        first, second = session.scalars(select(PointsClaim.id).order_by(PointsClaim.id)).all()

    assert supervisor.post(f"/points/claims/{first}/approve").status_code == 302
    assert flashes(supervisor.get("/points/approvals").get_data(as_text=True)) == ["已审核通过，记入 50 分。"]
    assert balance(app, ids["h1"]) == 150
    (entry,) = entries(app, kind="award")
    with fresh_session(app) as session:
        assert session.get(LedgerEntry, entry.id).approved_by_id is not None

    refused = supervisor.post(
        f"/points/claims/{second}/reject", data={"reason": " "}, headers={"Referer": "/points/approvals"}
    )
    assert refused.status_code == 302
    assert "请填写原因，村民会看到它。" in errors(supervisor.get("/points/approvals").get_data(as_text=True))
    too_long = supervisor.post(f"/points/claims/{second}/reject", data={"reason": "长" * 501})
    assert too_long.status_code == 302
    assert "原因最多 500 个字。" in errors(supervisor.get("/points/approvals").get_data(as_text=True))
    supervisor.post(f"/points/claims/{second}/reject", data={"reason": "未经村民\x00代表评议"})  # NUL dropped
    html = supervisor.get("/points/approvals").get_data(as_text=True)
    assert flashes(html) == ["已驳回，不记入积分。"] and "没有待审核的积分。" in html
    with fresh_session(app) as session:
        claim = session.get(PointsClaim, second)
        assert (claim.status, claim.reason) == ("rejected", "未经村民代表评议")
    again = supervisor.post(f"/points/claims/{first}/approve", headers={"Referer": "/points/approvals"})
    assert again.status_code == 302
    assert "这条申请已经处理过了。" in errors(supervisor.get("/points/approvals").get_data(as_text=True))
    assert balance(app, ids["h2"]) == 100


def test_administrator_accepts_and_declines_villagers_applications(app, login, ids):
    with app.app_context(), unit_of_work() as session:
        accepted = points.apply(
            session, village_id=ids["a"], household_id=ids["h1"], rule_id=ids["labour"], note="帮五保户挑水"
        ).id
        declined = points.apply(
            session, village_id=ids["a"], household_id=ids["h2"], rule_id=ids["labour"], note="扫自家院子"
        ).id
        waiting = points.apply(
            session, village_id=ids["a"], household_id=ids["h3"], rule_id=ids["honour"], note="评上五好家庭"
        ).id
    admin = login("a-admin")
    html = admin.get("/points/applications").get_data(as_text=True)
    assert "3 条待受理" in html and "帮五保户挑水" in html and "村民申报" in html
    assert re.search(r'积分申报 <span class="badge"[^>]*>3</span>', html)

    admin.post(f"/points/claims/{accepted}/accept")
    assert flashes(admin.get("/points/applications").get_data(as_text=True)) == ["已受理，记入 10 分。"]
    assert balance(app, ids["h1"]) == 110
    admin.post(f"/points/claims/{waiting}/accept")
    assert flashes(admin.get("/points/applications").get_data(as_text=True)) == [
        "已受理；该细则需监督员审核，已提交待审。"
    ]
    admin.post(f"/points/claims/{declined}/decline", data={"reason": "属于本户卫生，不加分"})
    html = admin.get("/points/applications").get_data(as_text=True)
    assert flashes(html) == ["已不予受理，村民会看到原因。"] and "没有待受理的申报。" in html
    with fresh_session(app) as session:
        claims = {c.id: c for c in session.scalars(select(PointsClaim))}
        assert claims[accepted].status == "approved" and claims[waiting].status == "pending"
        assert (claims[declined].status, claims[declined].reason) == ("declined", "属于本户卫生，不加分")
    # The supervisor's queue now holds the accepted application needing approval; the admin cannot decide it.
    assert "评上五好家庭" in login("a-supervisor").get("/points/approvals").get_data(as_text=True)
    admin.post(f"/points/claims/{waiting}/decline", data={"reason": "不行"})
    with fresh_session(app) as session:
        assert session.get(PointsClaim, waiting).status == "pending"


def test_each_role_decides_only_its_own_queue(app, login, ids):
    claim = award(app, ids["a"], ids["h1"], ids["honour"])
    admin, supervisor, leader = login("a-admin"), login("a-supervisor"), login("a-leader")
    assert admin.get("/points/approvals").status_code == 403
    assert admin.post(f"/points/claims/{claim}/approve").status_code == 403
    assert admin.post(f"/points/claims/{claim}/reject", data={"reason": "x"}).status_code == 403
    assert supervisor.get("/points/applications").status_code == 403
    assert supervisor.post(f"/points/claims/{claim}/accept").status_code == 403
    assert leader.post(f"/points/claims/{claim}/approve").status_code == 403
    assert "待审核" not in admin.get("/points/").get_data(as_text=True).split("</nav>")[0]
    assert "积分申报" not in supervisor.get("/points/").get_data(as_text=True).split("</nav>")[0]
    with fresh_session(app) as session:
        assert session.get(PointsClaim, claim).status == "pending"


def test_navigation_counts_cost_one_query_each(app, login, ids, query_counter):
    award(app, ids["a"], ids["h1"], ids["honour"])
    supervisor = login("a-supervisor")
    with query_counter() as statements:
        html = supervisor.get("/rules/").get_data(as_text=True)
    assert re.search(r'待审核 <span class="badge"[^>]*>1</span>', html)
    assert sum("count(" in s.lower() and "points_claims" in s for s in statements) == 1


# ---- isolation ------------------------------------------------------------------------------------------


def test_another_villages_entries_and_claims_are_not_found(app, login, ids):
    b_entry = award(app, ids["b"], ids["hb"], ids["b_rule"])
    with app.app_context():
        b_honour = make_rule(ids["b"], "b村表彰", "honour", 20, requires_approval=True)
    b_claim = award(app, ids["b"], ids["hb"], b_honour)
    admin, supervisor = login("a-admin"), login("a-supervisor")
    assert admin.get(f"/points/entries/{b_entry}").status_code == 404
    assert admin.get(f"/points/entries/{b_entry}/reverse").status_code == 404
    assert (
        admin.post(
            f"/points/entries/{b_entry}/reverse", data={"reason": "x", "request_key": "iso-1"}
        ).status_code
        == 404
    )
    assert supervisor.post(f"/points/claims/{b_claim}/approve").status_code == 404
    assert supervisor.post(f"/points/claims/{b_claim}/reject", data={"reason": "x"}).status_code == 404
    assert admin.post(f"/points/claims/{b_claim}/accept").status_code == 404
    assert (
        admin.post(
            "/points/award",
            data={"household_id": ids["hb"], "rule_id": ids["labour"], "request_key": "iso-2"},
        ).status_code
        == 404
    )
    assert (
        admin.post(
            "/points/award",
            data={"household_id": ids["h1"], "rule_id": ids["b_rule"], "request_key": "iso-3"},
        ).status_code
        == 404
    )
    assert "b村表彰" not in supervisor.get("/points/approvals").get_data(as_text=True)
    assert balance(app, ids["hb"]) == 110 and balance(app, ids["h1"]) == 100
    assert entries(app, kind="reversal") == []
    with fresh_session(app) as session:
        assert session.get(PointsClaim, b_claim).status == "pending"


# ---- CSRF, as production runs it ------------------------------------------------------------------------


@pytest.fixture
def csrf_app(database, tmp_path):
    from lovemart import create_app
    from tests.conftest import _config, _fresh_url

    app = create_app(_config(_fresh_url(database, tmp_path), tmp_path) | {"WTF_CSRF_ENABLED": True})
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_points_forms_without_a_csrf_token_write_nothing(csrf_app):
    from tests.conftest import PASSWORD

    with csrf_app.app_context():
        ids = make_two_villages()
        household, _ = carded_household(ids["a"])
        labour = make_rule(ids["a"], "义务劳动", "volunteer", 10)
        honour = make_rule(ids["a"], "五好家庭", "honour", 50, requires_approval=True)
        entry = award(csrf_app, ids["a"], household, labour)
        claim = award(csrf_app, ids["a"], household, honour)

    def signed_in(username):
        client = csrf_app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        return client

    admin, supervisor, leader = signed_in("a-admin"), signed_in("a-supervisor"), signed_in("a-leader")
    key = request_key(admin.get("/points/award").get_data(as_text=True))
    refused = [
        admin.post("/points/award", data={"household_id": household, "rule_id": labour, "request_key": key}),
        admin.post(
            "/points/batch",
            data={"group_id": 1, "households": [household], "rule_id": labour, "request_key": key},
        ),
        admin.post(f"/points/entries/{entry}/reverse", data={"reason": "x", "request_key": key}),
        supervisor.post(f"/points/claims/{claim}/approve"),
        leader.post("/rules/new", data={"name": "新细则", "category": "collective", "points": "2"}),
        leader.post(f"/rules/{labour}/active", data={"active": "0"}),
    ]
    assert [r.status_code for r in refused] == [302] * len(refused)
    assert "表单已过期，请刷新页面后重试。" in admin.get("/points/").get_data(as_text=True)
    with fresh_session(csrf_app) as session:
        assert session.query(LedgerEntry).count() == 2  # the base points and the one award
        assert session.get(PointsClaim, claim).status == "pending"
        assert session.query(AuditEvent).filter(AuditEvent.tag.like("points:rule:%")).count() == 2

    page = admin.get("/points/award").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "household_id": household,
        "rule_id": labour,
        "request_key": request_key(page),
        "csrf_token": token,
    }
    assert admin.post("/points/award", data=data).status_code == 302
    with fresh_session(csrf_app) as session:
        assert session.query(LedgerEntry).count() == 3
