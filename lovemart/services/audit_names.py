"""The audit log in plain words (审计日志): action names, the object as people name it, field labels, people.

`describe(session, village_id=…, events=…)` turns a page of audit rows into `Line`s: the action's Chinese
name, the object (户号 + 户主, a receipt number, a product's name, …) with the page it has, the person's
display name, and for the detail the changes with their labels and the ids in them named too. Objects are
resolved once per type per call (one query each, never per row), always within the working village: an id
of another village stays unnamed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from lovemart.models import AuditEvent, User
from lovemart.models.cards import Card
from lovemart.models.donations import Donation, Donor, Fund, FundMovement, Purchase
from lovemart.models.geography import Village, VillagerGroup
from lovemart.models.households import Household, Member, Relation
from lovemart.models.inspections import Inspection
from lovemart.models.inventory import Product, StockMovement, Stocktake, Zone
from lovemart.models.notices import Notice, Objection
from lovemart.models.offline import CounterDevice, OfflineRedemption
from lovemart.models.points import LedgerEntry, PointsAccount, PointsClaim
from lovemart.models.redemptions import Redemption
from lovemart.models.rules import Rule
from lovemart.models.users import ApiToken
from lovemart.models.walls import Wish
from lovemart.services.audit import action_name
from lovemart.services.audit_log import changes, kind_of

#: What each subject type is called, for an object that can no longer be named (deleted, another village).
TYPE_NAMES = {
    "ApiToken": _l("接口令牌"),
    "Card": _l("积分卡"),
    "Donation": _l("捐赠"),
    "Donor": _l("捐赠方"),
    "CounterDevice": _l("柜台设备"),
    "Fund": _l("资金"),
    "FundMovement": _l("资金流水"),
    "Household": _l("农户"),
    "Inspection": _l("卫生检查"),
    "LedgerEntry": _l("积分记录"),
    "Member": _l("家庭成员"),
    "Notice": _l("公示"),
    "Objection": _l("异议"),
    "OfflineRedemption": _l("离线兑换"),
    "PointsAccount": _l("积分账户"),
    "PointsClaim": _l("积分申报"),
    "Product": _l("商品"),
    "Purchase": _l("采购"),
    "Redemption": _l("兑换"),
    "Rule": _l("积分规则"),
    "StockMovement": _l("库存变动"),
    "Stocktake": _l("盘点"),
    "User": _l("用户"),
    "Village": _l("村"),
    "VillagerGroup": _l("村民小组"),
    "Wish": _l("心愿"),
    "Zone": _l("商品区"),
}

#: The label of each key of an audit row's data, and the subject type an `…_id` key points to.
FIELDS = {
    "account_id": (_l("积分账户"), "PointsAccount"),
    "active": (_l("启用"), None),
    "address": (_l("地址"), None),
    "adjustments": (_l("盘点调整"), None),
    "amount_fen": (_l("金额（分）"), None),
    "answer": (_l("答复"), None),
    "barcode": (_l("条码"), None),
    "by": (_l("提出方式"), None),
    "checks": (_l("检查项"), None),
    "client_at": (_l("设备时间"), None),
    "clock_skew_seconds": (_l("设备时钟误差（秒）"), None),
    "claim_id": (_l("积分申报"), "PointsClaim"),
    "credited": (_l("入账笔数"), None),
    "days": (_l("公示天数"), None),
    "decision": (_l("决定"), None),
    "device": (_l("柜台设备"), None),
    "display_name": (_l("姓名"), None),
    "donation_id": (_l("捐赠"), "Donation"),
    "donor": (_l("捐赠方"), None),
    "draft_digest": (_l("草稿摘要"), None),
    "dropped": (_l("未入账笔数"), None),
    "entry_id": (_l("积分记录"), "LedgerEntry"),
    "from_villager": (_l("村民自报"), None),
    "fund_id": (_l("资金"), "Fund"),
    "group_id": (_l("村民小组"), "VillagerGroup"),
    "household_id": (_l("农户"), "Household"),
    "households": (_l("农户数"), None),
    "inspected_on": (_l("检查日期"), None),
    "inspections": (_l("检查记录"), None),
    "kind": (_l("类型"), None),
    "lines": (_l("商品 × 数量"), None),
    "lost": (_l("挂失卡号"), None),
    "low_stock": (_l("低库存提醒"), None),
    "members": (_l("家庭成员"), None),
    "name": (_l("名称"), None),
    "note": (_l("备注"), None),
    "notice_id": (_l("公示"), "Notice"),
    "number": (_l("编号"), None),
    "offline_enabled": (_l("允许离线兑换"), None),
    "party_member": (_l("党员"), None),
    "passed": (_l("合格"), None),
    "period": (_l("公示期"), None),
    "phone": (_l("电话"), None),
    "points": (_l("积分"), None),
    "points_price": (_l("所需积分"), None),
    "problem": (_l("未能入账的原因"), None),
    "provisional_no": (_l("离线小票号"), None),
    "product_id": (_l("商品"), "Product"),
    "publicized": (_l("已公示"), None),
    "purchase_id": (_l("采购"), "Purchase"),
    "quantity": (_l("数量"), None),
    "reason": (_l("原因"), None),
    "receipt_no": (_l("小票号"), None),
    "recorded": (_l("原记数量"), None),
    "request_key": (_l("请求编号"), None),
    "reversal_id": (_l("冲正记录"), "LedgerEntry"),
    "reversal_of": (_l("被冲正的记录"), "LedgerEntry"),
    "role": (_l("角色"), None),
    "rule": (_l("积分规则"), None),
    "seq": (_l("序号"), None),
    "status": (_l("状态"), None),
    "stock_in_id": (_l("被更正的入库"), "StockMovement"),
    "text": (_l("内容"), None),
    "total_fen": (_l("总金额（分）"), None),
    "unit": (_l("单位"), None),
    "username": (_l("用户名"), None),
    "zone_id": (_l("商品区"), "Zone"),
}

#: Keys whose value is a list of [product id, quantity].
_PRODUCT_LINES = {"lines", "adjustments"}


@dataclass(frozen=True)
class Named:
    """An object as people name it, and its page (`endpoint` None: it has none)."""

    text: str
    endpoint: str | None = None
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    key: str
    label: object
    before: object
    after: object


@dataclass(frozen=True)
class Line:
    event: AuditEvent
    action: object
    kind: object
    subject: Named
    actor: str
    changes: list[Change] = field(default_factory=list)


# ---- resolving, one query per type ------------------------------------------------------------------------


def _heads(session: Session, village_id: int, household_ids) -> dict[int, Named]:
    rows = session.execute(
        select(Household.id, Household.number, Member.name)
        .outerjoin(
            Member,
            and_(
                Member.household_id == Household.id,
                Member.village_id == Household.village_id,
                Member.relation == Relation.HEAD.value,
            ),
        )
        .where(Household.village_id == village_id, Household.id.in_(household_ids))
    )
    return {
        hid: Named(
            str(_l("%(number)s 户 · 户主 %(head)s", number=number, head=head))
            if head
            else str(_l("%(number)s 户", number=number)),
            "households.detail",
            {"household_id": hid},
        )
        for hid, number, head in rows
    }


def _accounts(session, village_id, ids) -> dict[int, int]:
    rows = session.execute(
        select(PointsAccount.id, PointsAccount.household_id).where(
            PointsAccount.village_id == village_id, PointsAccount.id.in_(ids)
        )
    )
    return dict(rows.all())


def _simple(model, column, endpoint=None, arg=None):
    """A resolver naming each row by one column, linked to `endpoint` with the id as `arg`."""

    def resolve(session, village_id, ids):
        rows = session.execute(
            select(model.id, column).where(model.village_id == village_id, model.id.in_(ids))
        )
        return {i: Named(str(text), endpoint, {arg: i} if endpoint else {}) for i, text in rows}

    return resolve


def _of_household(model, label, extra, endpoint=None, arg=None):
    """Rows with a household_id: named by what they are, then the household (户号 + 户主)."""

    def resolve(session, village_id, ids):
        rows = session.execute(
            select(model.id, model.household_id, extra).where(
                model.village_id == village_id, model.id.in_(ids)
            )
        ).all()
        heads = _heads(session, village_id, {r[1] for r in rows})
        out = {}
        for i, hid, more in rows:
            who = heads[hid].text if hid in heads else ""
            text = " · ".join(str(p) for p in (label, _short(more), who) if p not in (None, ""))
            out[i] = Named(text, endpoint, {arg: i} if endpoint else {})
        return out

    return resolve


def _short(value, n: int = 20):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > n:
        return value[:n] + "…"
    return value


def _by_account(model, label, extra, endpoint=None, arg=None):
    def resolve(session, village_id, ids):
        rows = session.execute(
            select(model.id, model.account_id, extra).where(model.village_id == village_id, model.id.in_(ids))
        ).all()
        households = _accounts(session, village_id, {r[1] for r in rows})
        heads = _heads(session, village_id, set(households.values()))
        out = {}
        for i, account, more in rows:
            head = heads.get(households.get(account))
            text = " · ".join(str(p) for p in (label, more, head.text if head else "") if p not in (None, ""))
            out[i] = Named(text, endpoint, {arg: i} if endpoint else {})
        return out

    return resolve


def _redemptions(session, village_id, ids):
    rows = session.execute(
        select(Redemption.id, Redemption.receipt_no, Redemption.household_id).where(
            Redemption.village_id == village_id, Redemption.id.in_(ids)
        )
    ).all()
    heads = _heads(session, village_id, {r[2] for r in rows})
    return {
        i: Named(
            " · ".join([str(_l("小票 %(no)s", no=no)), *([heads[h].text] if h in heads else [])]),
            "counter.receipt",
            {"redemption_id": i},
        )
        for i, no, h in rows
    }


def _movements(session, village_id, ids):
    rows = session.execute(
        select(StockMovement.id, StockMovement.product_id, Product.name, StockMovement.quantity)
        .join(Product, and_(Product.id == StockMovement.product_id, Product.village_id == village_id))
        .where(StockMovement.village_id == village_id, StockMovement.id.in_(ids))
    )
    return {
        i: Named(f"{name} {quantity:+d}", "goods.product", {"product_id": pid})
        for i, pid, name, quantity in rows
    }


def _donations(session, village_id, ids):
    rows = session.execute(
        select(Donation.id, Donation.receipt_no, Donor.name)
        .outerjoin(Donor, and_(Donor.id == Donation.donor_id, Donor.village_id == village_id))
        .where(Donation.village_id == village_id, Donation.id.in_(ids))
    )
    return {
        i: Named(
            " · ".join(p for p in (str(_l("捐赠 %(no)s", no=no)), donor or "") if p),
            "donations.detail",
            {"donation_id": i},
        )
        for i, no, donor in rows
    }


def _notices(session, village_id, ids):
    rows = session.execute(
        select(Notice.id, Notice.period_start, Notice.period_end).where(
            Notice.village_id == village_id, Notice.id.in_(ids)
        )
    )
    return {
        i: Named(
            str(_l("公示 %(first)s 至 %(last)s", first=first.isoformat(), last=last.isoformat())),
            "notices.detail",
            {"notice_id": i},
        )
        for i, first, last in rows
    }


def _fund_movements(session, village_id, ids):
    rows = session.execute(
        select(FundMovement.id, Fund.name)
        .join(Fund, and_(Fund.id == FundMovement.fund_id, Fund.village_id == village_id))
        .where(FundMovement.village_id == village_id, FundMovement.id.in_(ids))
    )
    return {i: Named(str(_l("%(fund)s 入账", fund=name))) for i, name in rows}


def _purchases(session, village_id, ids):
    rows = session.execute(
        select(Purchase.id, Fund.name, Purchase.bought_on)
        .join(Fund, and_(Fund.id == Purchase.fund_id, Fund.village_id == village_id))
        .where(Purchase.village_id == village_id, Purchase.id.in_(ids))
    )
    return {
        i: Named(str(_l("采购 %(day)s · %(fund)s", day=day.isoformat(), fund=name))) for i, name, day in rows
    }


def _stocktakes(session, village_id, ids):
    rows = session.scalars(
        select(Stocktake.id).where(Stocktake.village_id == village_id, Stocktake.id.in_(ids))
    )
    return {i: Named(str(_l("盘点 %(n)d 号", n=i)), "stocktakes.sheet", {"stocktake_id": i}) for i in rows}


def _users(session, village_id, ids):
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(
            User.village_id == village_id, User.id.in_(ids)
        )
    )
    return {i: Named(shown or name) for i, shown, name in rows}


def _tokens(session, village_id, ids):
    rows = session.execute(
        select(ApiToken.id, User.display_name, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(User.village_id == village_id, ApiToken.id.in_(ids))
    )
    return {i: Named(str(_l("%(user)s 的接口令牌", user=shown or name))) for i, shown, name in rows}


def _villages(session, village_id, ids):
    name = session.scalar(select(Village.name).where(Village.id == village_id)) if village_id in ids else None
    return {village_id: Named(name)} if name else {}


RESOLVERS = {
    "ApiToken": _tokens,
    "Card": _of_household(Card, _l("积分卡"), Card.number, "cards.show", "card_id"),
    "CounterDevice": _simple(CounterDevice, CounterDevice.name),
    "Donation": _donations,
    "Donor": _simple(Donor, Donor.name),
    "Fund": _simple(Fund, Fund.name),
    "FundMovement": _fund_movements,
    "Household": _heads,
    "Inspection": _of_household(Inspection, _l("卫生检查"), Inspection.inspected_on),
    "LedgerEntry": _by_account(
        LedgerEntry, _l("积分记录"), LedgerEntry.rule_name, "points.entry", "entry_id"
    ),
    "Member": _of_household(Member, _l("家庭成员"), Member.name),
    "Notice": _notices,
    "OfflineRedemption": _simple(OfflineRedemption, OfflineRedemption.provisional_no),
    "Objection": _of_household(Objection, _l("异议"), Objection.text, "notices.objection", "objection_id"),
    "PointsClaim": _by_account(PointsClaim, _l("积分申报"), PointsClaim.points),
    "Product": _simple(Product, Product.name, "goods.product", "product_id"),
    "Purchase": _purchases,
    "Redemption": _redemptions,
    "Rule": _simple(Rule, Rule.name, "rules.edit", "rule_id"),
    "StockMovement": _movements,
    "Stocktake": _stocktakes,
    "User": _users,
    "Village": _villages,
    "VillagerGroup": _simple(VillagerGroup, VillagerGroup.name),
    "Wish": _of_household(Wish, _l("心愿"), Wish.text, "walls.detail", "wish_id"),
    "Zone": _simple(Zone, Zone.name),
}


def resolve(
    session: Session, *, village_id: int, wanted: dict[str, set[int]]
) -> dict[tuple[str, int], Named]:
    """(type, id) → Named for the objects of the village among `wanted`; one query (or a join) per type."""
    out = {}
    for kind, ids in wanted.items():
        ids = {i for i in ids if isinstance(i, int)}
        resolver = RESOLVERS.get(kind)
        if resolver is None or not ids:
            continue
        for i, named in resolver(session, village_id, ids).items():
            out[(kind, i)] = named
    return out


def unnamed(kind: str, ident) -> Named:
    """An object the village cannot name (gone, or not the village's): its kind, and the number."""
    label = TYPE_NAMES.get(kind, kind)
    return Named(str(_l("%(kind)s（已不存在）", kind=label)) if ident is not None else str(label))


# ---- the lines --------------------------------------------------------------------------------------------


def _refs(data: dict, wanted: dict[str, set[int]]) -> None:
    for part in (data, data.get("before") or {}, data.get("after") or {}):
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            target = FIELDS.get(key, (None, None))[1]
            if target and isinstance(value, int):
                wanted[target].add(value)
            if key in _PRODUCT_LINES and isinstance(value, list):
                wanted["Product"].update(p[0] for p in value if isinstance(p, list) and p)


def _text(key: str, value, names: dict) -> object:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _l("是") if value else _l("否")
    target = FIELDS.get(key, (None, None))[1]
    if target and isinstance(value, int):
        return names.get((target, value), unnamed(target, value)).text
    if key in _PRODUCT_LINES and isinstance(value, list):
        return "，".join(
            f"{names.get(('Product', p), unnamed('Product', p)).text} × {q}"
            for p, q in (line for line in value if isinstance(line, list) and len(line) == 2)
        )
    if key == "period" and isinstance(value, list):
        return " 至 ".join(str(v) for v in value)
    if isinstance(value, list):
        return "，".join(str(_text(key, v, names)) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{FIELDS.get(k, (k,))[0]}：{_text(k, v, names)}" for k, v in value.items())
    return value


def field_label(key: str) -> object:
    return FIELDS.get(key, (key,))[0]


def describe(
    session: Session, *, village_id: int, events: list[AuditEvent], detail: bool = False
) -> list[Line]:
    """The events in plain words; `detail` also names the fields and ids of each one's data."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for e in events:
        if e.subject_id is not None:
            wanted[e.subject_type].add(e.subject_id)
        if detail:
            _refs(e.data or {}, wanted)
    names = resolve(session, village_id=village_id, wanted=wanted)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    people = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    lines = []
    for e in events:
        subject = names.get((e.subject_type, e.subject_id)) or unnamed(e.subject_type, e.subject_id)
        actor = str(_l("系统")) if e.actor_id is None else (people.get(e.actor_id) or e.actor_name)
        found = (
            [
                Change(key, field_label(key), _text(key, before, names), _text(key, after, names))
                for key, before, after in changes(e.data)
                if not (before in (None, "") and after in (None, ""))
            ]
            if detail
            else []
        )
        lines.append(Line(e, action_name(e.tag), kind_of(e.tag), subject, actor, found))
    return lines
