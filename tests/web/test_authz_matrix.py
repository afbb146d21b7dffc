"""Authorization matrix: every route of `app.url_map`, every method, every role, against objects of the
actor's own village and of another village, compared with the explicit table `EXPECTED` below.

- A route missing from `EXPECTED` fails the suite: whoever adds a route decides here who may use it.
- Own-village objects: a role in the table gets an answer that is not a refusal (any 2xx, a redirect other
  than to sign-in, or a 4xx about the input such as 400/409/422); a role not in it is refused: 401 on the
  API, a redirect to sign-in for the anonymous, 403 for a signed-in user (villager pages: the invalid page).
- Another village's objects: every role gets 404 or a refusal, never the object.
- GET never writes: no INSERT, UPDATE or DELETE runs during a GET, except the bookkeeping of sessions and
  sign-in throttling (`SESSION_TABLES`).

The run is one test per database (one world, ~2,000 requests) and reports every mismatch at once.
"""

import io
from dataclasses import dataclass
from datetime import date
from itertools import count

import pytest
from PIL import Image
from sqlalchemy import event, select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work, utcnow
from lovemart.models import AuditEvent, Objection, StockMovement, Village
from lovemart.services import (
    cards,
    donations,
    inventory,
    notices,
    offline,
    photos,
    points,
    redemptions,
    users,
    walls,
)
from lovemart.services.inventory import ProductInput, StockInLine
from lovemart.services.redemptions import CartLine
from lovemart.web.photos import writing_store
from tests import figures
from tests.conftest import PASSWORD
from tests.factories import make_grid_user, make_household, make_user, make_village
from tests.points_helpers import make_rule, pass_inspection

ANONYMOUS, VILLAGER = "anonymous", "villager"
ADMIN, SUPERVISOR, LEADER, COUNTY, TOWNSHIP, SYSADMIN, GRID = (r.value for r in Role)
STAFF = frozenset({ADMIN, SUPERVISOR, LEADER, COUNTY, TOWNSHIP, SYSADMIN, GRID})
READERS = frozenset({ADMIN, SUPERVISOR, LEADER, COUNTY, TOWNSHIP})  # everything read-only in a village
EVERYONE = STAFF | {ANONYMOUS, VILLAGER}
ROLES = (ANONYMOUS, VILLAGER, ADMIN, SUPERVISOR, LEADER, COUNTY, TOWNSHIP, SYSADMIN, GRID)
#: The village whose objects a role must not get: b (same county, another township) for the village roles
#: and the township officer, c (another county) for the county officer.
OTHER_VILLAGE = {COUNTY: "c"}

#: Who may use each (method, endpoint); "-" marks routes with no village object (nothing to hide).
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # signing in and out, the home page, language, health
    ("GET", "auth.login"): EVERYONE,
    ("POST", "auth.login"): EVERYONE,
    ("POST", "auth.logout"): EVERYONE,
    ("GET", "auth.password"): STAFF,
    ("POST", "auth.password"): STAFF,
    ("GET", "main.index"): STAFF,
    ("POST", "main.switch_village"): STAFF,
    ("GET", "main.set_language"): EVERYONE,
    ("GET", "main.health"): EVERYONE,
    ("GET", "main.favicon"): EVERYONE,
    ("GET", "static"): EVERYONE,
    ("GET", "api-docs.openapi_json"): EVERYONE,
    # system administration
    ("GET", "admin.users_index"): {SYSADMIN},
    ("GET", "admin.create_user"): {SYSADMIN},
    ("POST", "admin.create_user"): {SYSADMIN},
    ("POST", "admin.set_user_active"): {SYSADMIN},
    ("GET", "admin.user_groups"): {SYSADMIN},
    ("POST", "admin.user_groups"): {SYSADMIN},
    ("GET", "admin.villages_index"): {SYSADMIN},
    ("GET", "admin.create_village"): {SYSADMIN},
    ("POST", "admin.create_village"): {SYSADMIN},
    ("GET", "admin.edit_village"): {SYSADMIN},
    ("POST", "admin.edit_village"): {SYSADMIN},
    # households
    ("GET", "households.index"): READERS,
    ("GET", "households.detail"): READERS,
    ("GET", "households.export"): READERS,
    ("GET", "households.create"): {ADMIN},
    ("POST", "households.create"): {ADMIN},
    ("GET", "households.edit"): {ADMIN},
    ("POST", "households.edit"): {ADMIN},
    ("POST", "households.set_active"): {ADMIN},
    ("GET", "households.add_member"): {ADMIN},
    ("POST", "households.add_member"): {ADMIN},
    ("GET", "households.edit_member"): {ADMIN},
    ("POST", "households.edit_member"): {ADMIN},
    ("POST", "households.remove_member"): {ADMIN},
    ("GET", "households.import_upload"): {ADMIN},
    ("POST", "households.import_upload"): {ADMIN},
    ("GET", "households.import_template"): {ADMIN},
    ("GET", "households.import_preview"): {ADMIN},
    ("POST", "households.import_confirm"): {ADMIN},
    ("GET", "photos.show"): READERS,
    # inspections and cards
    ("GET", "inspections.index"): READERS,
    ("GET", "inspections.record"): {ADMIN},
    ("POST", "inspections.record"): {ADMIN},
    ("GET", "inspections.group_round"): {ADMIN},
    ("POST", "inspections.submit_round"): {ADMIN},
    ("GET", "cards.show"): {ADMIN},
    ("GET", "cards.print_card"): {ADMIN},
    ("GET", "cards.sheet"): {ADMIN},
    ("POST", "cards.issue"): {ADMIN},
    ("GET", "cards.reissue"): {ADMIN},
    ("POST", "cards.reissue"): {ADMIN},
    ("GET", "cards.recover"): {ADMIN},
    ("POST", "cards.recover"): {ADMIN},
    # points
    ("GET", "points.index"): READERS,
    ("GET", "points.export_ledger"): READERS,
    ("GET", "points.ranking"): READERS,
    ("GET", "points.entry"): READERS,
    ("GET", "points.award"): {ADMIN},
    ("POST", "points.award"): {ADMIN},
    ("GET", "points.batch"): {ADMIN},
    ("POST", "points.batch"): {ADMIN},
    ("GET", "points.reverse"): {ADMIN},
    ("POST", "points.reverse"): {ADMIN},
    ("GET", "points.applications"): {ADMIN},
    ("POST", "points.accept"): {ADMIN},
    ("POST", "points.decline"): {ADMIN},
    ("GET", "points.approvals"): {SUPERVISOR},
    ("POST", "points.approve"): {SUPERVISOR},
    ("POST", "points.reject"): {SUPERVISOR},
    ("GET", "rules.index"): READERS,
    ("GET", "rules.create"): {LEADER},
    ("POST", "rules.create"): {LEADER},
    ("GET", "rules.edit"): {LEADER},
    ("POST", "rules.edit"): {LEADER},
    ("POST", "rules.set_active"): {LEADER},
    ("POST", "rules.seed"): {LEADER},
    ("GET", "statements.show"): READERS,
    ("GET", "statements.printable"): READERS,
    ("GET", "statements.export"): READERS,
    # the shop
    ("GET", "goods.index"): READERS,
    ("GET", "goods.alerts"): READERS,
    ("GET", "goods.product"): READERS,
    ("GET", "goods.zones"): READERS,
    ("POST", "goods.create_zone"): {ADMIN},
    ("GET", "goods.edit_zone"): {ADMIN},
    ("POST", "goods.edit_zone"): {ADMIN},
    ("GET", "goods.create_product"): {ADMIN},
    ("POST", "goods.create_product"): {ADMIN},
    ("GET", "goods.edit_product"): {ADMIN},
    ("POST", "goods.edit_product"): {ADMIN},
    ("GET", "goods.write_off"): {ADMIN},
    ("POST", "goods.write_off"): {ADMIN},
    ("GET", "goods.correct_stock_in"): {ADMIN},
    ("POST", "goods.correct_stock_in"): {ADMIN},
    ("GET", "goods.stock_in"): {ADMIN},
    ("POST", "goods.stock_in"): {ADMIN},
    ("GET", "donations.index"): READERS,
    ("GET", "donations.detail"): READERS,
    ("GET", "donations.certificate"): READERS,
    ("GET", "donations.donors"): READERS,
    ("GET", "donations.donor"): READERS,
    ("GET", "donations.funds"): READERS,
    ("GET", "donations.fund"): READERS,
    ("GET", "donations.purchases"): READERS,
    ("GET", "donations.purchase"): READERS,
    ("GET", "donations.create_donor"): {ADMIN},
    ("POST", "donations.create_donor"): {ADMIN},
    ("GET", "donations.edit_donor"): {ADMIN},
    ("POST", "donations.edit_donor"): {ADMIN},
    ("GET", "donations.create_fund"): {ADMIN},
    ("POST", "donations.create_fund"): {ADMIN},
    ("GET", "donations.add_funding"): {ADMIN},
    ("POST", "donations.add_funding"): {ADMIN},
    ("GET", "donations.receive_goods"): {ADMIN},
    ("POST", "donations.receive_goods"): {ADMIN},
    ("GET", "donations.receive_money"): {ADMIN},
    ("POST", "donations.receive_money"): {ADMIN},
    ("GET", "donations.create_purchase"): {ADMIN},
    ("POST", "donations.create_purchase"): {ADMIN},
    ("GET", "stocktakes.index"): READERS,
    ("GET", "stocktakes.sheet"): READERS,
    ("GET", "stocktakes.review"): READERS,
    ("GET", "stocktakes.report"): READERS,
    ("POST", "stocktakes.start"): {ADMIN},
    ("POST", "stocktakes.record"): {ADMIN},
    ("POST", "stocktakes.confirm"): {ADMIN},
    ("GET", "counter.index"): {ADMIN},
    ("POST", "counter.scan"): {ADMIN},
    ("GET", "counter.customer"): {ADMIN},
    ("POST", "counter.redeem"): {ADMIN},
    ("GET", "offline.devices"): {ADMIN},
    ("POST", "offline.register"): {ADMIN},
    ("POST", "offline.switch"): {ADMIN},
    ("GET", "offline.counter"): {ADMIN},
    ("GET", "offline.service_worker"): EVERYONE,
    ("GET", "offline.snapshot"): {ADMIN},
    ("POST", "offline.sync"): {ADMIN},
    ("GET", "offline.queue"): READERS,
    ("POST", "offline.settle"): {SUPERVISOR},
    ("GET", "counter.receipts"): READERS,
    ("GET", "counter.receipt"): READERS,
    ("GET", "counter.cancel"): {ADMIN},
    ("POST", "counter.cancel"): {ADMIN},
    # the wish wall
    ("GET", "walls.index"): READERS,
    ("GET", "walls.detail"): READERS,
    ("GET", "walls.printable"): READERS,
    ("GET", "walls.create"): {ADMIN},
    ("POST", "walls.create"): {ADMIN},
    ("POST", "walls.approve"): {SUPERVISOR},
    ("POST", "walls.decline"): {SUPERVISOR},
    ("POST", "walls.pledge"): {ADMIN},
    ("POST", "walls.goods"): {ADMIN},
    ("POST", "walls.handover"): {ADMIN},
    ("POST", "walls.fulfil"): {ADMIN},
    ("GET", "walls.wall"): EVERYONE,
    ("GET", "walls.mine"): {VILLAGER},
    ("POST", "walls.mine"): {VILLAGER},
    ("GET", "api_walls.list_wishes"): READERS,
    ("POST", "api_walls.post_wish"): {ADMIN},
    # public notices and objections
    ("GET", "notices.index"): READERS,
    ("GET", "notices.detail"): READERS,
    ("GET", "notices.printable"): READERS,
    ("GET", "notices.objections"): READERS,
    ("GET", "notices.objection"): READERS,
    ("POST", "notices.compile_month"): {SUPERVISOR},
    ("POST", "notices.settle"): {SUPERVISOR},
    ("POST", "notices.recompile"): {SUPERVISOR},
    ("GET", "notices.publish"): {SUPERVISOR},
    ("POST", "notices.publish"): {SUPERVISOR},
    ("POST", "notices.answer"): {SUPERVISOR},
    ("GET", "notices.public_notice"): EVERYONE,
    ("GET", "notices.public_content"): EVERYONE,
    ("GET", "notices.public_bundle"): EVERYONE,
    ("GET", "notices.verifier"): EVERYONE,
    ("GET", "notices.villager_notices"): {VILLAGER},
    ("GET", "notices.villager_objections"): {VILLAGER},
    ("GET", "notices.raise_objection"): {VILLAGER},
    ("POST", "notices.raise_objection"): {VILLAGER},
    ("GET", "api_notices.list_notices"): READERS,
    ("GET", "api_notices.get_notice"): READERS,
    ("POST", "api_notices.raise_objection"): {SUPERVISOR},
    # the audit log and the supervisor's signals
    ("GET", "audit.index"): {SUPERVISOR, LEADER},
    ("GET", "audit.event"): {SUPERVISOR, LEADER},
    ("GET", "audit.signal_list"): {SUPERVISOR, LEADER},
    # the grid worker's round (网格员): the households of their own groups only
    ("GET", "round.index"): {GRID},
    ("GET", "round.inspect"): {GRID},
    ("POST", "round.inspect"): {GRID},
    ("GET", "round.score"): {GRID},
    ("POST", "round.score"): {GRID},
    # the county dashboard
    ("GET", "county.index"): {COUNTY, TOWNSHIP},
    ("GET", "county.export"): {COUNTY, TOWNSHIP},
    # the villager's pages: the QR link is open to anyone (it is the credential), the rest needs the card
    ("GET", "public.scan"): EVERYONE,
    ("GET", "public.card"): {VILLAGER},
    ("GET", "public.apply"): {VILLAGER},
    ("POST", "public.apply"): {VILLAGER},
    ("GET", "public.goods"): {VILLAGER},
    # the JSON API (bearer tokens of staff users)
    ("GET", "api_households.list_households"): READERS,
    ("POST", "api_households.create_household"): {ADMIN},
    ("GET", "api_households.get_household"): READERS,
    ("POST", "api_cards.issue_card"): {ADMIN},
    ("POST", "api_inspections.record_inspection"): {ADMIN, GRID},
    ("GET", "api_round.list_my_households"): {GRID},
    ("POST", "api_round.propose_points"): {GRID},
    ("GET", "api_points.get_account"): READERS,
    ("GET", "api_points.list_entries"): READERS,
    ("POST", "api_points.award_points"): {ADMIN},
    ("POST", "api_points.reverse_entry"): {ADMIN},
    ("POST", "api_points.approve_entry"): {SUPERVISOR},
    ("POST", "api_points.create_rule"): {LEADER},
    ("GET", "api_goods.list_products"): READERS,
    ("POST", "api_goods.create_product"): {ADMIN},
    ("POST", "api_goods.stock_in"): {ADMIN},
    ("POST", "api_redemptions.redeem"): {ADMIN},
    ("GET", "api_redemptions.get_redemption"): READERS,
    ("POST", "api_redemptions.cancel_redemption"): {ADMIN},
}

#: Writes a GET may make: bookkeeping of who is signed in, never domain data.
SESSION_TABLES = ("staff_sessions", "login_failures")

#: URL arguments that name no village object: the same value for "own" and "other".
NEUTRAL_ARGUMENTS = {"code": "en", "filename": "css/app.css", "active": 1}

#: Routes whose objects belong to no village (the system administrator's), or whose argument is itself the
#: credential (the QR link): there is no "another village's object" to hide.
UNSCOPED = {
    "admin.set_user_active",
    "admin.user_groups",
    "admin.edit_village",
    "public.scan",
    # public by design: the wall of any village, a published notice by its link
    "walls.wall",
    "notices.public_notice",
    "notices.public_content",
    "notices.public_bundle",
    "notices.verifier",
}

#: Allowed, yet an empty POST answers 404 because the body names the object (a group, a household).
BODY_NAMES_THE_OBJECT = {
    "inspections.submit_round",
    "points.batch",
    "public.apply",
    "notices.raise_objection",
}

#: Stands for an object that does not exist in any village.
MISSING_ID = 987654


@dataclass
class Answer:
    status: int
    location: str

    @property
    def refused(self) -> bool:
        return self.status in (401, 403) or (self.status in (301, 302, 303) and "/login" in self.location)

    @property
    def hidden(self) -> bool:
        return self.status == 404


_keys = count(1)


def populate(village_id: int, tag: str) -> dict[str, object]:
    """One object of every kind in the village, by the URL argument that names it."""
    household = make_household(village_id, head=f"{tag}户主", others=(f"{tag}家人",))
    pass_inspection(village_id, household)
    earn = make_rule(village_id, f"{tag}义务劳动", "volunteer", 10)
    approval = make_rule(village_id, f"{tag}五好家庭", "honour", 50, requires_approval=True)
    with unit_of_work() as session:
        card = cards.issue(session, actor=None, village_id=village_id, household_id=household)
        entry = points.award(
            session, actor=None, village_id=village_id, household_id=household, rule_id=earn
        ).entry
        claim = points.award(
            session, actor=None, village_id=village_id, household_id=household, rule_id=approval
        ).claim
        zone = inventory.zones(session, village_id=village_id)[0]
        product = inventory.create_product(
            session,
            actor=None,
            village_id=village_id,
            data=ProductInput(name=f"{tag}大米", zone_id=zone.id, unit="袋", points_price=10),
        )
        donor = donations.save_donor(
            session, actor=None, village_id=village_id, name=f"{tag}企业", kind="enterprise"
        )
        fund = donations.create_fund(
            session, actor=None, village_id=village_id, name=f"{tag}资金", kind="social"
        )
        donations.add_funding(
            session, actor=None, village_id=village_id, fund_id=fund.id, amount_fen=100_000, note=""
        )
        donation = donations.receive_goods(
            session,
            actor=None,
            village_id=village_id,
            donor_id=donor.id,
            received_on=date(2026, 11, 1),
            lines=[StockInLine(product.id, 50)],
        ).donation
        purchase = donations.purchase(
            session,
            actor=None,
            village_id=village_id,
            fund_id=fund.id,
            bought_on=date(2026, 11, 2),
            lines=[StockInLine(product.id, 5, cost_fen=1000)],
        )
        redemption = redemptions.redeem(
            session,
            actor=None,
            village_id=village_id,
            card_number=card.number,
            lines=[CartLine(product.id, 1)],
            idempotency_key=f"matrix-{next(_keys)}",
        )
        stocktake = inventory.start_stocktake(session, actor=None, village_id=village_id, zone_id=None)
        wish = walls.post_wish(
            session,
            actor=None,
            village_id=village_id,
            household_id=household,
            text=f"{tag}心愿",
            category="daily",
        )
        month = notices.last_month(notices.local_today())
        notice = notices.compile(
            session, actor=None, village_id=village_id, period_start=month[0], period_end=month[1]
        )
        notices.publish(session, actor=None, village_id=village_id, notice_id=notice.id)
        objection = Objection(
            village_id=village_id,
            notice_id=notice.id,
            household_id=household,
            entry_id=entry.id,
            text=f"{tag}异议",
            status="open",
            answer="",
        )
        session.add(objection)
        session.flush()
        device = offline.register_device(session, actor=None, village_id=village_id, name=f"{tag}柜台")
        offline.set_offline(session, actor=None, village_id=village_id, device_id=device.id, enabled=True)
        now = utcnow()
        waiting = offline.apply(
            session, actor=None, village_id=village_id, device_id=device.id, skew_seconds=0,
            record=offline.OfflineRecord(1, f"{tag}-offline-1", "NONE", [CartLine(product.id, 1)], 1,
                                         f"{tag}离线-1", now, now, 0),
        )  # fmt: skip
        members = households_members(session, household)
        ids = {
            "device_id": device.id,
            "record_id": waiting.id,
            "village_id": village_id,
            "household_id": household,
            "member_id": members[-1],
            "card_id": card.id,
            "entry_id": entry.id,
            "claim_id": claim.id,
            "rule_id": earn,
            "zone_id": zone.id,
            "product_id": product.id,
            "donor_id": donor.id,
            "fund_id": fund.id,
            "donation_id": donation.id,
            "purchase_id": purchase.id,
            "redemption_id": redemption.id,
            "stocktake_id": stocktake.id,
            "movement_id": session.scalar(
                select(StockMovement.id).where(
                    StockMovement.product_id == product.id, StockMovement.kind == "stock_in"
                )
            ),
            "token": card.token,
            "wish_id": wish.id,
            "notice_id": notice.id,
            "notice_token": notice.token,
            "objection_id": objection.id,
            "event_id": session.scalar(
                select(AuditEvent.id).where(AuditEvent.village_id == village_id).limit(1)
            ),
            "village_code": session.get(Village, village_id).code,
        }
    with writing_store("photo") as files:
        ids["name"] = photos.store(files, village_id=village_id, data=_jpeg())
    return ids


def households_members(session, household_id: int) -> list[int]:
    from sqlalchemy import select

    from lovemart.models import Member

    return list(
        session.scalars(select(Member.id).where(Member.household_id == household_id).order_by(Member.id))
    )


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def world(app, tmp_path):
    """Villages a and b of one county (two townships) and c of another, each with one of everything; a user
    per role."""
    with app.app_context():
        a, b = make_village("a"), make_village("b", township="交里乡")
        c = make_village("c", county="other")
        objects = {
            "a": populate(a, "甲"),
            "b": populate(b, "乙"),
            "c": populate(c, "丙"),
        }
        for role in (ADMIN, SUPERVISOR, LEADER):
            make_user(role, Role(role), "a")
        make_user(COUNTY, Role.COUNTY, "a")
        make_user(TOWNSHIP, Role.TOWNSHIP, "a")
        make_user(SYSADMIN, Role.SYSADMIN)
        make_grid_user(GRID, "a", ("一组",))  # the group of village a's household
        victim = make_user("a-victim", Role.ADMIN, "a")  # the user the user-admin routes act on
        for tag in objects:
            objects[tag]["user_id"] = victim
        tokens = {}
        with unit_of_work() as session:
            for username in (ADMIN, SUPERVISOR, LEADER, COUNTY, TOWNSHIP, SYSADMIN, GRID):
                user = users.by_username(session, username)
                tokens[username] = users.create_api_token(session, actor=None, user=user)
        db.session.remove()
    return {"objects": objects, "tokens": tokens}


def _url(app, rule, values: dict) -> str | None:
    arguments = {}
    for name in rule.arguments:
        if name in NEUTRAL_ARGUMENTS:
            arguments[name] = NEUTRAL_ARGUMENTS[name]
        elif name in values:
            arguments[name] = values[name]
        elif name == "upload":
            arguments[name] = "0" * 32
        else:
            return None
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **arguments)


def _clients(app, world) -> dict:
    """One browser per role, signed in once, the villager's holding card a. There are more roles than the
    test configuration's sign-in limit allows per minute, so the limit is raised for the sign-ins."""
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    clients = {}
    for role in ROLES:
        client = clients[role] = app.test_client()
        if role in STAFF:
            response = client.post("/login", data={"username": role, "password": PASSWORD})
            assert response.status_code == 302, role
        elif role == VILLAGER:
            client.get(f"/c/{world['objects']['a']['token']}")
    return clients


def _call(client, method: str, url: str, headers=None) -> Answer:
    response = client.open(url, method=method, data={}, headers=headers or {})
    return Answer(response.status_code, response.headers.get("Location", ""))


def _routes(app):
    """Every (method, rule): reads first, then writes, then removals (so a removed member is not then
    expected to be edited)."""
    pairs = [
        (method, rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
    ]
    return sorted(pairs, key=lambda p: (p[0] != "GET", _removes(p[1].rule), p[1].rule, p[0]))


def _removes(path: str) -> bool:
    """Routes that end an object the later ones need: a member, the card the villager's phone holds."""
    return any(word in path for word in ("delete", "recover", "reissue"))


def test_every_route_is_in_the_table(app):
    missing = [f"{m} {r.rule} ({r.endpoint})" for m, r in _routes(app) if (m, r.endpoint) not in EXPECTED]
    stale = set(EXPECTED) - {(m, r.endpoint) for m, r in _routes(app)}
    assert missing == [], "routes without an entry in EXPECTED:\n" + "\n".join(missing)
    assert stale == set(), f"entries for routes that no longer exist: {sorted(stale)}"


def test_every_role_gets_what_the_table_says(app, database, world):
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here the refusals must be authz's
    app.config["CARD_PAGE_RATE_LIMIT"] = "100000 per minute"
    writes: list[str] = []
    recording = {"on": False}

    def record(_conn, _cursor, statement, _params, _context, _many):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if (
            recording["on"]
            and verb in ("INSERT", "UPDATE", "DELETE")
            and not any(t in statement for t in SESSION_TABLES)
        ):
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    mismatches: list[str] = []
    tried = 0
    clients = _clients(app, world)
    try:
        for method, rule in _routes(app):
            allowed = EXPECTED.get((method, rule.endpoint))
            if allowed is None or rule.endpoint == "auth.logout":
                continue
            for role in ROLES:
                own_tag = "a"
                other_tag = OTHER_VILLAGE.get(role, "b")
                for where, tag in (("own", own_tag), ("other", other_tag)):
                    url = _url(app, rule, world["objects"][tag])
                    if url is None:
                        mismatches.append(f"{rule.rule}: no value for {sorted(rule.arguments)}")
                        continue
                    if where == "other" and (
                        rule.endpoint in UNSCOPED or not set(rule.arguments) - set(NEUTRAL_ARGUMENTS)
                    ):
                        continue  # no village object in the URL: nothing to hide
                    # the QR link would hand every browser a card: it gets a browser of its own
                    client = app.test_client() if rule.endpoint == "public.scan" else clients[role]
                    headers = {}
                    if rule.rule.startswith("/api/") and role in STAFF:
                        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
                    writes.clear()
                    recording["on"] = method == "GET"
                    answer = _call(client, method, url, headers)
                    recording["on"] = False
                    tried += 1
                    missing = None
                    if where == "other" and not (answer.hidden or answer.refused):
                        missing = _call(
                            client, method, _url(app, rule, _missing(world["objects"][tag])), headers
                        )
                    verdict = _judge(answer, role in allowed, where, rule, missing)
                    if verdict:
                        mismatches.append(f"{method} {url} as {role} ({where}): {verdict}")
                    if method == "GET" and writes:
                        mismatches.append(f"GET {url} as {role} wrote: {writes[0][:80]}")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    figures.record(
        f"authorization matrix {database['kind']}", {"requests": tried, "mismatches": len(mismatches)}
    )
    assert mismatches == [], "\n".join(mismatches)


def _missing(values: dict) -> dict:
    return {name: MISSING_ID if isinstance(value, int) else value for name, value in values.items()}


def _judge(answer: Answer, allowed: bool, where: str, rule, missing: Answer | None) -> str | None:
    if answer.status >= 500:
        return f"server error {answer.status}"
    villager_page = rule.rule.startswith("/me")
    if where == "other":
        if answer.hidden or answer.refused:
            return None
        if missing is not None and missing.status == answer.status and answer.status in (400, 422):
            return (
                None  # the input is refused before any lookup, exactly as for an object that does not exist
            )
        return f"another village's object answered {answer.status} {answer.location}"
    if allowed:
        if answer.refused or (answer.hidden and not _may_be_missing(rule)):
            return f"refused with {answer.status} {answer.location}"
        return None
    if answer.refused or (villager_page and answer.status == 404):
        return None
    return f"not refused: {answer.status} {answer.location}"


def _may_be_missing(rule) -> bool:
    """The roster upload of the world is not there (an expired preview answers 404); see also
    `BODY_NAMES_THE_OBJECT`."""
    return rule.endpoint in BODY_NAMES_THE_OBJECT | {"households.import_preview"}
