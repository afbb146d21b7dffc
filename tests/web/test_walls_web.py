"""The wish wall through the browser's forms: a villager posts from the phone, the supervisor approves,
the administrator records the donor and the fulfilment, the public wall shows it; user text is escaped."""

import re

import pytest

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.services import donations
from tests.factories import make_user
from tests.points_helpers import carded_household, points_village
from tests.villager import scan


@pytest.fixture
def world(app):
    with app.app_context():
        a, b = points_village("a"), points_village("b")
        household, token = carded_household(a, head="王建华", number="01001")
        _, b_token = carded_household(b, head="李四")
        for role in (Role.ADMIN, Role.SUPERVISOR):
            make_user(f"a-{role.value}", role, "a")
        make_user("b-supervisor", Role.SUPERVISOR, "b")
        with unit_of_work() as session:
            donor = donations.save_donor(
                session, actor=None, village_id=a, name="宜川爱心企业", kind="enterprise"
            ).id
        db.session.remove()
    return {"a": a, "household": household, "token": token, "b_token": b_token, "donor": donor}


def key_of(html: str) -> str:
    return re.search(r'name="request_key" type="hidden" value="([^"]+)"', html).group(1)


def post_from_phone(client, token, text):
    scan(client, token)
    key = key_of(client.get("/me/wishes").get_data(as_text=True))
    data = {"text": text, "category": "study", "request_key": key}
    first = client.post("/me/wishes", data=data)
    again = client.post("/me/wishes", data=data)  # a double tap
    assert first.status_code == again.status_code == 302
    return first


def wish_id(html: str) -> int:
    return int(re.search(r'href="/walls/(\d+)"', html).group(1))


def test_villager_to_response_wall(client, login, world):
    post_from_phone(client, world["token"], "想要一个书包<script>alert(1)</script>")
    mine = client.get("/me/wishes").get_data(as_text=True)
    assert "待审核" in mine and "<script>alert(1)</script>" not in mine and "&lt;script&gt;" in mine
    assert "书包" not in login("a-admin").get("/wall/a").get_data(as_text=True)  # not on the wall yet

    supervisor = login("a-supervisor")
    queue = supervisor.get("/walls/?tab=pending").get_data(as_text=True)
    assert len(re.findall(r'href="/walls/\d+"', queue)) == 1  # the double tap made one wish
    wid = wish_id(queue)
    assert supervisor.post(f"/walls/{wid}/approve").status_code == 302

    admin = login("a-admin")
    assert admin.post(f"/walls/{wid}/approve").status_code == 403  # moderation is the supervisor's
    assert (
        admin.post(f"/walls/{wid}/pledge", data={"donor_id": world["donor"], "note": "下周送"}).status_code
        == 302
    )
    assert (
        admin.post(f"/walls/{wid}/fulfil", data={"fulfilment": "书包已送到", "thanks": "谢谢"}).status_code
        == 302
    )

    wall = client.get("/wall/a").get_data(as_text=True)  # public: no sign-in
    assert "书包已送到" in wall and "王家" in wall and "王建华" not in wall and "01001" not in wall
    assert "<script>alert(1)</script>" not in wall
    detail = admin.get(f"/walls/{wid}").get_data(as_text=True)
    for step in ("提出心愿", "审核通过，上墙", "爱心认领", "心愿实现"):
        assert step in detail
    assert "已实现" in client.get("/me/wishes").get_data(as_text=True)


def test_the_wall_prints_on_a4_with_the_paper_stylesheets(client, login, world):
    """/walls/print is a paper page like the notice and the stocktake: print.css and A4 (page-a4.css), no
    app stylesheet, tables with set column widths; an empty wall says so."""
    supervisor = login("a-supervisor")
    empty = supervisor.get("/walls/print").get_data(as_text=True)
    assert "暂时没有待实现的心愿。" in empty and "还没有实现的心愿。" in empty
    post_from_phone(client, world["token"], "想要一个书包")
    wid = wish_id(supervisor.get("/walls/?tab=pending").get_data(as_text=True))
    assert supervisor.post(f"/walls/{wid}/approve").status_code == 302
    sheet = supervisor.get("/walls/print").get_data(as_text=True)
    assert "css/print.css" in sheet and "css/page-a4.css" in sheet and "css/app.css" not in sheet
    assert '<main class="sheet-a4">' in sheet
    table = sheet[sheet.index('<table class="report-table wall-table">') :]
    assert table.index('<col class="col-family">') < table.index("王家") < table.index("想要一个书包")
    assert re.findall(r"<script(?![^>]*\bsrc=)", sheet) == [] and 'style="' not in sheet


def test_a_declined_wish_shows_its_reason_to_the_household(client, login, world):
    post_from_phone(client, world["token"], "想要现金")
    supervisor = login("a-supervisor")
    wid = wish_id(supervisor.get("/walls/").get_data(as_text=True))
    refused = supervisor.post(f"/walls/{wid}/decline", data={"reason": ""})
    assert refused.status_code == 422 and "请填写原因" in refused.get_data(as_text=True)
    supervisor.post(f"/walls/{wid}/decline", data={"reason": "积分不兑换现金"})
    assert "积分不兑换现金" in client.get("/me/wishes").get_data(as_text=True)


def test_administrator_posts_for_a_household_by_number(login, world):
    admin = login("a-admin")
    form = admin.get("/walls/new").get_data(as_text=True)
    data = {
        "household_number": "nope",
        "text": "想要化肥",
        "category": "farming",
        "request_key": key_of(form),
    }
    refused = admin.post("/walls/new", data=data)
    assert refused.status_code == 200 and "本村没有户号为 nope 的农户" in refused.get_data(as_text=True)
    done = admin.post("/walls/new", data=data | {"household_number": "01001"})
    assert done.status_code == 302
    assert "管理员代登记" in admin.get(done.headers["Location"]).get_data(as_text=True)


def test_another_villages_supervisor_sees_and_moderates_nothing(client, login, world):
    post_from_phone(client, world["token"], "想要一个书包")
    wid = wish_id(login("a-supervisor").get("/walls/").get_data(as_text=True))
    other = login("b-supervisor")
    assert other.get(f"/walls/{wid}").status_code == 404
    assert other.post(f"/walls/{wid}/approve").status_code == 404
    assert "书包" not in other.get("/walls/").get_data(as_text=True)


def test_the_public_wall_of_an_unknown_village_is_a_plain_404(client, world):
    response = client.get("/wall/nowhere")
    assert response.status_code == 404 and "找不到这个村的心愿墙" in response.get_data(as_text=True)
