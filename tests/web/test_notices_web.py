"""The notice pages (公示) as the supervisor, the other staff, anyone holding the public URL and a villager
holding a card use them: compile, review, publish, print; object from the QR page, answer, read the answer;
公示后入账 settled by the supervisor's button (never by a GET); the two village settings.

The entries are made now; the notices service's clock is moved past the month's end, as if the month just
ended (see tests/services/test_notices.py).
"""

import hashlib
import json
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lovemart import notekey, verify_notice
from lovemart.db import db, unit_of_work
from lovemart.models import LedgerEntry, Notice, Objection, PointsClaim, Village
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.services import checkpoints, households, notices, points
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule
from tests.villager import page, post, scan

TODAY = datetime.now(VILLAGE_TIMEZONE).date()
START, END = notices.month_period(TODAY)
MONTH = START.strftime("%Y-%m")
AFTER_MONTH = datetime.combine(END + timedelta(days=2), time(9), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)


@pytest.fixture
def ids(app, monkeypatch):
    """Villages a and b with make_two_villages' users; in a, 张三 and 李四 hold cards and have points."""
    monkeypatch.setattr(notices, "utcnow", lambda: AFTER_MONTH)
    with app.app_context():
        ids = make_two_villages()
        a = ids["a"]
        ids["zhang"], ids["zhang_token"] = carded_household(a, head="张三", number="0101")
        ids["li"], ids["li_token"] = carded_household(a, head="李四", number="0102")
        ids["labour"] = make_rule(a, "义务劳动（全天）", "volunteer", 10)
        ids["entry"] = award(a, ids["zhang"], ids["labour"], note="修村道").entry.id
        ids["li_entry"] = award(a, ids["li"], ids["labour"]).entry.id
        db.session.remove()
    return ids


@pytest.fixture
def login(cached_login):
    return cached_login


def award(village_id, household_id, rule_id, **kwargs) -> points.Recorded:
    with unit_of_work() as session:
        return points.award(
            session, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id, **kwargs
        )


def text(response) -> str:
    return response.get_data(as_text=True)


def compile_and_publish(client) -> int:
    """Through the pages: compile the month, confirm, publish. Returns the notice id."""
    response = client.post("/notices/compile", data={"month": MONTH, "days": "7", "honour_roll": "y"})
    assert response.status_code == 302, text(response)
    notice_id = int(re.search(r"/notices/(\d+)$", response.headers["Location"]).group(1))
    confirm = text(client.get(f"/notices/{notice_id}/publish"))
    reviewed = re.search(r'name="reviewed" type="hidden" value="([0-9a-f]{64})"', confirm).group(1)
    response = client.post(f"/notices/{notice_id}/publish", data={"reviewed": reviewed})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/notices/{notice_id}")
    return notice_id


def stored(app, notice_id: int) -> Notice:
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        db.session.expunge(notice)
        db.session.remove()
    return notice


# ---- the supervisor: compile, review, publish, print ----------------------------------------------------


def test_the_supervisor_compiles_reviews_publishes_and_prints_the_month(app, ids, login):
    client = login("a-supervisor")
    index = text(client.get("/notices/"))
    assert 'name="month"' in index and 'type="month"' in index
    assert f'value="{notices.last_month(AFTER_MONTH.astimezone(VILLAGE_TIMEZONE).date())[0]:%Y-%m}"' in index

    response = client.post("/notices/compile", data={"month": MONTH, "days": "5", "honour_roll": "y"})
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    draft = text(client.get(f"/notices/{notice_id}"))
    assert "草稿" in draft and "0101 张三" in draft and "义务劳动（全天） · 修村道" in draft
    assert "红黑榜" in draft and "发布" in draft and "打印公示" not in draft
    assert client.get(f"/notices/{notice_id}/print").status_code == 404  # only what is published is printed

    confirm = text(client.get(f"/notices/{notice_id}/publish"))
    assert "发布后内容永久冻结" in confirm and "公示期 5 天" in confirm
    reviewed = re.search(r'name="reviewed" type="hidden" value="([0-9a-f]{64})"', confirm).group(1)
    assert client.post(f"/notices/{notice_id}/publish", data={"reviewed": reviewed}).status_code == 302
    notice = stored(app, notice_id)
    assert (
        notice.status == "published" and notice.digest == hashlib.sha256(notice.content.encode()).hexdigest()
    )

    published = text(client.get(f"/notices/{notice_id}"))
    assert notice.digest in published and notice.chain_head in published
    assert "内容与摘要一致" in published and "台账链头吻合" in published and "异议期中" in published
    paper = client.get(f"/notices/{notice_id}/print")
    sheet = text(paper)
    assert paper.status_code == 200 and "<svg" in sheet and "print.css" in sheet and "app.css" not in sheet
    assert notice.digest in sheet and notice.chain_head in sheet and f"/n/{notice.token}" in sheet
    assert "0101 张三" in sheet
    assert re.findall(r"<script(?![^>]*\bsrc=)", sheet) == [] and 'style="' not in sheet  # the CSP's rules


def totals(html: str) -> dict[str, str]:
    """The notice's 本期合计, label → figure."""
    section = html[html.index('<dl class="notice-totals">') :]
    section = section[: section.index("</dl>")]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", section))


def test_the_summary_reads_zero_as_0_deductions_with_a_minus_and_an_empty_roll_as_a_sentence(app, ids, login):
    client = login("a-supervisor")
    response = client.post("/notices/compile", data={"month": MONTH, "days": "5", "honour_roll": "y"})
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    draft = text(client.get(f"/notices/{notice_id}"))
    figures = totals(draft)
    assert (figures["加分"], figures["扣分"], figures["冲正"]) == ("+20", "0", "0")
    roll = draft[draft.index("黑榜：本期扣分最多") :]
    roll = roll[: roll.index("</section>")]
    assert "本期无人扣分。" in roll and "<li>" not in roll and "<ol>" not in roll

    with app.app_context():
        litter = make_rule(ids["a"], "乱倒垃圾", "deduction", -5)
        award(ids["a"], ids["li"], litter)
        db.session.remove()
    assert client.post(f"/notices/{notice_id}/compile").status_code == 302
    draft = text(client.get(f"/notices/{notice_id}"))
    assert totals(draft)["扣分"] == "-5"
    roll = draft[draft.index("黑榜：本期扣分最多") :]
    assert re.search(r"<ol><li>0102 李四 <strong>-5</strong></li></ol>", roll)
    assert "本期无人扣分。" not in draft and "本期无人得分。" not in draft


def test_publishing_a_draft_the_books_overtook_is_refused_until_compiled_again(app, ids, login):
    client = login("a-supervisor")
    response = client.post("/notices/compile", data={"month": MONTH, "days": "7"})
    notice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    reviewed = re.search(r'value="([0-9a-f]{64})"', text(client.get(f"/notices/{notice_id}/publish"))).group(
        1
    )
    with app.app_context():
        award(ids["a"], ids["li"], ids["labour"])  # in the month, after the draft
    refused = client.post(f"/notices/{notice_id}/publish", data={"reviewed": reviewed})
    assert refused.status_code == 200 and "请重新生成草稿" in text(refused)
    assert stored(app, notice_id).status == "draft"
    assert client.post(f"/notices/{notice_id}/compile").status_code == 302
    fresh = re.search(r'value="([0-9a-f]{64})"', text(client.get(f"/notices/{notice_id}/publish"))).group(1)
    assert fresh != reviewed
    assert client.post(f"/notices/{notice_id}/publish", data={"reviewed": fresh}).status_code == 302
    assert stored(app, notice_id).status == "published"


def test_a_month_not_over_is_refused_on_the_form(ids, login, monkeypatch):
    monkeypatch.setattr(notices, "utcnow", lambda: datetime.now(UTC))
    response = login("a-supervisor").post("/notices/compile", data={"month": MONTH, "days": "7"})
    assert response.status_code == 422 and "这个月还没有结束" in text(response)


def test_other_staff_read_notices_but_only_the_supervisor_writes(app, ids, login):
    notice_id = compile_and_publish(login("a-supervisor"))
    for username in ("a-admin", "a-leader", "county"):
        client = login(username)
        assert client.get("/notices/").status_code == 200, username
        page_text = text(client.get(f"/notices/{notice_id}"))
        assert "0101 张三" in page_text and "生成草稿" not in page_text, username
        assert client.get(f"/notices/{notice_id}/print").status_code == 200, username
        assert client.post("/notices/compile", data={"month": MONTH, "days": "7"}).status_code == 403, (
            username
        )
    assert login("b-supervisor").get(f"/notices/{notice_id}").status_code == 404
    assert login("b-supervisor").get(f"/notices/{notice_id}/print").status_code == 404


def test_the_compile_form_refuses_a_post_without_its_csrf_token(app, ids, login):
    client = login("a-supervisor")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/notices/compile", data={"month": MONTH, "days": "7"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Notice.id)) is None


# ---- the public page ------------------------------------------------------------------------------------


def test_a_published_notice_is_public_by_its_token_and_its_content_verifies(app, ids, login, client):
    notice_id = compile_and_publish(login("a-supervisor"))
    notice = stored(app, notice_id)
    response = client.get(f"/n/{notice.token}")
    assert response.status_code == 200
    assert (
        response.headers["Cache-Control"] == "no-store"
        and "unsafe" not in response.headers["Content-Security-Policy"]
    )
    body = text(response)
    assert "a村" in body and "0101 张三" in body and notice.digest in body and "当前内容与摘要一致" in body
    raw = client.get(f"/n/{notice.token}/content.json")
    assert raw.mimetype == "application/json"
    assert hashlib.sha256(raw.get_data()).hexdigest() == notice.digest


def test_a_published_notice_shows_its_fingerprint_and_offers_its_bundle_and_the_verifier(
    app, ids, login, client
):
    notice_id = compile_and_publish(login("a-supervisor"))
    notice = stored(app, notice_id)
    with app.app_context():
        checkpoint = checkpoints.of_notice(db.session, notice)
        fingerprint = checkpoints.fingerprint(checkpoint.root)
    assert re.fullmatch(r"[0-9A-F]{4}( [0-9A-F]{4}){3}", fingerprint)
    sheet = text(login("a-supervisor").get(f"/notices/{notice_id}/print"))
    assert fingerprint in sheet and sheet.count("<svg") == 2  # the page's QR and the checkpoint's
    page = text(client.get(f"/n/{notice.token}"))
    assert fingerprint in page and f"/n/{notice.token}/bundle.json" in page and "/n/verify_notice.py" in page
    with app.app_context():
        key = notekey.notice_key()
    assert f"密钥 ID {key.key_id.hex()}" in page and key.vkey in page and key.vkey in sheet
    download = client.get(f"/n/{notice.token}/bundle.json")
    assert download.mimetype == "application/json" and "attachment" in download.headers["Content-Disposition"]
    bundle = json.loads(download.get_data())
    assert bundle["fingerprint"] == fingerprint and verify_notice.check(bundle) == []
    assert [line["seq"] for line in bundle["lines"]] == [1, 2, 3, 4]  # base points and the awards
    script = client.get("/n/verify_notice.py")
    assert script.status_code == 200 and script.get_data() == Path(verify_notice.__file__).read_bytes()


def test_drafts_and_unknown_tokens_are_not_public(app, ids, login, client):
    supervisor = login("a-supervisor")
    response = supervisor.post("/notices/compile", data={"month": MONTH, "days": "7"})
    draft = stored(app, int(response.headers["Location"].rsplit("/", 1)[1]))
    for token in (draft.token, "x" * 43, "nope"):
        assert client.get(f"/n/{token}").status_code == 404
        assert client.get(f"/n/{token}/content.json").status_code == 404
        assert client.get(f"/n/{token}/bundle.json").status_code == 404


# ---- the villager: object, read the answer --------------------------------------------------------------


def test_a_villager_objects_to_a_line_and_reads_the_supervisors_answer(app, ids, login, client):
    notice_id = compile_and_publish(login("a-supervisor"))
    notice = stored(app, notice_id)
    scan(client, ids["zhang_token"])
    mine = text(client.get("/me/notices"))
    assert "义务劳动（全天）" in mine and "李四" not in mine  # the household's own lines only
    link = f"/me/notices/{notice.token}/objection?entry={ids['entry']}"
    assert f'href="{link}"' in mine
    form = text(client.get(link))
    assert "提出异议" in form and "修村道" in form
    response = client.post(link, data={"text": "那天我家没人参加劳动", "request_key": "k" * 24})
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/objections")
    assert client.post(link, data={"text": "再提一次", "request_key": "k" * 24}).status_code == 302  # resent
    waiting = text(client.get("/me/objections"))
    assert "那天我家没人参加劳动" in waiting and "待答复" in waiting and "村里正在核实" in waiting
    assert "已提出异议" in text(client.get("/me/notices"))
    assert "异议答复" not in text(client.get("/me"))  # nothing answered yet
    with app.app_context():
        (objection,) = db.session.scalars(select(Objection)).all()
        objection_id = objection.id
        db.session.remove()

    supervisor = login("a-supervisor")
    assert ">1</span>" in text(supervisor.get("/notices/"))  # the menu counts the waiting objection
    queue = text(supervisor.get("/notices/objections"))
    assert "0101 张三" in queue and "那天我家没人参加劳动" in queue
    assert "异议不成立" in text(supervisor.get(f"/notices/objections/{objection_id}"))
    refused = supervisor.post(f"/notices/objections/{objection_id}/answer", data={"decision": "upheld"})
    assert refused.status_code == 422 and "请填写答复" in text(refused)
    answered = supervisor.post(
        f"/notices/objections/{objection_id}/answer",
        data={"decision": "upheld", "answer": "经核实该户当天未参加，予以冲正"},
    )
    assert answered.status_code == 302
    with app.app_context():
        reversal = db.session.scalar(select(LedgerEntry).where(LedgerEntry.reversal_of_id == ids["entry"]))
        assert (reversal.kind, reversal.note) == (EntryKind.REVERSAL, "经核实该户当天未参加，予以冲正")
        db.session.remove()

    answer = text(client.get("/me/objections"))
    assert "异议成立" in answer and "村里答复：经核实该户当天未参加，予以冲正" in answer
    me = text(page(client, ids["zhang_token"]))
    assert "冲正：义务劳动（全天）" in me
    # /me itself says the objection was answered, and how, above the balance
    answered = me[me.index("异议答复") : me.index("当前积分")]
    assert "义务劳动（全天）" in answered and "异议成立" in answered
    assert "村里答复：经核实该户当天未参加，予以冲正" in answered
    assert 'href="/me/objections"' in answered
    assert "异议答复" not in text(page(login("a-supervisor"), ids["li_token"]))  # not another household's


def test_me_shows_an_answer_for_a_month_then_only_the_objections_page_does(app, ids, login, client):
    notice = stored(app, compile_and_publish(login("a-supervisor")))
    with app.app_context(), unit_of_work() as session:
        objection = notices.raise_objection(
            session,
            village_id=ids["a"],
            household_id=ids["zhang"],
            notice_token=notice.token,
            entry_id=ids["entry"],
            text="不对",
        )
        notices.answer(
            session,
            actor=None,
            village_id=ids["a"],
            objection_id=objection.id,
            decision="dismissed",
            answer="已核实无误",
        )
        objection_id = objection.id
    me = text(page(client, ids["zhang_token"]))
    assert "异议答复" in me and "异议不成立" in me and "村里答复：已核实无误" in me
    with app.app_context(), unit_of_work() as session:
        session.get(Objection, objection_id).answered_at = datetime.now(UTC) - timedelta(days=31)
    assert "异议答复" not in text(client.get("/me"))
    assert "村里答复：已核实无误" in text(client.get("/me/objections"))


def test_a_villager_cannot_object_to_another_households_line_or_after_the_period(
    app, ids, login, client, monkeypatch
):
    notice = stored(app, compile_and_publish(login("a-supervisor")))
    scan(client, ids["zhang_token"])
    assert client.get(f"/me/notices/{notice.token}/objection?entry={ids['li_entry']}").status_code == 404
    assert client.get(f"/me/notices/{notice.token}/objection").status_code == 404
    assert client.get(f"/me/notices/{'x' * 43}/objection?entry={ids['entry']}").status_code == 404
    refused = post(
        client,
        ids["zhang_token"],
        f"/notices/{notice.token}/objection?entry={ids['li_entry']}",
        data={"text": "不对", "request_key": "r" * 24},
    )
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Objection.id)) is None
    monkeypatch.setattr(notices, "utcnow", lambda: notice.objection_deadline)
    assert client.get(f"/me/notices/{notice.token}/objection?entry={ids['entry']}").status_code == 404
    assert "现在没有正在公示的内容" in text(client.get("/me/notices"))


def test_villager_pages_need_the_card(ids, client):
    for path in ("/me/notices", "/me/objections"):
        response = client.get(path)
        assert response.status_code == 404 and "此卡无效" in text(response)


# ---- 公示后入账 -------------------------------------------------------------------------------------------


def test_no_settle_banner_when_nothing_is_held(app, ids, login, monkeypatch):
    """A village without 公示后入账: its published notices hold nothing, so 结算入账 is never offered."""
    notice = stored(app, compile_and_publish(login("a-supervisor")))
    monkeypatch.setattr(notices, "utcnow", lambda: notice.objection_deadline + timedelta(days=1))
    listing = text(login("a-supervisor").get("/notices/"))
    assert "各期公示" in listing
    assert "结算入账" not in listing and "等待入账" not in listing


def test_held_awards_show_on_the_card_and_are_credited_when_the_supervisor_settles(
    app, ids, login, client, monkeypatch
):
    with app.app_context():
        with unit_of_work() as session:
            session.get(Village, ids["a"]).credit_after_notice = True
        claim_id = award(ids["a"], ids["zhang"], ids["labour"], note="清理河道").claim.id
        db.session.remove()
    card = text(page(client, ids["zhang_token"]))
    assert "公示中（暂未入账）" in card and "另有 10 分公示中" in card
    notice = stored(app, compile_and_publish(login("a-supervisor")))
    mine = text(client.get("/me/notices"))
    assert f"claim={claim_id}" in mine and "（公示中）" in mine

    monkeypatch.setattr(notices, "utcnow", lambda: notice.objection_deadline + timedelta(minutes=1))
    assert "结算入账" not in text(login("a-admin").get("/notices/"))  # only the supervisor settles
    listing = text(login("a-supervisor").get("/notices/"))
    assert "公示中的积分等待入账" in listing and "结算入账" in listing
    with app.app_context():  # the page only offers it: a GET writes nothing
        assert db.session.get(PointsClaim, claim_id).status == ClaimStatus.PUBLICIZING
        db.session.remove()
    assert "1 期公示的异议期已满，公示中的积分已入账。" in text(
        login("a-supervisor").post("/notices/settle", follow_redirects=True)
    )
    again = text(login("a-supervisor").post("/notices/settle", follow_redirects=True))
    assert "没有需要结算的公示。" in again and "结算入账" not in again  # a second click settles nothing
    with app.app_context():
        assert db.session.get(PointsClaim, claim_id).status == ClaimStatus.APPROVED
        assert db.session.get(Notice, notice.id).settled_at is not None
        db.session.remove()
    card = text(page(client, ids["zhang_token"]))
    assert "公示中（暂未入账）" not in card and "<strong>120</strong>" in card


def test_the_system_admin_sets_credit_after_notice_and_the_notice_days(app, ids, login):
    response = login("sysadmin").post(
        f"/admin/villages/{ids['a']}",
        data={
            "base_points": "100",
            "yuan_per_point": "3",
            "card_prefix": "A",
            "notice_days": "10",
            "credit_after_notice": "y",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        village = db.session.get(Village, ids["a"])
        assert (village.credit_after_notice, village.notice_days) == (True, 10)
        db.session.remove()
    shown = text(login("a-leader").get("/notices/"))
    assert "本村实行“公示后入账”" in shown and "公示期 10 天" in shown
    refused = login("sysadmin").post(
        f"/admin/villages/{ids['a']}",
        data={"base_points": "100", "yuan_per_point": "3", "card_prefix": "A", "notice_days": "0"},
    )
    assert refused.status_code == 200 and "1 到 60" in text(refused)


# ---- the 红黑榜's 党员户 filter ----------------------------------------------------------------------------


def _roll(html: str) -> str:
    start = html.index('id="roll"')
    return html[start : html.index("</section>", start)]


def _mark_party_member(app, village_id: int, household_id: int) -> None:
    with app.app_context():
        with unit_of_work() as session:
            head = households.get(session, village_id=village_id, household_id=household_id).head
            households.update_member(
                session,
                actor=None,
                village_id=village_id,
                household_id=household_id,
                member_id=head.id,
                member=households.MemberInput(head.name, head.relation, head.gender, head.birth_year, True),
            )
        db.session.remove()


def test_the_roll_of_a_village_with_party_households_filters_to_them_on_staff_public_and_paper(
    app, ids, login, client
):
    _mark_party_member(app, ids["a"], ids["li"])
    with app.app_context():
        award(ids["a"], ids["zhang"], ids["labour"])  # 张三 leads the whole village's roll
        db.session.remove()
    supervisor = login("a-supervisor")
    notice_id = compile_and_publish(supervisor)
    token = stored(app, notice_id).token

    for url in (f"/notices/{notice_id}", f"/n/{token}"):
        reader = supervisor if url.startswith("/notices") else client
        everyone = _roll(text(reader.get(url)))
        assert "0101 张三" in everyone and "0102 李四" in everyone
        assert (
            f'href="{url}?who=party#roll"' in everyone
            and '<strong aria-current="true">全部</strong>' in everyone
        )
        party = _roll(text(reader.get(url, query_string={"who": "party"})))
        assert "0102 李四" in party and "张三" not in party
        assert "红黑榜 · 党员户" in party and f'href="{url}?who=all#roll"' in party
        assert "0101 张三" in _roll(text(reader.get(url, query_string={"who": "nonsense"})))  # 全部

    paper = text(supervisor.get(f"/notices/{notice_id}/print"))
    assert "红黑榜 · 党员户" in paper and "?who=" not in paper  # both rolls on paper, no links


def test_a_notice_without_a_party_roll_shows_no_filter(app, ids, login):
    supervisor = login("a-supervisor")
    notice_id = compile_and_publish(supervisor)
    page = text(supervisor.get(f"/notices/{notice_id}", query_string={"who": "party"}))
    roll = _roll(page)
    assert "0101 张三" in roll and "?who=" not in roll and "党员户" not in page
