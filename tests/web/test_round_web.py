"""The grid worker's round pages (/round): the list of their groups' households, the inspection and the
points proposal with a photo, the refusals outside their groups, and the administration of the role (user
form, groups, the village's direct setting)."""

import io
import re
from contextlib import contextmanager

import pytest
from PIL import Image
from sqlalchemy import select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Inspection, LedgerEntry, PointsClaim, User, Village
from lovemart.models.inspections import CHECKS
from tests.factories import make_grid_user, make_household, make_user, make_village
from tests.points_helpers import carded_household, make_rule


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', html)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "brown").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def ids(app):
    with app.app_context():
        a = make_village("a", groups=("一组", "二组", "三组"))
        b = make_village("b", township="交里乡")
        ids = {
            "a": a,
            "h1": carded_household(a, number="01001", group="一组", head="王大山")[0],
            "h2": carded_household(a, number="01002", group="一组", head="李小河")[0],
            "h3": carded_household(a, number="03001", group="三组", head="赵三")[0],
            "other": carded_household(a, number="02001", group="二组", head="钱二")[0],
            "no_card": make_household(a, number="01003", group="一组", head="孙无卡"),
            "foreign": carded_household(b, number="01001")[0],
            "labour": make_rule(a, "义务劳动", "volunteer", 10),
            "litter": make_rule(a, "柴草杂物乱堆乱放", "deduction", -5),
        }
        ids["grid"] = make_grid_user("wangge", "a", ("一组", "三组"))
        make_user("supervisor", Role.SUPERVISOR, "a")
        make_user("sysadmin", Role.SYSADMIN)
        db.session.remove()
        return ids


@pytest.fixture
def worker(login, ids):
    return login("wangge")


def test_the_home_page_of_a_grid_worker_is_the_round(worker):
    response = worker.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/round/")


def test_the_round_lists_only_the_workers_groups_in_order_with_buttons(worker, ids):
    page = worker.get("/round/").get_data(as_text=True)
    html = page.split('class="round-list"')[1]
    assert (
        html.index("一组")
        < html.index("01001")
        < html.index("01002")
        < html.index("三组")
        < html.index("03001")
    )
    assert "02001" not in html and "钱二" not in html
    assert f"/round/households/{ids['h1']}/inspect" in html and f"/round/households/{ids['h1']}/score" in html
    assert "孙无卡" in html and f"/round/households/{ids['no_card']}/score" not in html
    assert "未发卡，暂不能记分" in html and "本月已检查 0 / 4 户，已记分 0 / 4 户。" in page
    menu = page.split("<main")[0]
    assert "入户记分</a>" in menu and "/households/" not in menu  # its menu: the round alone


def test_pages_outside_the_workers_groups_are_refused_and_another_villages_not_found(worker, ids):
    for action in ("inspect", "score"):
        assert worker.get(f"/round/households/{ids['other']}/{action}").status_code == 403
        assert worker.get(f"/round/households/{ids['foreign']}/{action}").status_code == 404
    refused = worker.post(
        f"/round/households/{ids['other']}/score", data={"rule_id": ids["labour"], "request_key": "x-1"}
    )
    assert refused.status_code == 403
    assert worker.get("/households/").status_code == 403 and worker.get("/points/").status_code == 403


def test_an_inspection_from_the_round_is_recorded_under_the_worker(app, worker, ids):
    form = worker.get(f"/round/households/{ids['h1']}/inspect").get_data(as_text=True)
    assert len(re.findall(r'<input checked[^>]*type="checkbox"', form)) == 6  # the round starts all ticked
    data = {"inspected_on": "2026-11-20", "inspector": "王网格", "note": "院内杂物"}
    data |= {column: "y" for column, _label in CHECKS[:-1]}  # 物品摆放规范 fails
    response = worker.post(f"/round/households/{ids['h1']}/inspect", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/round/#h{ids['h1']}")
    with fresh_session(app) as session:
        inspection = session.scalar(
            select(Inspection).where(Inspection.household_id == ids["h1"]).order_by(Inspection.id.desc())
        )
        assert (inspection.passed, inspection.recorded_by_id, inspection.note) == (
            False,
            ids["grid"],
            "院内杂物",
        )
        event = session.scalar(
            select(AuditEvent).where(
                AuditEvent.tag == "inspection:inspection:record", AuditEvent.subject_id == inspection.id
            )
        )
        assert event.actor_id == ids["grid"]
    html = worker.get("/round/").get_data(as_text=True)
    assert flashes(html) == ["01001 王大山：未全部达标，已记录。"] and "未达标" in html


def test_a_deduction_with_a_photo_waits_for_the_supervisor_who_approves_it(app, login, worker, ids):
    response = worker.post(
        f"/round/households/{ids['h2']}/score",
        data={
            "rule_id": ids["litter"],
            "note": "柴草堆在路边",
            "request_key": "round-1",
            "photo": (io.BytesIO(jpeg()), "litter.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    again = worker.post(  # a double click: recorded once
        f"/round/households/{ids['h2']}/score", data={"rule_id": ids["litter"], "request_key": "round-1"}
    )
    assert again.status_code == 302
    html = worker.get("/round/").get_data(as_text=True)
    assert flashes(html) == ["01002 李小河：-5 分已提交，待监督员审核"] * 2 and "待审 -5" in html
    with fresh_session(app) as session:
        (claim,) = session.scalars(select(PointsClaim)).all()
        assert (claim.status, claim.points, claim.recorded_by_id) == ("pending", -5, ids["grid"])
        assert claim.evidence and len(claim.evidence) == 32
        claim_id, evidence = claim.id, claim.evidence
    supervisor = login("supervisor")
    queue = supervisor.get("/points/approvals").get_data(as_text=True)
    assert "01002 李小河" in queue and "wangge（网格员）" in queue and f"/photos/{evidence}" in queue
    assert supervisor.post(f"/points/claims/{claim_id}/approve").status_code == 302
    with fresh_session(app) as session:
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.evidence == evidence))
        assert (entry.points, entry.recorded_by_id, entry.approved_by_id) == (
            -5,
            ids["grid"],
            supervisor_id(session),
        )
    audit = supervisor.get("/audit/").get_data(as_text=True)
    assert "wangge（网格员）" in audit  # the audit log names the proposer
    assert "-5" in worker.get("/round/").get_data(as_text=True)


def supervisor_id(session) -> int:
    return session.scalar(select(User.id).where(User.username == "supervisor"))


def test_with_the_village_setting_the_workers_points_count_at_once(app, worker, ids):
    with app.app_context():
        with unit_of_work() as session:
            session.get(Village, ids["a"]).grid_awards_direct = True
        db.session.remove()
    response = worker.post(
        f"/round/households/{ids['h3']}/score", data={"rule_id": ids["labour"], "request_key": "round-2"}
    )
    assert response.status_code == 302
    assert flashes(worker.get("/round/").get_data(as_text=True)) == ["03001 赵三：已记入 +10 分"]
    with fresh_session(app) as session:
        assert session.scalar(select(PointsClaim.id)) is None
        assert (
            session.scalar(select(LedgerEntry).where(LedgerEntry.rule_id == ids["labour"])).recorded_by_id
            == ids["grid"]
        )


def test_the_system_admin_creates_a_grid_worker_with_groups_and_changes_them(app, login, ids):
    sysadmin = login("sysadmin")
    form = sysadmin.get("/admin/users/new").get_data(as_text=True)
    assert "网格员" in form and "负责的村民小组" in form
    base = {
        "username": "grid2",
        "display_name": "周网格",
        "role": "grid",
        "village_id": ids["a"],
        "password": "password123",
    }
    refused = sysadmin.post("/admin/users/new", data=base | {"groups": ""})
    assert "网格员至少要负责一个村民小组。" in refused.get_data(as_text=True)
    unknown = sysadmin.post("/admin/users/new", data=base | {"groups": "九组"})
    assert "本村没有名为“九组”的村民小组。" in unknown.get_data(as_text=True)
    assert sysadmin.post("/admin/users/new", data=base | {"groups": "二组，三组"}).status_code == 302
    with fresh_session(app) as session:
        user = session.scalar(select(User).where(User.username == "grid2"))
        assert [g.name for g in user.groups] == ["二组", "三组"]
        user_id = user.id
    listing = sysadmin.get("/admin/users").get_data(as_text=True)
    assert "二组、三组" in listing and f"/admin/users/{user_id}/groups" in listing
    assert "二组，三组" in sysadmin.get(f"/admin/users/{user_id}/groups").get_data(as_text=True)
    assert sysadmin.post(f"/admin/users/{user_id}/groups", data={"groups": "一组"}).status_code == 302
    with fresh_session(app) as session:
        assert [g.name for g in session.get(User, user_id).groups] == ["一组"]
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.tag == "user:user:update", AuditEvent.subject_id == user_id)
        )
        assert event.data == {"before": {"groups": ["二组", "三组"]}, "after": {"groups": ["一组"]}}


def test_the_village_settings_form_turns_the_direct_setting_on(app, login, ids):
    sysadmin = login("sysadmin")
    form = sysadmin.get(f"/admin/villages/{ids['a']}").get_data(as_text=True)
    assert "网格员记分直接入账" in form
    with fresh_session(app) as session:
        village = session.get(Village, ids["a"])
        data = {
            "base_points": village.base_points,
            "yuan_per_point": village.yuan_per_point,
            "card_prefix": village.card_prefix,
            "notice_days": village.notice_days,
            "quiet_days": village.quiet_days,
            "grid_awards_direct": "y",
        }
    assert sysadmin.post(f"/admin/villages/{ids['a']}", data=data).status_code == 302
    with fresh_session(app) as session:
        assert session.get(Village, ids["a"]).grid_awards_direct is True
        event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "village:village:update"))
        assert event.data == {"before": {"grid_awards_direct": False}, "after": {"grid_awards_direct": True}}


def test_the_supervisors_signals_and_the_township_dashboard_name_a_quiet_group(app, login, worker, ids):
    with app.app_context():
        make_user("yingwang", Role.TOWNSHIP, "a")
        db.session.remove()
    supervisor, township = login("supervisor"), login("yingwang")
    signals = supervisor.get("/audit/signals").get_data(as_text=True)
    assert (
        "本月网格员还没有任何记录的村民小组：" in signals
        and "一组（wangge（网格员））；三组（wangge（网格员））" in signals
    )
    dashboard = township.get("/county/").get_data(as_text=True)
    warnings = dashboard[
        dashboard.index("冷清提醒") : dashboard.index("</section>", dashboard.index("冷清提醒"))
    ]
    assert (
        "a村" in warnings
        and "网格员本月未记录：一组（wangge（网格员））、三组（wangge（网格员））" in warnings
    )
    worker.post(f"/round/households/{ids['h1']}/score", data={"rule_id": ids["labour"], "request_key": "q-1"})
    signals = supervisor.get("/audit/signals").get_data(as_text=True)
    assert "三组（wangge（网格员））" in signals and "一组（wangge" not in signals


def test_the_supervisor_sees_a_grid_worker_scoring_their_own_household_before_approving(app, login, ids):
    with app.app_context():
        make_grid_user("wangjia", "a", ("一组",), household_number="01002")
        db.session.remove()
    own = login("wangjia")
    for household in (ids["h1"], ids["h2"]):
        own.post(
            f"/round/households/{household}/score",
            data={"rule_id": ids["labour"], "request_key": f"own-{household}"},
        )
    queue = login("supervisor").get("/points/approvals").get_data(as_text=True)
    flagged = re.findall(r'<li class="card claim" id="claim-\d+">(.*?)</li>', queue, re.S)
    assert len(flagged) == 2
    marks = {("01002" in item, "给自己家记分" in item) for item in flagged}
    assert marks == {(True, True), (False, False)}
