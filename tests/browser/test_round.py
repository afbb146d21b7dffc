"""In a real browser at 360 px, as issue 19's "done when" says: a grid worker (网格员) new to the system
signs in on a phone, walks their group's households in order and scores every one of them for the month,
one deduction with a photo; the supervisor then approves them all, and the balances follow."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from lovemart import demo
from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import LedgerEntry, PointsAccount, PointsClaim, User
from lovemart.services import users, villages
from tests.browser.test_staff_phone import overflow

pytestmark = pytest.mark.browser

EARN = "义务劳动（半天）（+5 分）"
DEDUCT = "柴草杂物乱堆乱放（-5 分）"


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "sienna").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def accounts(live_app):
    """A grid worker for 下里垣村's 上里垣 group and that village's supervisor (the demo has neither)."""
    with live_app.app_context():
        with unit_of_work() as session:
            village = villages.by_code(session, "xialiyuan")
            for username, role, groups in (
                ("sly-grid", Role.GRID, ["上里垣"]),
                ("xly-supervisor", Role.SUPERVISOR, []),
            ):
                users.create_user(
                    session,
                    actor=None,
                    username=username,
                    password=demo.DEMO_PASSWORD,
                    role=role,
                    display_name=f"{username}测试",
                    village=village,
                    group_names=groups,
                )
        db.session.remove()


def balances(live_app, household_ids) -> dict[int, int]:
    with live_app.app_context():
        rows = db.session.execute(
            select(PointsAccount.household_id, PointsAccount.balance).where(
                PointsAccount.household_id.in_(household_ids)
            )
        ).all()
        db.session.remove()
    return dict(rows)


def test_a_grid_worker_scores_the_whole_group_on_a_phone_and_the_supervisor_approves(
    phone_page, page, sign_in, live_app, accounts
):
    sign_in(phone_page, "sly-grid")
    phone_page.wait_for_url("**/round/")
    assert overflow(phone_page) <= 0
    rows = phone_page.locator("li.round-household")
    total = rows.count()
    assert total >= 5
    ids = [int(rows.nth(i).get_attribute("id")[1:]) for i in range(total)]
    numbers = [rows.nth(i).locator(".pick-number").inner_text() for i in range(total)]
    assert numbers == sorted(numbers)  # the round's order: by household number within the group
    assert all(rows.nth(i).get_by_role("link", name="记分").count() == 1 for i in range(total))
    before = balances(live_app, ids)

    for n, household_id in enumerate(ids):
        row = phone_page.locator(f"#h{household_id}")
        box = row.get_by_role("link", name="记分").bounding_box()
        assert box["height"] >= 40 and box["x"] + box["width"] <= 360  # a thumb reaches it on the screen
        row.get_by_role("link", name="记分").click()
        phone_page.wait_for_url(f"**/round/households/{household_id}/score")
        assert overflow(phone_page) <= 0
        if n == 0:
            phone_page.get_by_label("积分细则").select_option(label=DEDUCT)
            phone_page.get_by_label("说明").fill("柴草堆在巷道里")
            phone_page.locator("input[type=file][name=photo]").set_input_files(
                {"name": "litter.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
            )
        else:
            phone_page.get_by_label("积分细则").select_option(label=EARN)
        phone_page.get_by_role("button", name="提交").click()
        phone_page.wait_for_url(re.compile(r"/round/(#h\d+)?$"))
        expected = "-5 分已提交，待监督员审核" if n == 0 else "+5 分已提交，待监督员审核"
        assert expected in phone_page.locator(".flash-success").inner_text()
    assert f"已记分 {total} / {total} 户" in phone_page.locator("main").inner_text()
    assert phone_page.locator("li.round-household .tag-warn", has_text="待审").count() == total
    assert balances(live_app, ids) == before  # nothing counts before the supervisor's approval

    sign_in(page, "xly-supervisor")
    page.goto("/points/approvals")
    claims = page.locator("li.claim")
    assert claims.count() == total
    assert claims.first.locator("img.evidence-thumb").count() == 1  # the deduction's photo, first in line
    assert "记录人：sly-grid测试" in claims.first.inner_text()
    for _ in range(total):
        page.locator("li.claim").first.get_by_role("button", name="审核通过").click()
        page.wait_for_url("**/points/approvals")
    assert "没有待审核的积分。" in page.locator("main").inner_text()

    after = balances(live_app, ids)
    assert after == {h: before[h] + (-5 if h == ids[0] else 5) for h in ids}
    with live_app.app_context():
        worker = db.session.scalar(select(User.id).where(User.username == "sly-grid"))
        entries = db.session.scalars(
            select(LedgerEntry)
            .join(PointsClaim, PointsClaim.entry_id == LedgerEntry.id)
            .where(PointsClaim.recorded_by_id == worker)
        ).all()
        assert len(entries) == total and {e.recorded_by_id for e in entries} == {worker}
        assert sum(1 for e in entries if e.evidence) == 1 and all(e.approved_by_id for e in entries)
        db.session.remove()
    phone_page.reload()
    assert phone_page.locator("li.round-household .tag-warn", has_text="待审").count() == 0
