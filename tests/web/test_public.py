"""The villager's QR page /c/<token> and its application form: what it shows, what it hides, what it costs."""

import gzip
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import Card, PointsClaim
from lovemart.models.points import ClaimStatus
from lovemart.services import cards, points
from lovemart.web.photos import file_store
from tests.points_helpers import carded_household, make_rule, points_village
from tests.villager import page, post, scan

STATIC = Path(__file__).resolve().parents[2] / "static"
INVALID = "此卡无效"
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


@pytest.fixture
def world(app):
    """Village a (2 yuan a point) with 张三's carded household and rules; village b with 李四's."""
    with app.app_context():
        a = points_village("a", yuan_per_point=2, card_prefix="A")
        household, token = carded_household(a, head="张三")
        labour = make_rule(a, "义务劳动（全天）", "volunteer", 10)
        litter = make_rule(a, "乱倒垃圾", "deduction", -5)
        filial = make_rule(a, "孝敬老人", "family_virtue", 8)
        retired = make_rule(a, "旧细则", "volunteer", 3)
        b = points_village("b", card_prefix="B")
        b_household, b_token = carded_household(b, head="李四")
        b_rule = make_rule(b, "b村专用细则", "volunteer", 7)
        with unit_of_work() as session:
            from lovemart.services import rules

            rules.set_active(session, actor=None, village_id=a, rule_id=retired, active=False)
        db.session.remove()
    return {
        "a": a,
        "household": household,
        "token": token,
        "labour": labour,
        "litter": litter,
        "filial": filial,
        "retired": retired,
        "b": b,
        "b_household": b_household,
        "b_token": b_token,
        "b_rule": b_rule,
    }


def award(village_id, household_id, rule_id, times=1, **kwargs):
    with unit_of_work() as session:
        for _ in range(times):
            points.award(
                session,
                actor=None,
                village_id=village_id,
                household_id=household_id,
                rule_id=rule_id,
                **kwargs,
            )


def text(response) -> str:
    return response.get_data(as_text=True)


def entry_lines(html: str) -> list[str]:
    section = html[html.index("最近记录") : html.index("我的申报")]
    return [
        re.sub(r"(?:<[^>]+>)+", "|", li).strip("|") for li in re.findall(r"<li>(.*?)</li>", section, re.S)
    ]


# --- what the page shows -----------------------------------------------------------------------------


def test_page_shows_village_head_balance_yuan_and_entries(app, client, world):
    with app.app_context():
        award(world["a"], world["household"], world["labour"])
        award(world["a"], world["household"], world["litter"])
    response = page(client, world["token"])
    html = text(response)
    assert response.status_code == 200
    assert "a村" in html and "户主：张三" in html
    assert "<strong>105</strong> 分" in html
    assert "价值 210 元" in html  # 105 points × 2 yuan
    assert "积分卡 A00001" in html
    lines = entry_lines(html)
    assert len(lines) == 3
    assert lines[0].endswith("|乱倒垃圾|-5")
    assert lines[1].endswith("|义务劳动（全天）|+10")
    assert lines[2].endswith("|基础积分|+100")
    assert re.match(r"\d{4}-\d{2}-\d{2}\|", lines[0])
    assert 'href="/me/apply"' in html
    assert "<script" not in html and "style=" not in html and "<style" not in html


def test_only_the_last_ten_entries_newest_first(app, client, world):
    with app.app_context():
        award(world["a"], world["household"], world["labour"], times=12)
    lines = entry_lines(text(page(client, world["token"])))
    assert len(lines) == 10
    assert all(line.endswith("|义务劳动（全天）|+10") for line in lines)  # the base entry is older


def test_dates_are_shown_in_asia_shanghai(app, client, world, monkeypatch):
    """An entry made at 20:00 UTC on 31 March is on 1 April in the village."""
    from datetime import UTC, datetime

    monkeypatch.setattr(points, "utcnow", lambda: datetime(2026, 3, 31, 20, 0, tzinfo=UTC))
    with app.app_context():
        award(world["a"], world["household"], world["labour"])
    assert entry_lines(text(page(client, world["token"])))[0].startswith("2026-04-01|")


def test_reversal_is_labelled_with_the_rule_it_corrects(app, client, world):
    with app.app_context():
        award(world["a"], world["household"], world["labour"])
        with unit_of_work() as session:
            from lovemart.models import LedgerEntry

            wrong = session.scalar(select(LedgerEntry.id).where(LedgerEntry.rule_id == world["labour"]))
            points.reverse(session, actor=None, village_id=world["a"], entry_id=wrong, reason="录错户")
    assert entry_lines(text(page(client, world["token"])))[0].endswith("|冲正：义务劳动（全天）|-10")


def test_large_print_mode_shows_fewer_entries_and_links_back(app, client, world):
    with app.app_context():
        award(world["a"], world["household"], world["labour"], times=8)
    html = text(page(client, world["token"], "?big=1"))
    assert '<body class="big">' in html
    assert len(entry_lines(html)) == 5
    assert 'href="/me?big=0">标准版' in html
    standard = text(page(client, world["token"], "?big=0"))
    assert '<body class="big">' not in standard
    assert 'href="/me?big=1">长辈版（大字）' in standard


def test_large_print_stays_on_once_chosen_until_switched_off(app, client, world):
    scan(client, world["token"])
    chosen = client.get("/me?big=1")
    (kept,) = [c for c in chosen.headers.getlist("Set-Cookie") if c.startswith("lovemart_big=")]
    assert "Path=/me" in kept and "HttpOnly" in kept and "Max-Age=" in kept
    # every villager page, without asking again, also after the card is scanned again
    for path in ("/me", "/me/goods", "/me/apply", "/me/objections", "/me/notices"):
        assert '<body class="big">' in text(client.get(path)), path
    scan(client, world["token"])
    again = client.get("/me")
    assert '<body class="big">' in text(again) and len(entry_lines(text(again))) <= 5
    assert not [c for c in again.headers.getlist("Set-Cookie") if c.startswith("lovemart_big=")]

    off = client.get("/me?big=0")
    assert '<body class="big">' not in text(off)
    assert any(c.startswith("lovemart_big=;") for c in off.headers.getlist("Set-Cookie"))  # deleted
    for path in ("/me", "/me/goods"):
        assert '<body class="big">' not in text(client.get(path)), path


def test_every_villager_page_links_to_the_other_language(app, client, world):
    scan(client, world["token"])
    for path in ("/me", "/me/goods", "/me/apply", "/me/objections"):
        assert f'href="/lang/en?next={path}" lang="en">English</a>' in text(client.get(path)), path
    switched = client.get("/lang/en?next=/me/goods")
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/me/goods")
    english = text(client.get("/me/goods"))
    assert '<html lang="en">' in english
    assert 'href="/lang/zh_Hans_CN?next=/me/goods" lang="zh-CN">中文</a>' in english
    client.get("/lang/zh_Hans_CN?next=/me")
    assert '<html lang="zh-CN">' in text(client.get("/me"))


def test_the_invalid_page_never_puts_the_token_in_its_language_link(client, world):
    html = text(client.get(f"/c/{'u' * 32}"))
    assert "u" * 32 not in html and 'href="/lang/en?next=/me"' in html


def test_page_headers_forbid_caching_and_referrers(client, world):
    response = page(client, world["token"])
    for header, value in PRIVATE_HEADERS.items():
        assert response.headers[header] == value
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self';" in csp  # the page's own checking script only
    assert "unsafe" not in csp and "connect-src" not in csp
    # reading the page starts no session: the only cookie is the card's own, renewed
    assert [c.split("=")[0] for c in response.headers.getlist("Set-Cookie")] == ["lovemart_card"]


def test_page_is_in_english_for_a_reader_who_chose_it(client, world):
    client.get("/lang/en")
    html = text(page(client, world["token"]))
    assert '<html lang="en">' in html
    for english in (
        "Current points",
        "Recent entries",
        "Apply for points",
        "Large print",
        "Head of household: 张三",
    ):
        assert english in html, english
    assert "当前积分" not in html


# --- dead and unknown tokens -------------------------------------------------------------------------


def _kill(app, world, how: str) -> None:
    with app.app_context(), unit_of_work() as session:
        card = session.scalar(select(Card).where(Card.token == world["token"]))
        if how == "lost":
            cards.reissue(session, actor=None, village_id=world["a"], card_id=card.id)
        else:
            cards.recover(session, actor=None, village_id=world["a"], card_id=card.id)


@pytest.mark.parametrize("how", ["lost", "recovered"])
def test_dead_and_unknown_tokens_get_identical_answers(app, client, world, query_counter, how):
    phone = scan(app.test_client(), world["token"])  # scanned while the card still worked
    _kill(app, world, how)
    unknown_token = "x" * len(world["token"])
    with query_counter() as dead_sql:
        dead = client.get(f"/c/{world['token']}")
    with query_counter() as unknown_sql:
        unknown = client.get(f"/c/{unknown_token}")
    assert dead.status_code == unknown.status_code == 404
    assert dead.get_data() == unknown.get_data()
    assert INVALID in text(dead)
    assert "张三" not in text(dead) and "a村" not in text(dead)
    assert sorted(dead.headers.keys()) == sorted(unknown.headers.keys())
    for header, value in PRIVATE_HEADERS.items():
        assert dead.headers[header] == unknown.headers[header] == value
    # the same lookup, statement for statement: nothing to time
    assert dead_sql == unknown_sql and len(dead_sql) >= 1
    # a phone that opened the card before stops at once, on every page
    for path in ("", "/apply", "/goods"):
        assert phone.get(f"/me{path}").get_data() == unknown.get_data()
    assert phone.post("/me/apply", data={}).status_code == 404


def test_the_card_token_leaves_the_address_bar(client, world):
    """The QR link answers with a cookie and a redirect, so the token is not in history or a Referer."""
    response = client.get(f"/c/{world['token']}")
    assert response.status_code == 303 and response.headers["Location"] == "/me"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/me" in cookie
    assert world["token"] not in cookie  # signed, and not the raw token either way a page could show it
    html = text(client.get("/me"))
    assert world["token"] not in html and "张三" in html


def test_villager_pages_need_a_scanned_card(client, world):
    for path in ("", "/apply", "/goods"):
        response = client.get(f"/me{path}")
        assert response.status_code == 404 and INVALID in text(response)


def test_a_forged_or_expired_card_cookie_opens_nothing(app, client, world):
    client.set_cookie("lovemart_card", world["token"], path="/me")  # unsigned: forged
    assert client.get("/me").status_code == 404
    scan(client, world["token"])
    app.config["VILLAGER_SESSION_SECONDS"] = -1  # every cookie issued so far is now too old
    response = client.get("/me")
    assert response.status_code == 401 and "张三" not in text(response)


SCAN_AGAIN = "请重新扫描积分卡上的二维码"


def test_a_timed_out_session_asks_kindly_to_scan_again(app, client, world):
    scan(client, world["token"])
    app.config["VILLAGER_SESSION_SECONDS"] = -1  # the server's clock ran out: the cookie is still there
    for path in ("/me", "/me/goods", "/me/objections"):
        response = client.get(path)
        html = text(response)
        assert response.status_code == 401, path
        assert "请重新扫码" in html and SCAN_AGAIN in html
        assert INVALID not in html and "已挂失" not in html and "张三" not in html
        assert response.headers["Cache-Control"] == "no-store"
    app.config["VILLAGER_SESSION_SECONDS"] = 30 * 60

    # the phone's browser dropped the card cookie at its max-age: the scan's marker remains
    phone = scan(app.test_client(), world["token"])
    marker = phone.get(f"/c/{world['token']}").headers.getlist("Set-Cookie")
    assert any(c.startswith("lovemart_scanned=1;") and "Path=/me" in c for c in marker)
    assert not any(world["token"] in c for c in marker if c.startswith("lovemart_scanned"))
    phone.delete_cookie("lovemart_card", path="/me")
    response = phone.get("/me")
    assert response.status_code == 401 and SCAN_AGAIN in text(response)

    # scanning again opens the page
    assert "张三" in text(page(phone, world["token"]))


def test_a_phone_that_never_scanned_and_a_lost_card_still_get_the_invalid_page(app, client, world):
    assert INVALID in text(client.get("/me"))  # no cookie at all
    phone = scan(app.test_client(), world["token"])
    _kill(app, world, "lost")
    response = phone.get("/me")  # a live session of a card reported lost meanwhile
    assert response.status_code == 404 and INVALID in text(response) and "请重新扫码" not in text(response)


def test_reissued_card_opens_the_same_account(app, client, world):
    with app.app_context(), unit_of_work() as session:
        card = session.scalar(select(Card).where(Card.token == world["token"]))
        new_token = cards.reissue(session, actor=None, village_id=world["a"], card_id=card.id).token
    html = text(page(client, new_token))
    assert "<strong>100</strong>" in html and "A00002" in html


@pytest.mark.parametrize("token", ["a" * 65, "short", "%00" * 12, "..", "' OR 1=1 --", "%E5%8D%A1" * 8])
def test_malformed_tokens_get_the_same_invalid_page_after_the_same_lookup(
    client, world, query_counter, token
):
    with query_counter() as unknown_sql:
        unknown = client.get(f"/c/{'u' * 32}")
    with query_counter() as malformed_sql:
        response = page(client, token)
    assert response.status_code == 404
    assert response.get_data() == unknown.get_data()
    assert len(malformed_sql) == len(unknown_sql)


# --- isolation ---------------------------------------------------------------------------------------


def test_another_villages_data_never_appears(app, client, world):
    with app.app_context():
        award(world["b"], world["b_household"], world["b_rule"])
    a_html = text(page(client, world["token"]))
    for foreign in ("李四", "b村", "B00001", "b村专用细则"):
        assert foreign not in a_html
    a_form = text(page(client, world["token"], "/apply"))
    assert "b村专用细则" not in a_form and "孝敬老人" in a_form
    b_html = text(page(client, world["b_token"]))
    assert "李四" in b_html and "<strong>107</strong>" in b_html and "张三" not in b_html


def test_applying_under_another_villages_rule_is_refused(app, client, world):
    response = post(
        client,
        world["token"],
        "/apply",
        data={"rule_id": world["b_rule"], "note": "想要别村的分", "request_key": "k" * 22},
    )
    assert response.status_code == 200
    assert "不是有效的选择" in text(response)
    assert claim_count(app) == 0


# --- redemptions -------------------------------------------------------------------------------------


def redeem(village_id, lines: dict[int, int], key: str):
    from lovemart.services import redemptions

    with unit_of_work() as session:
        redemptions.redeem(
            session,
            actor=None,
            village_id=village_id,
            card_number="A00001",
            lines=[redemptions.CartLine(product, quantity) for product, quantity in lines.items()],
            idempotency_key=key,
        )


def test_each_redemption_shows_the_goods_taken(app, client, world):
    from tests.shop_helpers import make_product

    with app.app_context():
        rice = make_product(world["a"], "大米", 10, stock=20)
        oil = make_product(world["a"], "食用油", 15, stock=20)
        soap = make_product(world["a"], "肥皂", 2, stock=20, zone="洗化区")
        redeem(world["a"], {rice: 2, oil: 1}, "r1")
        redeem(world["a"], {soap: 3}, "r2")
    lines = entry_lines(text(page(client, world["token"])))
    assert lines[0].endswith("|兑换|肥皂 × 3|-6")
    assert lines[1].endswith("|兑换|大米 × 2、食用油 × 1|-35")
    assert lines[2].endswith("|基础积分|+100")


def test_goods_of_redemptions_cost_one_statement_however_many(app, client, world, query_counter):
    from tests.shop_helpers import make_product

    with app.app_context():
        rice = make_product(world["a"], "大米", 1, stock=100)
        redeem(world["a"], {rice: 1}, "first")
    scan(client, world["token"])
    with query_counter() as one:
        assert "大米 × 1" in text(client.get("/me"))
    with app.app_context():
        for n in range(8):
            redeem(world["a"], {rice: n + 1}, f"more-{n}")
    with query_counter() as nine:
        html = text(client.get("/me"))
    assert "大米 × 8" in html and len(entry_lines(html)) == 9 + 1
    assert len(one) == len(nine)
    assert sum("redemption_lines" in sql for sql in nine) == 1


# --- cost ----------------------------------------------------------------------------------------------


def test_statement_count_does_not_grow_with_the_ledger(app, client, world, query_counter):
    with app.app_context():
        award(world["a"], world["household"], world["labour"], times=4)  # 5 entries with the base
    scan(client, world["token"])
    with query_counter() as small:
        assert client.get("/me").status_code == 200
    with app.app_context():
        award(world["a"], world["household"], world["labour"], times=195)  # 200 entries
    with query_counter() as large:
        response = client.get("/me")
    assert response.status_code == 200 and "<strong>2090</strong>" in text(response)
    assert len(small) == len(large) <= 7  # with the year's notices to check (none here)
    assert not any("sum(" in sql.lower() or "count(" in sql.lower() for sql in large)


def test_page_with_ten_long_entries_is_under_15_kb_gzipped(app, client, world):
    long_names = [
        f"{i}号：参加全村人居环境整治义务劳动清理河道垃圾和村道两侧杂物并协助修缮村史馆与文化广场" * 2
        for i in range(10)
    ]
    with app.app_context():
        for i, name in enumerate(long_names):
            rule = make_rule(world["a"], name[:100], "volunteer", 10 + i)
            award(world["a"], world["household"], rule, note="备注" * 200)
        with unit_of_work() as session:
            for _ in range(5):
                claim = points.apply(
                    session,
                    village_id=world["a"],
                    household_id=world["household"],
                    rule_id=world["filial"],
                    note="照顾邻居老人" * 40,
                )
                points.reject(
                    session, actor=None, village_id=world["a"], claim_id=claim.id, reason="不符合" * 150
                )
    response = page(client, world["token"])
    body = response.get_data()
    html = body.decode()
    assert len(entry_lines(html)) == 10 and long_names[9][:100] in html
    css = (STATIC / "css" / "public.css").read_bytes()
    total = len(gzip.compress(body, 9)) + len(gzip.compress(css, 9))
    assert total <= 15 * 1024, total
    # everything the page loads is on this site: one stylesheet, no script, image or font
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    assert re.findall(r"<(?:script|img|iframe)", html) == []


# --- rate limit --------------------------------------------------------------------------------------


def test_lookups_are_rate_limited_per_address(app, client, world):
    app.config["CARD_PAGE_RATE_LIMIT"] = "3 per minute"
    scan(client, world["token"])
    assert client.get("/me").status_code == 200
    assert client.get("/c/unknown-token-guess").status_code == 404  # guesses count too
    response = client.get("/me")
    assert response.status_code == 429
    assert "访问太频繁" in text(response) and "张三" not in text(response)
    assert "Retry-After" in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert len(gzip.compress(response.get_data())) < 2048
    assert client.get("/me/apply").status_code == 429  # shared by every villager page
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert other.get(f"/c/{world['token']}").status_code == 303  # another address is not affected


# --- applications --------------------------------------------------------------------------------------


def claim_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(PointsClaim))
        db.session.remove()
        return count


def claims(app) -> list[PointsClaim]:
    with app.app_context():
        rows = list(db.session.scalars(select(PointsClaim).order_by(PointsClaim.id)))
        db.session.expunge_all()
        db.session.remove()
        return rows


def form_key(html: str) -> str:
    return re.search(r'name="request_key" type="hidden" value="([^"]+)"', html).group(1)


def test_application_form_offers_active_earning_rules_only(client, world):
    html = text(page(client, world["token"], "/apply"))
    assert "义务劳动（全天）（10 分）" in html and "孝敬老人（8 分）" in html
    assert "乱倒垃圾" not in html  # a deduction
    assert "旧细则" not in html  # retired
    assert 'enctype="multipart/form-data"' in html
    assert "<script" not in html


def test_application_end_to_end_with_double_submit(app, client, world):
    html = text(page(client, world["token"], "/apply"))
    data = {"rule_id": world["filial"], "note": "照顾隔壁孤寡老人一个月", "request_key": form_key(html)}
    first = post(client, world["token"], "/apply", data=data)
    assert first.status_code == 302 and first.headers["Location"] == "/me"
    second = post(client, world["token"], "/apply", data=data)  # a double tap, or the browser resending
    assert second.status_code == 302
    (claim,) = claims(app)
    assert (claim.status, claim.from_villager, claim.points, claim.note) == (
        ClaimStatus.SUBMITTED,
        True,
        8,
        "照顾隔壁孤寡老人一个月",
    )
    html = text(page(client, world["token"]))
    assert "申报已提交" in html
    assert "孝敬老人" in html and "待受理" in html
    assert "<strong>100</strong>" in html  # not in the balance until accepted

    # a fresh form is a new application
    data2 = {**data, "request_key": form_key(text(page(client, world["token"], "/apply")))}
    assert data2["request_key"] != data["request_key"]
    post(client, world["token"], "/apply", data=data2)
    assert claim_count(app) == 2


def test_declined_application_shows_the_reason(app, client, world):
    with app.app_context(), unit_of_work() as session:
        claim = points.apply(
            session,
            village_id=world["a"],
            household_id=world["household"],
            rule_id=world["labour"],
            note="扫雪",
        )
        points.reject(
            session, actor=None, village_id=world["a"], claim_id=claim.id, reason="当天没有组织义务劳动"
        )
    html = text(page(client, world["token"]))
    assert "未受理" in html and "原因：当天没有组织义务劳动" in html


def test_accepted_application_appears_as_an_entry(app, client, world):
    with app.app_context(), unit_of_work() as session:
        claim = points.apply(
            session,
            village_id=world["a"],
            household_id=world["household"],
            rule_id=world["labour"],
            note="修路",
        )
        points.accept(session, actor=None, village_id=world["a"], claim_id=claim.id)
    html = text(page(client, world["token"]))
    assert "已入账" in html and "<strong>110</strong>" in html


def test_application_refusals_are_shown_on_the_form(app, client, world):
    key = "r" * 22
    empty = post(
        client, world["token"], "/apply", data={"rule_id": world["filial"], "note": "", "request_key": key}
    )
    assert empty.status_code == 200 and "请简要说明做了什么好事" in text(empty)

    with app.app_context():
        from lovemart.services import rules

        with unit_of_work() as session:
            rules.set_active(
                session, actor=None, village_id=world["a"], rule_id=world["filial"], active=False
            )
    retired = post(
        client,
        world["token"],
        "/apply",
        data={"rule_id": world["filial"], "note": "照顾老人", "request_key": key},
    )
    assert retired.status_code == 200
    assert claim_count(app) == 0


def test_application_refused_by_the_service_keeps_the_form(app, client, world):
    """A household that moved out but whose card was not yet taken back: the service refuses, in Chinese."""
    with app.app_context(), unit_of_work() as session:
        from lovemart.services import households

        households.set_active(
            session, actor=None, village_id=world["a"], household_id=world["household"], active=False
        )
    data = {"rule_id": world["filial"], "note": "照顾老人", "request_key": "h" * 22}
    response = post(client, world["token"], "/apply", data=data)
    assert response.status_code == 200
    assert "该户已迁出，不能办理。" in text(response)
    assert "照顾老人" in text(response)  # what was typed is kept
    assert claim_count(app) == 0


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "orange").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_application_with_a_photo_stores_it_once(app, client, world):
    data = {
        "rule_id": world["labour"],
        "note": "清理河道",
        "request_key": "p" * 22,
    }
    for _ in range(2):
        response = post(
            client,
            world["token"],
            "/apply",
            data={**data, "photo": (io.BytesIO(_jpeg()), "river.jpg")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
    (claim,) = claims(app)
    with app.app_context():
        stored = [(village, name) for village, name, _ in file_store("photo").files()]
    assert claim.evidence and stored == [(world["a"], claim.evidence)]  # the double submit stored no second


def test_application_with_a_broken_photo_is_refused_on_the_form(app, client, world):
    response = post(
        client,
        world["token"],
        "/apply",
        data={
            "rule_id": world["labour"],
            "note": "清理河道",
            "request_key": "q" * 22,
            "photo": (io.BytesIO(b"not an image"), "river.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "无法识别该照片" in text(response)
    assert claim_count(app) == 0


def test_application_needs_a_csrf_token(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    data = {"rule_id": world["filial"], "note": "照顾老人", "request_key": "s" * 22}
    refused = post(client, world["token"], "/apply", data=data)
    assert refused.status_code == 400 and "表单已过期" in text(refused)
    assert claim_count(app) == 0
    html = text(page(client, world["token"], "/apply"))
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    accepted = post(client, world["token"], "/apply", data={**data, "csrf_token": csrf})
    assert accepted.status_code == 302
    assert claim_count(app) == 1
