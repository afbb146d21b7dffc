"""五净一规范 pages as the village administrator uses them: one household's inspection (with a photo), the
not-passing list, and the monthly round of a group; refusals shown on the form; another village → 404."""

import io
import re
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from lovemart.db import db
from lovemart.models import Inspection, LedgerEntry, PointsAccount, VillagerGroup
from lovemart.models.inspections import CHECKS
from tests.factories import make_household, make_two_villages
from tests.points_helpers import ALL_CLEAN, carded_household, make_rule, pass_inspection

COLUMNS = [column for column, _ in CHECKS]


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        groups = db.session.scalars(
            select(VillagerGroup).where(VillagerGroup.village_id == ids["a"]).order_by(VillagerGroup.position)
        ).all()
        ids["group1"], ids["group2"] = groups[0].id, groups[1].id
        ids["b_group"] = db.session.scalar(
            select(VillagerGroup.id).where(VillagerGroup.village_id == ids["b"])
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


def errors(html: str) -> list[str]:
    return re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)


def flashes(client) -> list[str]:
    return re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', text(client.get("/inspections/")))


def inspection_form(checks=ALL_CLEAN, **fields) -> dict:
    data = {column: "y" for column, ok in checks.items() if ok}
    return data | {"inspected_on": "2026-11-02", "inspector": "王主任", "note": ""} | fields


def inspections_of(app, household_id) -> list[Inspection]:
    with fresh_session(app) as session:
        rows = session.scalars(
            select(Inspection).where(Inspection.household_id == household_id).order_by(Inspection.id)
        ).all()
        session.expunge_all()
        return rows


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="PNG")
    return buffer.getvalue()


# --- one household ---------------------------------------------------------------------------------------


def test_form_offers_six_unticked_checks_today_and_the_user_as_inspector(admin, ids):
    response = admin.get(f"/inspections/households/{ids['a_household']}/new")
    assert response.status_code == 200
    html = text(response)
    for column, label in CHECKS:
        assert str(label) in html
        tag = re.search(rf'<input[^>]*name="{column}"[^>]*>', html).group(0)
        assert 'type="checkbox"' in tag and "checked" not in tag
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert f'value="{today}"' in html
    assert re.search(r'name="inspector"[^>]*value="a-admin"', html)  # the display name of make_user
    assert 'enctype="multipart/form-data"' in html


def test_recording_a_passing_inspection_shows_it_in_the_household_history(app, admin, ids):
    household = ids["a_household"]
    response = admin.post(f"/inspections/households/{household}/new", data=inspection_form(note="很干净"))
    assert response.status_code == 302 and response.location.endswith(f"/households/{household}")
    (inspection,) = inspections_of(app, household)
    assert (
        inspection.passed
        and inspection.inspector == "王主任"
        and inspection.inspected_on == date(2026, 11, 2)
    )
    detail = text(admin.get(f"/households/{household}"))
    assert "已记录检查：六项全部达标。" in detail
    assert "2026-11-02" in detail and "六项达标" in detail and "很干净" in detail


def test_a_failed_check_is_recorded_and_named(app, admin, ids):
    household = ids["a_household"]
    checks = ALL_CLEAN | {"toilet_clean": False, "yard_clean": False}
    admin.post(f"/inspections/households/{household}/new", data=inspection_form(checks))
    (inspection,) = inspections_of(app, household)
    assert not inspection.passed and not inspection.toilet_clean and inspection.kitchen_clean
    detail = text(admin.get(f"/households/{household}"))
    assert "未达标：院内净、厕所净" in detail


def test_a_photo_is_stored_and_served_only_within_the_village(app, admin, login, ids):
    household = ids["a_household"]
    data = inspection_form() | {"photo": (io.BytesIO(png_bytes()), "yard.png")}
    response = admin.post(
        f"/inspections/households/{household}/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    (inspection,) = inspections_of(app, household)
    assert inspection.photo and re.fullmatch(r"[0-9a-f]{32}", inspection.photo)
    assert f"/photos/{inspection.photo}" in text(admin.get(f"/households/{household}"))

    photo = admin.get(f"/photos/{inspection.photo}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "private" in photo.headers["Cache-Control"]
    assert Image.open(io.BytesIO(photo.data)).size == (40, 30)
    assert login("a-supervisor").get(f"/photos/{inspection.photo}").status_code == 200
    assert login("b-admin").get(f"/photos/{inspection.photo}").status_code == 404
    assert app.test_client().get(f"/photos/{inspection.photo}").status_code == 302  # to the sign-in page
    assert admin.get("/photos/" + "0" * 32).status_code == 404
    assert admin.get("/photos/..%2F..%2Fsecret_key").status_code == 404


def test_a_photo_that_is_not_an_image_is_refused_on_the_form(app, admin, ids):
    household = ids["a_household"]
    data = inspection_form() | {"photo": (io.BytesIO(b"not an image at all"), "yard.jpg")}
    response = admin.post(
        f"/inspections/households/{household}/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert "无法识别该照片，请上传 JPG 或 PNG 图片。" in errors(text(response))
    assert inspections_of(app, household) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"inspected_on": "2099-01-01"}, "检查日期不能晚于今天。"),
        ({"inspected_on": ""}, "请填写检查日期。"),
        ({"inspector": "  "}, "请填写检查人。"),
    ],
)
def test_refusals_are_shown_on_the_form_and_nothing_is_written(app, admin, ids, fields, message):
    household = ids["a_household"]
    response = admin.post(f"/inspections/households/{household}/new", data=inspection_form(**fields))
    assert response.status_code == 200
    assert message in errors(text(response))
    assert inspections_of(app, household) == []


def test_a_moved_out_household_cannot_be_inspected(app, admin, ids):
    household = ids["a_household"]
    admin.post(f"/households/{household}/active", data={"active": "0"})
    assert "记录检查" not in text(admin.get(f"/households/{household}"))
    response = admin.post(f"/inspections/households/{household}/new", data=inspection_form())
    assert "该户已迁出，不能办理。" in errors(text(response))
    assert inspections_of(app, household) == []


def test_read_only_roles_see_the_lists_but_cannot_inspect(app, login, ids):
    for username in ("a-supervisor", "a-leader", "county"):
        client = login(username)
        assert client.get("/inspections/").status_code == 200
        assert client.get(f"/inspections/households/{ids['a_household']}/new").status_code == 403
        assert (
            client.post(
                f"/inspections/households/{ids['a_household']}/new", data=inspection_form()
            ).status_code
            == 403
        )
        assert client.get("/inspections/round").status_code == 403
        assert "记录检查" not in text(client.get(f"/households/{ids['a_household']}"))
    assert inspections_of(app, ids["a_household"]) == []


def test_another_villages_household_or_group_is_not_found(app, admin, ids):
    b = ids["b_household"]
    assert admin.get(f"/inspections/households/{b}/new").status_code == 404
    assert admin.post(f"/inspections/households/{b}/new", data=inspection_form()).status_code == 404
    assert admin.get(f"/inspections/round?group={ids['b_group']}").status_code == 404
    response = admin.post(
        "/inspections/round",
        data=round_form(ids["b_group"], [b]) | {"request_key": "k" * 22},
    )
    assert response.status_code == 404
    assert inspections_of(app, b) == []


# --- lists -------------------------------------------------------------------------------------------------


def test_index_lists_households_not_passing_and_those_ready_for_a_card(app, admin, ids):
    with app.app_context():
        village = ids["a"]
        ready = make_household(village, head="赵六", number="R1")
        pass_inspection(village, ready)
        carded, _ = carded_household(village, head="钱七", number="R2")
        dirty = make_household(village, head="孙八", number="R3")
        db.session.remove()
    admin.post(
        f"/inspections/households/{dirty}/new", data=inspection_form(ALL_CLEAN | {"kitchen_clean": False})
    )

    html = text(admin.get("/inspections/"))
    ready_part = html[html.index("已达标、待发卡") : html.index("尚未达标")]
    failing_part = html[html.index("尚未达标") :]
    assert "赵六" in ready_part and "钱七" not in ready_part and "孙八" not in ready_part
    assert f"/cards/households/{ready}/issue" in ready_part
    assert "孙八" in failing_part and "未达标：厨房净" in failing_part
    assert "张三" in failing_part and "尚未检查" in failing_part
    assert f"/inspections/households/{dirty}/new" in failing_part
    assert "钱七" not in html and "赵六" not in failing_part
    assert "李四" not in html  # village b
    assert "检查发卡" in html  # the navigation link


# --- the monthly round -------------------------------------------------------------------------------------


def round_form(group, household_ids, *, unticked=None, rules=None, notes=None, key=None) -> dict:
    unticked, rules, notes = unticked or {}, rules or {}, notes or {}
    data = {"group_id": str(group), "inspected_on": "2026-11-15", "inspector": "村两委"}
    if key:
        data["request_key"] = key
    for index, household in enumerate(household_ids):
        prefix = f"rows-{index}-"
        data[prefix + "household_id"] = str(household)
        for column in COLUMNS:
            if column not in unticked.get(household, ()):
                data[prefix + column] = "y"
        data[prefix + "rule"] = str(rules.get(household, ""))
        data[prefix + "note"] = notes.get(household, "")
    return data


@pytest.fixture
def group_one(app, ids):
    """Group 一组 of village a: 张三 (no card), 甲 and 乙 (carded); 丙 of 二组; 丁 of 一组 moved out."""
    with app.app_context():
        village = ids["a"]
        ids["jia"], _ = carded_household(village, head="甲", number="G1", group="一组")
        ids["yi"], _ = carded_household(village, head="乙", number="G2", group="一组")
        ids["bing"] = make_household(village, head="丙", number="G3", group="二组")
        ids["ding"] = make_household(village, head="丁", number="G4", group="一组")
        ids["bonus"] = make_rule(village, "五净一规范检查达标", "environment", 10)
        ids["penalty"] = make_rule(village, "五净一规范检查不达标", "deduction", -5)
        ids["old_rule"] = make_rule(village, "旧细则", "environment", 3)
        db.session.remove()
    return ids


def test_round_starts_by_choosing_a_group(admin, group_one):
    html = text(admin.get("/inspections/round"))
    assert "一组" in html and "二组" in html
    assert 'name="request_key"' not in html


def test_round_page_has_a_row_per_active_household_of_the_group_all_ticked(app, admin, group_one):
    admin.post(f"/households/{group_one['ding']}/active", data={"active": "0"})
    with fresh_session(app) as session:
        from lovemart.services import rules

        rules.set_active(
            session, actor=None, village_id=group_one["a"], rule_id=group_one["old_rule"], active=False
        )
        session.commit()
    html = text(admin.get(f"/inspections/round?group={group_one['group1']}"))
    legends = re.findall(r"<legend>\s*([^<]*?)\s*</legend>", html)
    assert [legend.split(" · ")[1] for legend in legends] == ["甲", "乙", "张三"]  # by household number
    assert "丙" not in html and "丁" not in html
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html[html.index("<main") :])
    assert len(boxes) == 18 and all("checked" in box for box in boxes)
    key = re.search(r'name="request_key"[^>]*value="([^"]+)"', html).group(1)
    assert len(key) >= 16
    again = text(admin.get(f"/inspections/round?group={group_one['group1']}"))
    second_key = re.search(r'name="request_key"[^>]*value="([^"]+)"', again).group(1)
    assert second_key != key  # a fresh key each time the page is shown
    assert "五净一规范检查达标（+10）" in html and "五净一规范检查不达标（-5）" in html
    assert "旧细则" not in html  # retired rules are not offered


def test_round_submission_records_the_group_and_awards_in_one_go(app, admin, group_one):
    ids = group_one
    data = round_form(
        ids["group1"],
        [ids["jia"], ids["yi"], ids["a_household"]],
        unticked={ids["yi"]: ("kitchen_clean",)},
        rules={ids["jia"]: ids["bonus"], ids["yi"]: ids["penalty"]},
        notes={ids["yi"]: "厨房油污"},
        key="round-request-key-001",
    )
    response = admin.post("/inspections/round", data=data)
    assert response.status_code == 302 and response.location.endswith("/inspections/")
    assert "已记录 3 户检查，其中 2 户六项全部达标；加减分 2 条。" in flashes(admin)

    yi = inspections_of(app, ids["yi"])[-1]
    assert not yi.passed and not yi.kitchen_clean and yi.note == "厨房油污" and yi.inspector == "村两委"
    assert inspections_of(app, ids["a_household"])[-1].passed
    with fresh_session(app) as session:
        balances = dict(session.execute(select(PointsAccount.household_id, PointsAccount.balance)).all())
    assert balances[ids["jia"]] == 110 and balances[ids["yi"]] == 95


def test_a_double_submitted_round_is_recorded_once(app, admin, group_one):
    ids = group_one
    data = round_form(
        ids["group1"], [ids["jia"], ids["yi"]], rules={ids["jia"]: ids["bonus"]}, key="same-key-double-click"
    )
    first = admin.post("/inspections/round", data=data)
    second = admin.post("/inspections/round", data=data)
    assert first.status_code == second.status_code == 302
    assert "这次检查已经提交过了，没有重复记录。" in flashes(admin)
    assert len(inspections_of(app, ids["jia"])) == 2  # carded_household's own, then the round's
    with fresh_session(app) as session:
        assert (
            session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.points == 10)) == 1
        )


def test_a_refused_award_is_shown_on_the_round_with_nothing_recorded(app, admin, group_one):
    ids = group_one
    data = round_form(
        ids["group1"],
        [ids["jia"], ids["a_household"]],
        unticked={ids["jia"]: ("yard_clean",)},
        rules={ids["a_household"]: ids["bonus"]},
        key="refused-round-key-01",
    )
    response = admin.post("/inspections/round", data=data)
    assert response.status_code == 200
    html = text(response)
    assert any("张三" in e and "还没有积分卡" in e for e in errors(html))
    # the page keeps what was entered and the same request key, so a corrected resubmission goes through once
    assert 'value="refused-round-key-01"' in html
    assert re.search(r'<input(?![^>]*checked)[^>]*name="rows-0-yard_clean"', html)
    assert inspections_of(app, ids["a_household"]) == []
    assert len(inspections_of(app, ids["jia"])) == 1


def test_a_round_without_its_request_key_is_refused(app, admin, group_one):
    ids = group_one
    response = admin.post("/inspections/round", data=round_form(ids["group1"], [ids["jia"]]))
    assert response.status_code == 200
    assert len(inspections_of(app, ids["jia"])) == 1


def test_inspection_writes_without_a_csrf_token_are_refused(app, admin, group_one):
    """CSRF is off in TestConfig; switched on here, as in production, a forged POST records nothing."""
    ids = group_one
    app.config["WTF_CSRF_ENABLED"] = True
    single = admin.post(f"/inspections/households/{ids['jia']}/new", data=inspection_form())
    batch = admin.post(
        "/inspections/round", data=round_form(ids["group1"], [ids["jia"]], key="csrf-test-key-0001")
    )
    assert single.status_code == batch.status_code == 302
    assert len(inspections_of(app, ids["jia"])) == 1  # carded_household's own only
