"""A village's whole life through the writing services: every service that writes is called at least once,
and after each call its audit row is checked (tag, subject type and id, village, actor).

`live(code, mark, clock)` builds one village so; every name typed into it carries `mark` (甲, 乙…), so a
reader that leaks another village's rows shows that village's mark. Used by the audit test (every writer
leaves its row) and by the village-filter tests (two villages full of data of every kind).
"""

import csv
import inspect
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from PIL import Image
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import db, unit_of_work, utcnow
from lovemart.models import ApiToken, AuditEvent, Product, User
from lovemart.models.households import Gender, Relation
from lovemart.services import (
    cards,
    donations,
    households,
    inspections,
    inventory,
    notices,
    offline,
    photos,
    points,
    redemptions,
    rules,
    spreadsheets,
    users,
    villages,
    walls,
)
from lovemart.services.filestore import DatabaseStore
from lovemart.services.households import HouseholdInput, MemberInput
from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput, RoundResult
from lovemart.services.inventory import ProductInput, StockInLine
from lovemart.services.offline import OfflineRecord
from lovemart.services.redemptions import CartLine
from lovemart.services.rules import RuleInput
from lovemart.services.totals import VILLAGE_TIMEZONE
from lovemart.services.villages import VillageSettings
from tests.conftest import PASSWORD
from tests.rosters import GOOD_ROWS, HEADER

ALL_CLEAN = dict.fromkeys(CHECK_COLUMNS, True)
NEW_PASSWORD = "another-password-1"


@dataclass
class Audited:
    """Calls writers and checks the audit row each leaves; remembers what it checked."""

    tags: set = field(default_factory=set)
    writers: set = field(default_factory=set)

    def __call__(
        self, writer, *, tag, subject, at, actor, pick=lambda result: result.id, also=(), **arguments
    ):
        """Run `writer(session, **arguments)` in its own unit of work; then the one new audit row with `tag`
        must name `subject` — a type name, or (type name, id or a function of the result) — the village `at`
        and `actor` (None: the system), who is also the writer's `actor` when it takes one. `also` lists
        (writer, tag, subject type, id or None, actor) of the rows of the writers it calls in turn.
        Returns `pick(result)`, taken inside the unit of work."""
        before = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        if "actor" in inspect.signature(writer).parameters:
            arguments["actor"] = actor
        with unit_of_work() as session:
            result = writer(session, **arguments)
            picked = pick(result)
            subject_type, subject_id = subject if isinstance(subject, tuple) else (subject, picked)
            if callable(subject_id):
                subject_id = subject_id(session, result)
        db.session.rollback()
        if callable(at):
            at = at(subject_id)
        for inner, inner_tag, inner_type, inner_id, inner_actor in (
            (writer, tag, subject_type, subject_id, actor),
            *also,
        ):
            rows = db.session.scalars(
                select(AuditEvent).where(AuditEvent.id > before, AuditEvent.tag == inner_tag.value)
            ).all()
            where = f"{writer.__module__}.{writer.__name__} → {inner_tag.value}"
            mine = [r for r in rows if r.subject_type == inner_type and inner_id in (None, r.subject_id)]
            assert len(mine) == 1, (where, [(r.subject_type, r.subject_id) for r in rows])
            (row,) = mine
            assert row.village_id == at, where
            assert (row.actor_id, row.actor_name) == (
                (inner_actor.id, inner_actor.username) if inner_actor is not None else (None, "system")
            ), where
            self.tags.add(inner_tag)
            self.writers.add(f"{inner.__module__}.{inner.__name__}")
        db.session.rollback()
        return picked


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(out, format="PNG")
    return out.getvalue()


def snapshot(user_id: int) -> User:
    """A detached copy of the user, to act as (like `lovemart.web.context` does for a request)."""
    user = db.session.get(User, user_id)
    db.session.expunge(user)
    return user


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)


def live(code: str, mark: str, clock, audited: Audited | None = None) -> SimpleNamespace:
    """Village `code`, with data of every kind, each write's audit row checked. `clock(moment)` sets the
    notices service's clock (a notice covers a month that is over)."""
    from lovemart.services.audit import AuditTag as T

    a = audited or Audited()
    v = SimpleNamespace(mark=mark)

    # -- accounts and the village --------------------------------------------------------------------------
    sysadmin_id = a(
        users.create_user, tag=T.USER_CREATE, subject="User", at=None, actor=None,
        username=f"{code}-sys", password=PASSWORD, role=Role.SYSADMIN,
    )  # fmt: skip
    sysadmin = snapshot(sysadmin_id)
    v.village = a(
        villages.create_village, tag=T.VILLAGE_CREATE, subject="Village", at=lambda new: new, actor=sysadmin,
        county_code="yichuan", county_name="宜川县", township_name="英旺乡", code=code, name=f"{mark}村",
        groups=[f"{mark}一组", f"{mark}二组"], settings=VillageSettings(card_prefix=code.upper()),
    )  # fmt: skip
    village_row = db.session.get(villages.Village, v.village)
    v.groups = [g.id for g in villages.groups(db.session, v.village)]
    db.session.rollback()
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER):
        user_id = a(
            users.create_user, tag=T.USER_CREATE, subject="User", at=v.village, actor=sysadmin,
            username=f"{code}-{role.value}", password=PASSWORD, role=role, village=village_row,
            display_name=f"{mark}{role.value}",
        )  # fmt: skip
        setattr(v, role.value, user_id)
    v.grid = a(
        users.create_user, tag=T.USER_CREATE, subject="User", at=v.village, actor=sysadmin,
        username=f"{code}-grid", password=PASSWORD, role=Role.GRID, village=village_row,
        display_name=f"{mark}网格员", group_names=[f"{mark}二组"],
    )  # fmt: skip
    a(
        users.set_groups, tag=T.USER_UPDATE, subject="User", at=v.village, actor=sysadmin,
        user_id=v.grid, group_names=[f"{mark}一组", f"{mark}二组"],
    )  # fmt: skip
    admin, supervisor = snapshot(v.admin), snapshot(v.supervisor)
    a(
        users.set_active, tag=T.USER_UPDATE, subject="User", at=v.village, actor=sysadmin,
        user_id=v.leader, active=False,
    )  # fmt: skip
    a(
        users.change_password, tag=T.USER_PASSWORD_CHANGE, subject="User", at=v.village, actor=admin,
        user=db.session.get(User, v.admin), old_password=PASSWORD, new_password=NEW_PASSWORD,
    )  # fmt: skip
    db.session.rollback()
    a(
        users.create_api_token, tag=T.API_TOKEN_CREATE, at=v.village, actor=admin,
        subject=("ApiToken", lambda s, _token: s.scalar(select(func.max(ApiToken.id)))),
        user=db.session.get(User, v.admin), pick=lambda token: token,
    )  # fmt: skip
    db.session.rollback()
    a(
        villages.update_settings, tag=T.VILLAGE_UPDATE, subject="Village", at=v.village, actor=admin,
        village_id=v.village, settings=VillageSettings(card_prefix=code.upper(), credit_after_notice=True),
    )  # fmt: skip

    # -- households --------------------------------------------------------------------------------------
    def household(number: str, head: str) -> int:
        return a(
            households.create, tag=T.HOUSEHOLD_CREATE, subject="Household", at=v.village, actor=admin,
            village_id=v.village, data=HouseholdInput(number=number, group_id=v.groups[0]),
            members=[MemberInput(f"{mark}{head}", Relation.HEAD.value, Gender.MALE.value, 1970)],
        )  # fmt: skip

    v.household, v.second, v.third, v.leaver = (
        household(f"{code}01", "张三"),
        household(f"{code}02", "李四"),
        household(f"{code}03", "王五"),
        household(f"{code}04", "赵六"),
    )
    a(
        households.update, tag=T.HOUSEHOLD_UPDATE, subject="Household", at=v.village, actor=admin,
        village_id=v.village, household_id=v.household,
        data=HouseholdInput(number=f"{code}01", group_id=v.groups[0], address=f"{mark}村道1号"),
    )  # fmt: skip
    v.member = a(
        households.add_member, tag=T.MEMBER_CREATE, subject="Member", at=v.village, actor=admin,
        village_id=v.village, household_id=v.household,
        member=MemberInput(f"{mark}小红", Relation.CHILD.value, Gender.FEMALE.value, 1995),
    )  # fmt: skip
    a(  # 小红 becomes a 党员: the first household is a 党员户
        households.update_member, tag=T.MEMBER_UPDATE, subject="Member", at=v.village, actor=admin,
        village_id=v.village, household_id=v.household, member_id=v.member,
        member=MemberInput(f"{mark}小红", Relation.CHILD.value, Gender.FEMALE.value, 1996, party_member=True),
    )  # fmt: skip
    gone = a(
        households.add_member, tag=T.MEMBER_CREATE, subject="Member", at=v.village, actor=admin,
        village_id=v.village, household_id=v.household,
        member=MemberInput(f"{mark}远亲", Relation.OTHER.value, Gender.MALE.value, 1950),
    )  # fmt: skip
    a(
        households.remove_member, tag=T.MEMBER_DELETE, subject=("Member", gone), at=v.village,
        actor=admin, village_id=v.village, household_id=v.household, member_id=gone, pick=lambda _none: None,
    )  # fmt: skip
    roster = io.StringIO()
    writer = csv.writer(roster)
    writer.writerow(HEADER)
    for row in GOOD_ROWS:
        number, group, name, *rest = row
        writer.writerow([f"{code}-{number}", f"{mark}{group}" if group else "", f"{mark}{name}", *rest])
    imported = a(
        spreadsheets.import_roster, tag=T.HOUSEHOLD_IMPORT, at=v.village, actor=admin,
        subject=("Household", lambda _s, created: created[0].id),
        pick=lambda created: [h.id for h in created],
        village_id=v.village, filename="花名册.csv", data=roster.getvalue().encode(),
        also=[(spreadsheets.import_rows, T.HOUSEHOLD_IMPORT, "Household", None, admin)],
    )  # fmt: skip
    v.imported = imported[0]

    # -- inspections and cards ---------------------------------------------------------------------------
    with unit_of_work() as session:  # the inspection's photo, kept in the database as on PostgreSQL
        v.photo = photos.store(DatabaseStore(session, "photo"), village_id=v.village, data=_photo())
    for household_id in (v.household, v.second, v.third):
        v.inspection = a(
            inspections.record, tag=T.INSPECTION_RECORD, subject="Inspection", at=v.village,
            actor=admin, village_id=v.village, household_id=household_id,
            data=InspectionInput(date(2026, 11, 1), f"{mark}检查组", ALL_CLEAN, photo=v.photo),
        )  # fmt: skip
    a(
        inspections.record_round, tag=T.INSPECTION_ROUND, subject=("VillagerGroup", v.groups[0]),
        at=v.village, actor=admin, pick=lambda _outcome: None,
        village_id=v.village, group_id=v.groups[0], inspected_on=date(2026, 11, 2), inspector=f"{mark}检查组",
        results=[RoundResult(v.leaver, ALL_CLEAN)],
    )  # fmt: skip
    a(
        households.set_active, tag=T.HOUSEHOLD_UPDATE, subject="Household", at=v.village, actor=admin,
        village_id=v.village, household_id=v.leaver, active=False,
    )  # fmt: skip
    for name, household_id in (("card", v.household), ("second_card", v.second), ("third_card", v.third)):
        setattr(
            v, name,
            a(
                cards.issue, tag=T.CARD_ISSUE, subject="Card", at=v.village, actor=admin,
                village_id=v.village, household_id=household_id,
                also=[(points.credit_base, T.LEDGER_ENTRY_CREATE, "LedgerEntry", None, admin)],
            ),
        )  # fmt: skip
    v.card = a(
        cards.reissue, tag=T.CARD_REISSUE, subject="Card", at=v.village, actor=admin,
        village_id=v.village, card_id=v.card,
    )  # fmt: skip
    a(
        cards.recover, tag=T.CARD_RECOVER, subject="Card", at=v.village, actor=admin,
        village_id=v.village, card_id=v.third_card,
    )  # fmt: skip
    v.card_number = db.session.get(cards.Card, v.card).number
    v.token = db.session.get(cards.Card, v.card).token
    db.session.rollback()

    # -- rules and points --------------------------------------------------------------------------------
    def rule(name, category, value, **options) -> int:
        return a(
            rules.create, tag=T.RULE_CREATE, subject="Rule", at=v.village, actor=admin,
            village_id=v.village, data=RuleInput(f"{mark}{name}", category, value, **options),
        )  # fmt: skip

    v.rule = rule("义务劳动", "volunteer", 10)
    v.approval_rule = rule("见义勇为", "family_virtue", 20, requires_approval=True)
    v.deduction = rule("乱倒垃圾", "deduction", -5)
    v.seeded = a(
        rules.seed,
        tag=T.RULE_CREATE,
        subject="Rule",
        at=v.village,
        actor=admin,
        pick=lambda created: created[0].id,
        village_id=v.village,
        rules=[RuleInput(f"{mark}孝老爱亲", "family_virtue", 5), RuleInput(f"{mark}义务劳动", "x", 1)],
    )  # fmt: skip  (the second is there already: only the first is created)
    a(
        rules.update, tag=T.RULE_UPDATE, subject="Rule", at=v.village, actor=admin,
        village_id=v.village, rule_id=v.rule, data=RuleInput(f"{mark}义务劳动", "volunteer", 10, "修村道"),
    )  # fmt: skip
    for active in (False, True):
        a(
            rules.set_active, tag=T.RULE_UPDATE, subject="Rule", at=v.village, actor=admin,
            village_id=v.village, rule_id=v.deduction, active=active,
        )  # fmt: skip

    def award(rule_id, household_id, tag, subject, pick, actor=admin, **kwargs):
        return a(
            points.award, tag=tag, subject=subject, at=v.village, actor=actor, pick=pick,
            village_id=v.village, household_id=household_id, rule_id=rule_id, note=f"{mark}备注", **kwargs,
        )  # fmt: skip

    # 公示后入账 is on: awards wait as claims until the notice; deductions count at once
    v.held = award(v.rule, v.household, T.CLAIM_CREATE, "PointsClaim", lambda r: r.claim.id)
    v.dropped = award(v.rule, v.second, T.CLAIM_CREATE, "PointsClaim", lambda r: r.claim.id)
    v.entry = award(v.deduction, v.household, T.LEDGER_ENTRY_CREATE, "LedgerEntry", lambda r: r.entry.id)
    v.batch_entry = a(
        points.award_batch, tag=T.LEDGER_ENTRY_CREATE, subject="LedgerEntry", at=v.village, actor=admin,
        pick=lambda recorded: recorded[0].entry.id,
        village_id=v.village, household_ids=[v.second], rule_id=v.deduction, note=f"{mark}集体",
    )  # fmt: skip
    v.reversal = a(
        points.reverse, tag=T.LEDGER_ENTRY_REVERSE, subject="LedgerEntry", at=v.village, actor=admin,
        village_id=v.village, entry_id=v.entry, reason=f"{mark}记错了",
        also=[(points.append_reversal, T.LEDGER_ENTRY_REVERSE, "LedgerEntry", None, admin)],
    )  # fmt: skip
    v.pending = award(v.approval_rule, v.household, T.CLAIM_CREATE, "PointsClaim", lambda r: r.claim.id)
    a(
        points.approve, tag=T.CLAIM_APPROVE, subject="PointsClaim", at=v.village, actor=supervisor,
        village_id=v.village, claim_id=v.pending,
    )  # fmt: skip
    v.rejected = award(v.approval_rule, v.second, T.CLAIM_CREATE, "PointsClaim", lambda r: r.claim.id)
    a(
        points.reject, tag=T.CLAIM_REJECT, subject="PointsClaim", at=v.village, actor=supervisor,
        village_id=v.village, claim_id=v.rejected, reason=f"{mark}不属实",
    )  # fmt: skip
    v.application = a(
        points.apply, tag=T.CLAIM_CREATE, subject="PointsClaim", at=v.village, actor=None,
        village_id=v.village, household_id=v.household, rule_id=v.rule, note=f"{mark}申请",
    )  # fmt: skip
    a(
        points.reject, tag=T.CLAIM_DECLINE, subject="PointsClaim", at=v.village, actor=admin,
        village_id=v.village, claim_id=v.application, reason=f"{mark}不是这条",
    )  # fmt: skip
    v.accepted = a(
        points.apply, tag=T.CLAIM_CREATE, subject="PointsClaim", at=v.village, actor=None,
        village_id=v.village, household_id=v.second, rule_id=v.approval_rule, note=f"{mark}申请",
    )  # fmt: skip
    a(
        points.accept,
        tag=T.CLAIM_APPROVE,
        subject="PointsClaim",
        at=v.village,
        actor=admin,
        village_id=v.village,
        claim_id=v.accepted,
    )  # fmt: skip  (accepted by the administrator: it now waits for the supervisor)

    # -- shop --------------------------------------------------------------------------------------------
    v.zone = a(
        inventory.save_zone, tag=T.ZONE_SAVE, subject="Zone", at=v.village, actor=admin,
        village_id=v.village, name=f"{mark}特价区",
    )  # fmt: skip
    v.product = a(
        inventory.create_product, tag=T.PRODUCT_CREATE, subject="Product", at=v.village, actor=admin,
        village_id=v.village, data=ProductInput(f"{mark}大米", v.zone, "袋", 10),
    )  # fmt: skip
    a(
        inventory.update_product, tag=T.PRODUCT_UPDATE, subject="Product", at=v.village, actor=admin,
        village_id=v.village, product_id=v.product, data=ProductInput(f"{mark}大米", v.zone, "袋", 5),
    )  # fmt: skip
    v.stock_in = a(
        inventory.stock_in, tag=T.STOCK_IN, subject="StockMovement", at=v.village, actor=admin,
        pick=lambda movements: movements[0].id,
        village_id=v.village, lines=[StockInLine(v.product, 50, use_by=date.today() + timedelta(days=3))],
    )  # fmt: skip
    a(
        inventory.correct_stock_in, tag=T.STOCK_CORRECT, subject="StockMovement", at=v.village, actor=admin,
        village_id=v.village, movement_id=v.stock_in, quantity=52, reason=f"{mark}少点了两袋",
    )  # fmt: skip
    a(
        inventory.write_off, tag=T.STOCK_WRITE_OFF, subject="StockMovement", at=v.village, actor=admin,
        village_id=v.village, product_id=v.product, quantity=1, reason=f"{mark}受潮",
    )  # fmt: skip
    v.stocktake = a(
        inventory.start_stocktake, tag=T.STOCKTAKE_START, subject="Stocktake", at=v.village,
        actor=admin, village_id=v.village, zone_id=v.zone,
    )  # fmt: skip
    with unit_of_work() as session:
        inventory.record_counts(
            session, village_id=v.village, stocktake_id=v.stocktake, counts={v.product: 48}
        )
    a(
        inventory.confirm_stocktake, tag=T.STOCKTAKE_CONFIRM, subject=("Stocktake", v.stocktake),
        at=v.village, actor=admin, pick=lambda _movements: None,
        village_id=v.village, stocktake_id=v.stocktake,
    )  # fmt: skip

    # -- donations ---------------------------------------------------------------------------------------
    v.donor = a(
        donations.save_donor, tag=T.DONOR_SAVE, subject="Donor", at=v.village, actor=admin,
        village_id=v.village, name=f"{mark}爱心企业", kind="enterprise",
    )  # fmt: skip
    v.fund = a(
        donations.create_fund, tag=T.FUND_CREATE, subject="Fund", at=v.village, actor=admin,
        village_id=v.village, name=f"{mark}帮扶资金", kind="poverty_office",
    )  # fmt: skip
    a(
        donations.add_funding, tag=T.FUND_INCOME, subject="FundMovement", at=v.village, actor=admin,
        village_id=v.village, fund_id=v.fund, amount_fen=100_000, note=f"{mark}拨款",
    )  # fmt: skip
    v.donation = a(
        donations.receive_goods, tag=T.DONATION_RECORD, subject="Donation", at=v.village, actor=admin,
        pick=lambda outcome: outcome.donation.id,
        village_id=v.village, donor_id=v.donor, received_on=date.today(), lines=[StockInLine(v.product, 5)],
        note=f"{mark}捐赠",
    )  # fmt: skip
    v.money = a(
        donations.receive_money, tag=T.DONATION_RECORD, subject="Donation", at=v.village, actor=admin,
        village_id=v.village, donor_id=v.donor, fund_id=v.fund, amount_fen=5000, received_on=date.today(),
    )  # fmt: skip
    v.purchase = a(
        donations.purchase, tag=T.PURCHASE_RECORD, subject="Purchase", at=v.village, actor=admin,
        village_id=v.village, fund_id=v.fund, bought_on=date.today(),
        lines=[StockInLine(v.product, 5, cost_fen=2000)],
        supplier=f"{mark}粮店",
    )  # fmt: skip

    # -- counter -----------------------------------------------------------------------------------------
    def redeem(key: str) -> int:
        return a(
            redemptions.redeem, tag=T.REDEMPTION_CREATE, subject="Redemption", at=v.village, actor=admin,
            village_id=v.village, card_number=v.card_number, lines=[CartLine(v.product, 1)],
            idempotency_key=f"{code}-{key}",
        )  # fmt: skip

    v.redemption, v.returned = redeem("first"), redeem("second")
    a(
        redemptions.cancel, tag=T.REDEMPTION_CANCEL, subject="Redemption", at=v.village, actor=admin,
        village_id=v.village, redemption_id=v.returned, reason=f"{mark}退货",
        also=[(points.append_reversal, T.LEDGER_ENTRY_REVERSE, "LedgerEntry", None, admin)],
    )  # fmt: skip

    # -- the offline counter: one booked, three pending (two then settled), a gap at 3 ------------------
    v.device = a(
        offline.register_device, tag=T.COUNTER_DEVICE_REGISTER, subject="CounterDevice", at=v.village,
        actor=admin, village_id=v.village, name=f"{mark}柜台手机",
    )  # fmt: skip
    a(
        offline.set_offline, tag=T.COUNTER_DEVICE_UPDATE, subject="CounterDevice", at=v.village, actor=admin,
        village_id=v.village, device_id=v.device, enabled=True,
    )  # fmt: skip
    price = db.session.get(Product, v.product).points_price
    db.session.rollback()
    taken = utcnow()

    def offline_sale(seq: int, card: str, total: int, tag, skew: int = 0, also=()) -> int:
        record = OfflineRecord(
            seq, f"{code}-offline-{seq}", card, [CartLine(v.product, 1)], total, f"{mark}离线-{seq}", taken,
            taken, 0,
        )  # fmt: skip
        return a(
            offline.apply, tag=tag, subject="OfflineRedemption", at=v.village, actor=admin, also=also,
            village_id=v.village, device_id=v.device, record=record, skew_seconds=skew,
        )  # fmt: skip

    booked = [(redemptions.redeem, T.REDEMPTION_CREATE, "Redemption", None, admin)]
    v.offline = offline_sale(1, v.card_number, price, T.OFFLINE_APPLY, also=booked)
    v.repriced = offline_sale(2, v.card_number, price + 1, T.OFFLINE_PENDING)
    v.unknown_card = offline_sale(4, f"{code}-NOPE", price, T.OFFLINE_PENDING, skew=600)
    v.waiting = offline_sale(5, f"{code}-NOPE", price, T.OFFLINE_PENDING)
    a(
        offline.settle, tag=T.OFFLINE_ACCEPT, subject="OfflineRedemption", at=v.village, actor=supervisor,
        village_id=v.village, record_id=v.repriced, accept=True, reason=f"{mark}调价前已拿走",
        also=[(redemptions.redeem, T.REDEMPTION_CREATE, "Redemption", None, supervisor)],
    )  # fmt: skip
    a(
        offline.settle, tag=T.OFFLINE_RECOVER, subject="OfflineRedemption", at=v.village, actor=supervisor,
        village_id=v.village, record_id=v.unknown_card, accept=False, reason=f"{mark}已退回",
    )  # fmt: skip

    # -- wishes ------------------------------------------------------------------------------------------
    def wish(text: str) -> int:
        return a(
            walls.post_wish, tag=T.WISH_POST, subject="Wish", at=v.village, actor=admin,
            village_id=v.village, household_id=v.household, text=f"{mark}{text}", category="daily",
        )  # fmt: skip

    v.wish, v.declined = wish("想要一台收音机"), wish("想要一辆自行车")
    for writer, tag, extra in (
        (walls.approve, T.WISH_APPROVE, {}),
        (walls.pledge, T.WISH_PLEDGE, {"donor_id": v.donor}),
        (walls.receive_goods, T.WISH_RECEIVE, {"donation_id": v.donation}),
        (walls.hand_over, T.WISH_HANDOVER, {"product_id": v.product, "quantity": 1}),
        (walls.fulfil, T.WISH_FULFIL, {"fulfilment": f"{mark}已送到", "thanks": f"{mark}谢谢"}),
    ):
        a(
            writer, tag=tag, subject="Wish", at=v.village, actor=admin,
            village_id=v.village, wish_id=v.wish, **extra,
        )  # fmt: skip
    a(
        walls.decline, tag=T.WISH_DECLINE, subject="Wish", at=v.village, actor=admin,
        village_id=v.village, wish_id=v.declined, reason=f"{mark}超出范围",
    )  # fmt: skip

    # -- the month's notice, an objection, and the held awards settled -------------------------------------
    today = datetime.now(VILLAGE_TIMEZONE).date()
    start, end = notices.month_period(today)
    clock(local(end + timedelta(days=2)))
    v.notice = a(
        notices.compile, tag=T.NOTICE_COMPILE, subject="Notice", at=v.village, actor=supervisor,
        village_id=v.village, period_start=start, period_end=end,
    )  # fmt: skip
    a(
        notices.publish, tag=T.NOTICE_PUBLISH, subject="Notice", at=v.village, actor=supervisor,
        village_id=v.village, notice_id=v.notice,
    )  # fmt: skip
    notice = db.session.get(notices.Notice, v.notice)
    notice_token, deadline = notice.token, notice.objection_deadline
    db.session.rollback()
    v.objection = a(
        notices.raise_objection, tag=T.OBJECTION_RAISE, subject="Objection", at=v.village, actor=None,
        village_id=v.village, household_id=v.second, notice_token=notice_token, claim_id=v.dropped,
        text=f"{mark}那天他不在",
    )  # fmt: skip
    a(
        notices.answer, tag=T.OBJECTION_ANSWER, subject="Objection", at=v.village, actor=supervisor,
        village_id=v.village, objection_id=v.objection, decision="upheld", answer=f"{mark}核实不予入账",
        also=[(points.drop_publicized, T.CLAIM_REJECT, "PointsClaim", v.dropped, supervisor)],
    )  # fmt: skip
    a(
        notices.settle_due, tag=T.NOTICE_SETTLE, subject=("Notice", v.notice), at=v.village, actor=None,
        pick=lambda settled: [n.id for n in settled], village_id=v.village, now=deadline,
        also=[(points.credit_publicized, T.CLAIM_APPROVE, "PointsClaim", v.held, None)],
    )  # fmt: skip
    v.deadline = deadline
    return v
