"""Point card pages: issue (and its Chinese refusals), the card with its QR code, one printable card, A4
sheets, report lost and reissue (the old QR dead at once), recover; who may do what; tokens only where
they belong; another village's card or household → 404."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lovemart import qr
from lovemart.db import db, unit_of_work
from lovemart.models import Card, LedgerEntry, PointsAccount, VillagerGroup
from lovemart.models.cards import CardStatus
from lovemart.models.points import AccountStatus
from lovemart.services import cards
from tests.factories import make_household, make_two_villages
from tests.points_helpers import carded_household, make_rule, pass_inspection
from tests.villager import page


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        ids["group2"] = db.session.scalar(
            select(VillagerGroup.id).where(VillagerGroup.village_id == ids["a"], VillagerGroup.name == "二组")
        )
        db.session.remove()
        return ids


@pytest.fixture
def admin(login, ids):
    return login("a-admin")


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(html: str, kind: str = r"\w+") -> list[str]:
    return re.findall(rf'class="flash flash-{kind}"[^>]*>([^<]*)<', html)


def card_of(app, household_id, status=CardStatus.ACTIVE) -> Card | None:
    with fresh_session(app) as session:
        card = session.scalar(
            select(Card)
            .where(Card.household_id == household_id, Card.status == status.value)
            .order_by(Card.id.desc())
        )
        session.expunge_all()
        return card


def account_of(app, household_id) -> PointsAccount | None:
    with fresh_session(app) as session:
        account = session.scalar(select(PointsAccount).where(PointsAccount.household_id == household_id))
        session.expunge_all()
        return account


def passed(app, village_id, household_id):
    with app.app_context():
        pass_inspection(village_id, household_id)
        db.session.remove()


def issue(client, household_id, referrer=None):
    headers = {"Referer": f"http://localhost{referrer}"} if referrer else {}
    return client.post(f"/cards/households/{household_id}/issue", headers=headers)


# --- issue -------------------------------------------------------------------------------------------------


def test_issue_is_refused_in_chinese_until_the_inspection_passed(app, admin, ids):
    household = ids["a_household"]
    detail = f"/households/{household}"
    response = issue(admin, household, referrer=detail)
    assert response.status_code == 302 and response.location.endswith(detail)
    html = text(admin.get(detail))
    assert "该户最近一次“五净一规范”检查未全部达标（尚未检查），暂不能发卡。" in flashes(html, "error")
    assert card_of(app, household) is None and account_of(app, household) is None

    admin.post(
        f"/inspections/households/{household}/new",
        data={"yard_clean": "y", "inspected_on": "2026-11-01", "inspector": "王主任"},
    )
    issue(admin, household, referrer=detail)
    message = flashes(text(admin.get(detail)), "error")[0]
    assert "卧室净、厨房净、厕所净、个人卫生净、物品摆放规范" in message
    assert card_of(app, household) is None


def test_issue_opens_the_card_page_with_number_names_and_qr(app, admin, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    response = issue(admin, household)
    card = card_of(app, household)
    assert response.status_code == 302 and response.location.endswith(f"/cards/{card.id}")
    html = text(admin.get(response.location))
    assert f"已发放积分卡 {card.number}，基础积分已入账。请打印积分卡交给农户。" in flashes(html)
    assert card.number == "A00001"
    assert "张三" in html and "a村" in html and card.number in html
    assert "<svg" in html and "</svg>" in html
    assert f"http://localhost/c/{card.token}" in html
    assert account_of(app, household).balance == 100


def test_the_qr_code_encodes_the_villager_url(app, admin, ids):
    """The SVG is the one lovemart.qr makes for the absolute /c/<token> URL (the phone opens exactly that)."""
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    html = text(admin.get(f"/cards/{card.id}"))
    assert str(qr.svg(f"http://localhost/c/{card.token}")) in html


def test_the_qr_code_uses_the_public_base_url_when_set(app, admin, ids):
    """At the counter PC the administrator may browse on localhost; the printed QR must carry the address
    villagers' phones reach."""
    app.config["PUBLIC_BASE_URL"] = "https://lovemart.example.cn/"
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    url = f"https://lovemart.example.cn/c/{card.token}"
    html = text(admin.get(f"/cards/{card.id}"))
    assert f'href="{url}"' in html and str(qr.svg(url)) in html
    assert str(qr.svg(url)) in text(admin.get(f"/cards/{card.id}/print"))


def test_a_second_issue_is_refused_and_credits_nothing(app, admin, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    response = issue(admin, household, referrer=f"/households/{household}")
    number = card_of(app, household).number
    assert f"该户已有一张正常使用的积分卡（{number}）。" in flashes(
        text(admin.get(response.location)), "error"
    )
    with fresh_session(app) as session:
        assert session.scalars(select(LedgerEntry.points)).all() == [100]


def test_household_page_shows_the_card_box_and_balance_without_the_token(app, admin, login, ids):
    household = ids["a_household"]
    detail = f"/households/{household}"
    html = text(admin.get(detail))
    assert "尚未发卡" in html and f"/cards/households/{household}/issue" in html

    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    html = text(admin.get(detail))
    assert card.number in html and "可用 <strong data-balance-shown>100</strong> 分" in html
    assert "价值约 300 元" in html
    for action in ("", "/reissue", "/recover"):
        assert f'href="/cards/{card.id}{action}"' in html
    assert card.token not in html

    supervisor = text(login("a-supervisor").get(detail))
    assert card.number in supervisor and "<strong data-balance-shown>100</strong>" in supervisor
    assert f"/cards/{card.id}" not in supervisor and "/issue" not in supervisor
    assert card.token not in supervisor


def test_tokens_never_appear_in_lists(app, admin, ids):
    with app.app_context():
        tokens = [carded_household(ids["a"], head=f"户{n}")[1] for n in range(3)]
        db.session.remove()
    for path in ("/households/", "/inspections/", f"/households/{ids['a_household']}", "/"):
        html = text(admin.get(path))
        assert not any(token in html for token in tokens), path


# --- printing ----------------------------------------------------------------------------------------------


def test_a_single_card_prints_at_credit_card_size(app, admin, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    response = admin.get(f"/cards/{card.id}/print")
    assert response.status_code == 200
    html = text(response)
    assert html.count('class="lm-card"') == 1 and "<svg" in html
    assert card.number in html and "张三" in html and "a村" in html
    assert "css/page-card.css" in html
    assert 'class="topbar"' not in html and "主菜单" not in html  # paper: no navigation
    assert "print.css" in html


def test_an_a4_sheet_has_ten_active_cards_a_page(app, admin, ids):
    with app.app_context():
        for n in range(11):
            carded_household(ids["a"], head=f"一组户{n:02d}", group="一组")
        _, lost_token = carded_household(ids["a"], head="挂失户", group="一组")
        carded_household(ids["a"], head="二组户", group="二组")
        carded_household(ids["b"], head="别村户")
        lost = db.session.scalar(select(Card).where(Card.token == lost_token))
        with unit_of_work() as session:
            replacement = cards.reissue(session, actor=None, village_id=ids["a"], card_id=lost.id).token
        db.session.remove()

    html = text(admin.get("/cards/sheet"))
    assert html.count('class="lm-card"') == 13  # 11 + the replacement + 二组's; the lost card is not printed
    assert html.count('class="sheet-page"') == 2
    assert html.count("<svg") == 13
    assert str(qr.svg(f"http://localhost/c/{replacement}")) in html
    assert str(qr.svg(f"http://localhost/c/{lost_token}")) not in html
    assert "别村户" not in html and "css/page-sheet.css" in html

    group_html = text(admin.get(f"/cards/sheet?group={ids['group2']}"))
    assert group_html.count('class="lm-card"') == 1 and "二组户" in group_html
    assert admin.get("/cards/sheet?group=999999").status_code == 200  # an unknown group filters nothing in
    assert "没有可打印的积分卡" in text(admin.get("/cards/sheet?group=999999"))


def test_a_lost_card_cannot_be_printed(app, admin, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    old = card_of(app, household)
    admin.post(f"/cards/{old.id}/reissue")
    response = admin.get(
        f"/cards/{old.id}/print", headers={"Referer": f"http://localhost/households/{household}"}
    )
    assert response.status_code == 302
    assert "该积分卡已挂失或已回收，不能使用。" in flashes(text(admin.get(response.location)), "error")
    page = text(admin.get(f"/cards/{old.id}"))
    assert "已挂失" in page and "<svg" not in page and old.token not in page


# --- reissue and recover -----------------------------------------------------------------------------------


def test_reissue_confirms_then_kills_the_old_qr_and_keeps_the_balance(app, admin, client, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    old = card_of(app, household)
    assert "张三" in text(page(client, old.token))  # the villager's page, before

    confirm = admin.get(f"/cards/{old.id}/reissue")
    assert confirm.status_code == 200
    assert "将立即作废" in text(confirm) and "积分余额和积分记录不变" in text(confirm)
    assert card_of(app, household).id == old.id  # showing the confirm page changed nothing

    response = admin.post(f"/cards/{old.id}/reissue")
    new = card_of(app, household)
    assert new.id != old.id and response.location.endswith(f"/cards/{new.id}")
    assert f"已挂失旧卡并补发新卡 {new.number}，积分余额不变。请打印新卡。" in flashes(
        text(admin.get(response.location))
    )
    assert card_of(app, household, CardStatus.LOST).id == old.id
    assert new.account_id == old.account_id and account_of(app, household).balance == 100

    dead = page(client, old.token)
    assert dead.status_code == 404 and "张三" not in text(dead)
    assert "张三" in text(page(client, new.token))
    assert "停用的卡（1 张）" in text(admin.get(f"/households/{household}"))


def test_recover_confirms_then_freezes_the_account(app, admin, client, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    labour = None
    with app.app_context():
        labour = make_rule(ids["a"], "义务劳动", "volunteer", 10)
        db.session.remove()

    assert "该户积分账户冻结" in text(admin.get(f"/cards/{card.id}/recover"))
    response = admin.post(f"/cards/{card.id}/recover")
    assert response.location.endswith(f"/households/{household}")
    html = text(admin.get(response.location))
    assert f"已回收积分卡 {card.number}，该户积分账户已冻结。" in flashes(html)
    assert "积分卡已回收，积分账户已冻结。" in html
    assert account_of(app, household).status == AccountStatus.FROZEN
    assert client.get(f"/c/{card.token}").status_code == 404

    from lovemart.services import points
    from lovemart.services.errors import AccountFrozen

    with app.app_context(), pytest.raises(AccountFrozen), unit_of_work() as session:
        points.award(session, actor=None, village_id=ids["a"], household_id=household, rule_id=labour)

    again = admin.post(
        f"/cards/{card.id}/recover", headers={"Referer": f"http://localhost/households/{household}"}
    )
    assert "该积分卡已挂失或已回收，不能使用。" in flashes(text(admin.get(again.location)), "error")


def test_a_recovered_household_gets_a_new_card_on_its_old_account(app, admin, ids):
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    first = card_of(app, household)
    admin.post(f"/cards/{first.id}/recover")
    passed(app, ids["a"], household)
    issue(admin, household)
    second = card_of(app, household)
    assert second.id != first.id and second.account_id == first.account_id
    account = account_of(app, household)
    assert account.status == AccountStatus.ACTIVE and account.balance == 100


# --- who may ---------------------------------------------------------------------------------------------


def test_only_the_administrator_may_issue_view_print_or_change_cards(app, login, ids):
    with app.app_context():
        household, _ = carded_household(ids["a"], head="王五")
        ready = make_household(ids["a"], head="赵六")
        pass_inspection(ids["a"], ready)
        db.session.remove()
    card = card_of(app, household)
    for username in ("a-supervisor", "a-leader", "county"):
        client = login(username)
        for path in (
            f"/cards/{card.id}",
            f"/cards/{card.id}/print",
            "/cards/sheet",
            f"/cards/{card.id}/reissue",
        ):
            assert client.get(path).status_code == 403, (username, path)
        for path in (
            f"/cards/households/{ready}/issue",
            f"/cards/{card.id}/reissue",
            f"/cards/{card.id}/recover",
        ):
            assert client.post(path).status_code == 403, (username, path)
    assert card_of(app, ready) is None and card_of(app, household).id == card.id
    anonymous = app.test_client()
    assert anonymous.get(f"/cards/{card.id}").status_code == 302  # to the sign-in page


def test_another_villages_card_or_household_is_not_found(app, admin, ids):
    with app.app_context():
        b_household, b_token = carded_household(ids["b"], head="周七")
        b_ready = make_household(ids["b"], head="吴八")
        pass_inspection(ids["b"], b_ready)
        db.session.remove()
    b_card = card_of(app, b_household)
    for path in (
        f"/cards/{b_card.id}",
        f"/cards/{b_card.id}/print",
        f"/cards/{b_card.id}/reissue",
        f"/cards/{b_card.id}/recover",
    ):
        assert admin.get(path).status_code == 404, path
    for path in (
        f"/cards/{b_card.id}/reissue",
        f"/cards/{b_card.id}/recover",
        f"/cards/households/{b_ready}/issue",
    ):
        assert admin.post(path).status_code == 404, path
    sheet = text(admin.get("/cards/sheet"))
    assert "周七" not in sheet and str(qr.svg(f"http://localhost/c/{b_token}")) not in sheet
    assert card_of(app, b_household).id == b_card.id and card_of(app, b_ready) is None


def test_card_writes_without_a_csrf_token_are_refused(app, admin, ids):
    """CSRF is off in TestConfig; switched on here, as in production, a forged POST changes nothing."""
    household = ids["a_household"]
    passed(app, ids["a"], household)
    issue(admin, household)
    card = card_of(app, household)
    app.config["WTF_CSRF_ENABLED"] = True
    referrer = {"Referer": f"http://localhost/households/{household}"}
    for path in (
        f"/cards/{card.id}/reissue",
        f"/cards/{card.id}/recover",
        f"/cards/households/{household}/issue",
    ):
        response = admin.post(path, headers=referrer)
        assert response.status_code == 302
        assert "表单已过期，请刷新页面后重试。" in flashes(text(admin.get(response.location)), "error")
    assert card_of(app, household).id == card.id and account_of(app, household).status == AccountStatus.ACTIVE
