"""The grid worker's round over the API: `listMyHouseholds`, `recordInspection` (shared with the
administrator, scoped to the worker's groups by the service) and `proposePoints` (a pending claim by
default, an entry under the village's direct setting; an optional base64 photo; idempotent)."""

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Inspection, LedgerEntry, PointsClaim, Village
from lovemart.models.inspections import CHECKS
from lovemart.services import users
from tests.factories import make_grid_user, make_user, make_village
from tests.points_helpers import carded_household, make_rule

ALL_CLEAN = {column: True for column, _label in CHECKS}


@pytest.fixture
def world(app):
    with app.app_context():
        a = make_village("a", groups=("一组", "二组"))
        b = make_village("b", township="交里乡")
        ids = {
            "a": a,
            "h1": carded_household(a, number="01001", group="一组", head="王大山")[0],
            "h2": carded_household(a, number="01002", group="一组", head="李小河")[0],
            "other": carded_household(a, number="02001", group="二组", head="钱二")[0],
            "foreign": carded_household(b, number="01001")[0],
            "labour": make_rule(a, "义务劳动", "volunteer", 10),
            "litter": make_rule(a, "柴草杂物乱堆乱放", "deduction", -5),
            "grid": make_grid_user("wangge", "a", ("一组",)),
        }
        make_user("a-admin", Role.ADMIN, "a")
        db.session.remove()
        return ids


@pytest.fixture
def auth(app, world):
    def make(username: str, key: str | None = None) -> dict:
        with app.app_context(), unit_of_work() as session:
            plain = users.create_api_token(session, actor=None, user=users.by_username(session, username))
        return {"Authorization": f"Bearer {plain}"} | ({"Idempotency-Key": key} if key else {})

    return make


def jpeg_base64() -> str:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "olive").save(out, format="JPEG")
    return base64.b64encode(out.getvalue()).decode()


def test_list_my_households_gives_the_workers_groups_only(client, world, auth):
    response = client.get("/api/v1/round/households", headers=auth("wangge"))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["number"], i["head"], i["group"]) for i in items] == [
        ("01001", "王大山", "一组"),
        ("01002", "李小河", "一组"),
    ]
    assert (
        items[0]["last_passed"] is True and items[0]["has_account"] is True and items[0]["pending_count"] == 0
    )
    assert client.get("/api/v1/round/households", headers=auth("a-admin")).status_code == 403


def test_record_inspection_is_open_to_the_worker_for_their_groups_only(app, client, world, auth):
    headers = auth("wangge")
    body = ALL_CLEAN | {"note": "干净"}
    done = client.post(f"/api/v1/households/{world['h2']}/inspections", json=body, headers=headers)
    assert done.status_code == 201 and done.get_json()["passed"] is True
    assert done.get_json()["household_id"] == world["h2"]
    refused = client.post(f"/api/v1/households/{world['other']}/inspections", json=body, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "outside_groups"
    hidden = client.post(f"/api/v1/households/{world['foreign']}/inspections", json=body, headers=headers)
    assert hidden.status_code == 404
    with app.app_context():
        inspection = db.session.get(Inspection, done.get_json()["id"])
        assert inspection.recorded_by_id == world["grid"] and inspection.inspector == "wangge（网格员）"
        db.session.remove()


def test_propose_points_waits_for_approval_with_the_photo_once_per_key(app, client, world, auth):
    headers = auth("wangge", "p-1")
    body = {"rule_id": world["litter"], "note": "柴草乱堆", "photo": jpeg_base64()}
    first = client.post(f"/api/v1/round/households/{world['h1']}/points", json=body, headers=headers)
    again = client.post(f"/api/v1/round/households/{world['h1']}/points", json=body, headers=headers)
    assert first.status_code == again.status_code == 202, first.get_data(as_text=True)
    claim = first.get_json()
    assert (claim["status"], claim["points"], claim["recorded_by_id"]) == ("pending", -5, world["grid"])
    assert len(claim["evidence"]) == 32 and again.get_json()["id"] == claim["id"]
    with app.app_context():
        assert len(db.session.scalars(select(PointsClaim)).all()) == 1
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tag == "points:claim:create", AuditEvent.subject_id == claim["id"]
            )
        )
        assert event.actor_id == world["grid"]
        db.session.remove()
    listed = client.get("/api/v1/round/households", headers=auth("wangge")).get_json()["items"][0]
    assert (listed["pending_points"], listed["pending_count"], listed["month_points"]) == (-5, 1, 0)


def test_propose_points_refuses_outside_the_groups_and_bad_photos(client, world, auth):
    headers = auth("wangge")
    outside = client.post(
        f"/api/v1/round/households/{world['other']}/points",
        json={"rule_id": world["labour"]},
        headers=headers,
    )
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "outside_groups"
    foreign = client.post(
        f"/api/v1/round/households/{world['foreign']}/points",
        json={"rule_id": world["labour"]},
        headers=headers,
    )
    assert foreign.status_code == 404
    bad = client.post(
        f"/api/v1/round/households/{world['h1']}/points",
        json={"rule_id": world["labour"], "photo": "not a photo!"},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_input"
    assert (
        client.post(
            f"/api/v1/round/households/{world['h1']}/points",
            json={"rule_id": world["labour"]},
            headers=auth("a-admin"),
        ).status_code
        == 403
    )


def test_under_the_direct_setting_a_proposal_is_an_entry(app, client, world, auth):
    with app.app_context():
        with unit_of_work() as session:
            session.get(Village, world["a"]).grid_awards_direct = True
        db.session.remove()
    response = client.post(
        f"/api/v1/round/households/{world['h2']}/points",
        json={"rule_id": world["labour"]},
        headers=auth("wangge"),
    )
    assert response.status_code == 201
    entry = response.get_json()
    assert (entry["points"], entry["recorded_by_id"], entry["approved_by_id"]) == (10, world["grid"], None)
    with app.app_context():
        assert db.session.get(LedgerEntry, entry["id"]).kind == "award"
        db.session.remove()
