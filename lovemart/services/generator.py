"""A county-sized data set for benchmarks and capacity planning: `generate_village` builds one village of
the county with households, cards, rules, goods, a donation, years of ledger entries, redemptions and stock
movements, and wishes.

Rows go in through bulk INSERTs (executemany) instead of the services, which would take hours for a million
entries, but they are exactly the rows the services would write: balances and `balance_after` run in order,
every entry is hash-chained with `points.entry_hash`, stock levels equal their movements, monthly totals
equal the books, and the village's ledger book ends at the chain head, so `lovemart verify` passes. Audit
events are not generated: nobody did these things.

The first pass simulates the village's history in memory (which household earns, loses or redeems what,
when); the second inserts it, parents first, taking the database's ids as it goes, since an entry's hash
covers its account and redemption ids.
"""

import hashlib
import random
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from lovemart.demo.people import FEMALE_GIVEN, MALE_GIVEN, SURNAMES
from lovemart.models import (
    Card,
    Donation,
    Donor,
    Household,
    Inspection,
    LedgerBook,
    LedgerEntry,
    Member,
    PointsAccount,
    Product,
    Redemption,
    RedemptionLine,
    StockMovement,
    Wish,
)
from lovemart.models.households import Gender, HouseholdStatus, Relation
from lovemart.models.points import GENESIS_HASH, EntryKind
from lovemart.models.walls import WishCategory, WishStatus
from lovemart.services import inventory, ledger_tree, rules, totals, villages
from lovemart.services.points import entry_hash

#: Villages of a county, as in the seeds (宜川县 runs 47 shops).
VILLAGES = 47
TOWNSHIPS = ("丹州街道", "秋林镇", "云岩镇", "集义镇", "壶口镇", "英旺乡", "交里乡")
GROUP_NAMES = ("东组", "西组", "南组", "北组", "中组")
#: Goods per zone: (name, unit, points price).
GOODS = {
    "粮油区": (("大米", "袋", 30), ("面粉", "袋", 25), ("食用油", "桶", 40), ("挂面", "把", 4)),
    "日用品区": (("毛巾", "条", 5), ("牙刷", "支", 2), ("脸盆", "个", 8), ("暖水瓶", "个", 15)),
    "洗化区": (("洗衣粉", "袋", 8), ("香皂", "块", 3), ("洗发水", "瓶", 12), ("洗洁精", "瓶", 6)),
    "服装区": (("棉袄", "件", 60), ("运动鞋", "双", 35), ("袜子", "双", 2), ("手套", "副", 3)),
    "农资区": (("化肥", "袋", 50), ("种子", "包", 10), ("农膜", "卷", 20), ("铁锹", "把", 18)),
    "家用电器区": (("电饭锅", "台", 120), ("电热毯", "条", 70), ("台灯", "盏", 30), ("电水壶", "个", 45)),
}
STOCK_IN = 1_000_000  # one large delivery per product: redemptions never run the generated shop dry
BATCH = 10_000


@dataclass(frozen=True)
class CountyPlan:
    villages: int = VILLAGES
    households: int = 154
    #: Ledger entries over the whole county, the cards' base entries included.
    entries: int = 100_000
    years: int = 3
    wishes: int = 12
    seed: str = "lovemart-county"
    county_code: str = "yichuan"
    county_name: str = "宜川县"
    code_prefix: str = "cv"
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def entries_of(self, index: int) -> int:
        """The share of village `index` (0-based): equal parts, the remainder to the first villages."""
        share, extra = divmod(self.entries, self.villages)
        return max(self.households, share + (1 if index < extra else 0))


@dataclass
class _Event:
    """One simulated ledger entry; for a redemption, `product` and `quantity` say what was taken."""

    at: datetime
    household: int  # index into the village's households
    points: int
    kind: EntryKind
    rule: object = None
    product: int | None = None  # index into the village's products
    quantity: int = 0
    balance_after: int = 0


def generate_village(session: Session, plan: CountyPlan, index: int, progress: Callable[[int], None]) -> int:
    """Village `index` of the plan, in the caller's transaction; `progress(n)` after every n entries written.
    Returns the village id."""
    rng = random.Random(f"{plan.seed}-{index}")  # noqa: S311 - synthetic data, not a secret
    start = plan.end - timedelta(days=365 * plan.years)
    village = villages.create_village(
        session,
        actor=None,
        county_code=plan.county_code,
        county_name=plan.county_name,
        township_name=TOWNSHIPS[index % len(TOWNSHIPS)],
        code=f"{plan.code_prefix}{index + 1:02d}",
        name=f"{plan.code_prefix.upper()}{index + 1:02d}村",
        groups=list(GROUP_NAMES[: rng.randint(3, 5)]),
    )
    everyday = [
        r
        for r in rules.seed(session, actor=None, village_id=village.id)
        if not r.requires_approval and r.cap_per_month is None and not r.repeat_points
    ]
    household_ids = _households(session, village, plan, rng, start)
    products = _products(session, village.id)
    events = list(
        _history(
            rng,
            plan.entries_of(index),
            village.base_points,
            len(household_ids),
            everyday,
            products,
            start,
            plan.end,
        )
    )
    balances = [0] * len(household_ids)
    for event in events:
        balances[event.household] = event.balance_after
    account_ids = _insert(
        session,
        PointsAccount,
        [
            {
                "village_id": village.id,
                "household_id": h,
                "balance": b,
                "status": "active",
                "opened_at": start,
            }
            for h, b in zip(household_ids, balances, strict=True)
        ],
    )
    card_ids = _insert(
        session,
        Card,
        [
            {
                "village_id": village.id,
                "household_id": h,
                "account_id": a,
                "number": f"{village.card_prefix}{n:05d}",
                "token": secrets.token_urlsafe(24),
                "status": "active",
                "issued_at": start,
            }
            for n, (h, a) in enumerate(zip(household_ids, account_ids, strict=True), start=1)
        ],
    )
    donation_id = _donation(session, village.id, products, start)
    receipts = _redemptions(
        session, village, events, account_ids, household_ids, card_ids, products, donation_id
    )
    head, edge = _ledger(session, village.id, events, account_ids, receipts, progress)
    _wishes(session, village.id, household_ids, plan, rng, start)
    session.execute(
        update(LedgerBook)
        .where(LedgerBook.village_id == village.id)
        .values(
            entry_count=len(events),
            head_hash=head,
            tree_edge=edge,
            card_count=len(card_ids),
            receipt_count=len(receipts),
            donation_count=1,
        )
    )
    return village.id


def _households(session, village, plan: CountyPlan, rng: random.Random, start: datetime) -> list[int]:
    groups = villages.groups(session, village.id)
    rows, heads = [], []
    for n in range(plan.households):
        group = groups[n % len(groups)]
        rows.append(
            {
                "village_id": village.id,
                "group_id": group.id,
                "number": f"{group.position + 1:02d}{n + 1:03d}",
                "address": f"{village.name}{group.name}{n + 1}号",
                "phone": "",
                "status": (HouseholdStatus.POOR if rng.random() < 0.2 else HouseholdStatus.GENERAL).value,
                "active": True,
                "created_at": start,
                "updated_at": start,
            }
        )
        male = rng.random() < 0.85
        heads.append((rng.choice(SURNAMES) + rng.choice(MALE_GIVEN if male else FEMALE_GIVEN), male))
    ids = _insert(session, Household, rows)
    _insert(
        session,
        Member,
        [
            {
                "village_id": village.id,
                "household_id": h,
                "name": name,
                "relation": Relation.HEAD.value,
                "gender": (Gender.MALE if male else Gender.FEMALE).value,
                "birth_year": rng.randint(1945, 1990),
                "position": 0,
            }
            for h, (name, male) in zip(ids, heads, strict=True)
        ],
    )
    _insert(
        session,
        Inspection,
        [
            {
                "village_id": village.id,
                "household_id": h,
                "inspected_on": start.date(),
                "inspector": "村两委检查组",
                "yard_clean": True,
                "bedroom_clean": True,
                "kitchen_clean": True,
                "toilet_clean": True,
                "personal_clean": True,
                "belongings_tidy": True,
                "passed": True,
                "note": "",
            }
            for h in ids
        ],
    )
    return ids


def _products(session, village_id: int) -> list[SimpleNamespace]:
    zones = {z.name: z.id for z in inventory.zones(session, village_id=village_id)}
    goods = [(zone, *item) for zone, items in GOODS.items() for item in items]
    ids = _insert(
        session,
        Product,
        [
            {
                "village_id": village_id,
                "zone_id": zones[zone],
                "name": name,
                "unit": unit,
                "points_price": price,
                "low_stock": 5,
                "active": True,
                "stock": STOCK_IN,
            }
            for zone, name, unit, price in goods
        ],
    )
    return [
        SimpleNamespace(id=i, name=name, unit=unit, price=price, stock=STOCK_IN)
        for i, (_zone, name, unit, price) in zip(ids, goods, strict=True)
    ]


def _history(rng, count: int, base: int, households: int, everyday, products, start, end) -> Iterator[_Event]:
    """Base entries for every card, then `count - households` awards, deductions and redemptions spread
    evenly at random over the years, in time order, never overdrawing a balance."""
    balances = [base] * households
    for h in range(households):
        yield _Event(start + timedelta(seconds=h), h, base, EntryKind.BASE, balance_after=base)
    awards = [r for r in everyday if r.points > 0]
    deductions = [r for r in everyday if r.points < 0]
    span = (end - start).total_seconds() - households - 1
    moments = sorted(rng.random() * span for _ in range(count - households))
    for offset in moments:
        at = start + timedelta(seconds=households + 1 + offset)
        h = rng.randrange(households)
        roll = rng.random()
        if roll < 0.3:
            affordable = [i for i, p in enumerate(products) if p.price <= balances[h]]
            if affordable:
                product = rng.choice(affordable)
                quantity = rng.randint(1, max(1, min(3, balances[h] // products[product].price)))
                points = -products[product].price * quantity
                balances[h] += points
                yield _Event(
                    at,
                    h,
                    points,
                    EntryKind.REDEMPTION,
                    product=product,
                    quantity=quantity,
                    balance_after=balances[h],
                )
                continue
        if roll < 0.4 and (rule := rng.choice(deductions)) and balances[h] + rule.points >= 0:
            balances[h] += rule.points
            yield _Event(at, h, rule.points, EntryKind.DEDUCTION, rule, balance_after=balances[h])
            continue
        rule = rng.choice(awards)
        balances[h] += rule.points
        yield _Event(at, h, rule.points, EntryKind.AWARD, rule, balance_after=balances[h])


def _donation(session, village_id: int, products, start: datetime) -> int:
    (donor_id,) = _insert(
        session,
        Donor,
        [
            {
                "village_id": village_id,
                "name": "宜川县爱心企业联合会",
                "kind": "enterprise",
                "contact": "",
                "phone": "",
                "created_at": start,
            }
        ],
    )
    (donation_id,) = _insert(
        session,
        Donation,
        [
            {
                "village_id": village_id,
                "donor_id": donor_id,
                "kind": "goods",
                "receipt_no": "JZ00001",
                "received_on": start.date(),
                "amount_fen": None,
                "note": "开业捐赠",
                "created_at": start,
            }
        ],
    )
    _insert(
        session,
        StockMovement,
        [
            {
                "village_id": village_id,
                "product_id": p.id,
                "kind": "stock_in",
                "quantity": STOCK_IN,
                "stock_after": STOCK_IN,
                "donation_id": donation_id,
                "note": "",
                "created_at": start,
            }
            for p in products
        ],
    )
    totals.add(session, village_id=village_id, month=totals.month_of(start.date()), donation_count=1)
    return donation_id


def _redemptions(
    session, village, events, account_ids, household_ids, card_ids, products, donation_id
) -> dict:
    """Insert the redemptions, their lines and stock movements; returns {event position: redemption id}."""
    positions = [n for n, e in enumerate(events) if e.kind is EntryKind.REDEMPTION]
    receipts = {}
    for chunk in _chunks(positions):
        rows = []
        for n in chunk:
            event = events[n]
            rows.append(
                {
                    "village_id": village.id,
                    "receipt_no": f"{village.card_prefix}-{len(receipts) + len(rows) + 1:06d}",
                    "account_id": account_ids[event.household],
                    "household_id": household_ids[event.household],
                    "card_id": card_ids[event.household],
                    "total_points": -event.points,
                    "balance_after": event.balance_after,
                    "status": "completed",
                    "idempotency_key": f"gen-{village.id}-{n}",
                    "request_digest": hashlib.sha256(f"{village.id}-{n}".encode()).hexdigest(),
                    "created_at": event.at,
                }
            )
        ids = _insert(session, Redemption, rows)
        receipts.update(zip(chunk, ids, strict=True))
        lines, movements = [], []
        for n, redemption_id in zip(chunk, ids, strict=True):
            event = events[n]
            product = products[event.product]
            product.stock -= event.quantity
            lines.append(
                {
                    "redemption_id": redemption_id,
                    "product_id": product.id,
                    "product_name": product.name,
                    "unit": product.unit,
                    "quantity": event.quantity,
                    "unit_points": product.price,
                    "points": product.price * event.quantity,
                }
            )
            movements.append(
                {
                    "village_id": village.id,
                    "product_id": product.id,
                    "kind": "redemption",
                    "quantity": -event.quantity,
                    "stock_after": product.stock,
                    "redemption_id": redemption_id,
                    "note": "",
                    "created_at": event.at,
                }
            )
        _insert(session, RedemptionLine, lines, returning=False)
        _insert(session, StockMovement, movements, returning=False)
    for product in products:
        session.execute(update(Product).where(Product.id == product.id).values(stock=product.stock))
    return receipts


def _ledger(session, village_id: int, events, account_ids, receipts: dict, progress) -> tuple[str, bytes]:
    """Insert the entries in chain order, their Merkle tree and the village's monthly totals; returns the
    chain head and the tree's edge."""
    head = GENESIS_HASH
    tree = ledger_tree.Builder(session.connection(), village_id)
    months: dict = defaultdict(lambda: dict.fromkeys(totals.COUNTERS, 0))
    for chunk in _chunks(range(len(events))):
        rows = []
        for n in chunk:
            event = events[n]
            entry = SimpleNamespace(
                village_id=village_id,
                seq=n + 1,
                account_id=account_ids[event.household],
                points=event.points,
                balance_after=event.balance_after,
                kind=event.kind.value,
                rule_id=event.rule.id if event.rule else None,
                rule_name=event.rule.name if event.rule else "",
                note="发卡基础积分" if event.kind is EntryKind.BASE else "",
                evidence=None,
                recorded_by_id=None,
                approved_by_id=None,
                reversal_of_id=None,
                request_key=None,
                redemption_id=receipts.get(n),
                created_at=event.at,
                prev_hash=head,
            )
            entry.hash = head = entry_hash(head, entry)
            tree.add(ledger_tree.leaf_of(entry))
            rows.append(vars(entry))
            for name, amount in totals.entry_deltas(entry.kind, entry.points).items():
                months[totals.month_of(event.at)][name] += amount
        _insert(session, LedgerEntry, rows, returning=False)
        progress(len(rows))
    for month, counters in months.items():
        totals.add(session, village_id=village_id, month=month, **counters)
    return head, tree.flush()


def _wishes(
    session, village_id: int, household_ids, plan: CountyPlan, rng: random.Random, start: datetime
) -> None:
    donor_id = session.scalar(select(Donor.id).where(Donor.village_id == village_id))
    rows = []
    for n in range(plan.wishes):
        status = (WishStatus.FULFILLED, WishStatus.OPEN, WishStatus.PLEDGED, WishStatus.PENDING)[n % 4]
        posted = start + timedelta(days=rng.randrange(365 * plan.years - 30))
        pledged = status in (WishStatus.PLEDGED, WishStatus.FULFILLED)
        rows.append(
            {
                "village_id": village_id,
                "household_id": rng.choice(household_ids),
                "text": "希望得到一台电暖器过冬",
                "category": rng.choice(list(WishCategory)).value,
                "status": status.value,
                "from_villager": True,
                "created_at": posted,
                "moderated_at": posted if status is not WishStatus.PENDING else None,
                "decline_reason": "",
                "donor_id": donor_id if pledged else None,
                "pledge_note": "",
                "pledged_at": posted + timedelta(days=3) if pledged else None,
                "fulfilment": "",
                "thanks": "感谢爱心企业" if status is WishStatus.FULFILLED else "",
                "fulfilled_at": posted + timedelta(days=10) if status is WishStatus.FULFILLED else None,
            }
        )
    _insert(session, Wish, rows, returning=False)


def _insert(session: Session, model, rows: list[dict], returning: bool = True) -> list[int]:
    """executemany INSERT; with `returning`, the new ids in the order of `rows`."""
    if not rows:
        return []
    table: Table = model.__table__
    if not returning:
        session.execute(insert(table), rows)
        return []
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


def _chunks(items) -> Iterator[list]:
    items = list(items)
    for first in range(0, len(items), BATCH):
        yield items[first : first + BATCH]
