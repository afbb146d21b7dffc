"""County reports (县级): one row of figures per village for a range of months, the county's total, the
ranking by any figure (the weekly 排名/通报 of the seeds), and the county's month-by-month series.

Flows over the period come from the maintained monthly totals (`VillageMonth`), so a report reads one row
per village and month, never the ledger; stocks (households, cards, balances, goods, funds) are grouped
counts and sums over small tables. The number of statements is fixed, whatever the number of villages or
the size of the books.

Definitions, shown under the table:
- points issued: base points of new cards plus awards; deducted: deductions; redeemed: points exchanged
  for goods (a later return shows as a reversal and is not subtracted here);
- per household: divided by the village's active households;
- cover ratio: (stock on hand at its points price + funds) in yuan ÷ (points outstanding × yuan per point):
  at 1 or more the shop can honour every point now;
- participation (参与率): the share of the households in the register that earned points, redeemed, or
  were inspected in the period (services/activity.py).
"""

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lovemart.models import Card, Fund, Household, Notice, PointsAccount, Product, Village, VillageMonth, Wish
from lovemart.models.cards import CardStatus
from lovemart.models.notices import NoticeStatus
from lovemart.services import activity
from lovemart.services.sheets import TextSheet
from lovemart.services.totals import VILLAGE_TIMEZONE

#: A month's notice counts as on time when published within this many days after the month ends.
NOTICE_GRACE_DAYS = 10


@dataclass(frozen=True)
class Metric:
    key: str
    label: object
    #: Whether more is better, for the ranking's order.
    higher_is_better: bool = True
    digits: int = 0


METRICS = (
    Metric("households", _l("户数")),
    Metric("cards", _l("发卡数")),
    Metric("issued", _l("发放积分")),
    Metric("issued_per_household", _l("户均发放积分"), digits=1),
    Metric("deducted", _l("扣减积分"), higher_is_better=False),
    # 已兑换积分, not 兑换积分: that msgid is a product's points price on the goods pages ("Points price").
    Metric("redeemed", _l("已兑换积分")),
    Metric("redeemed_per_household", _l("户均兑换积分"), digits=1),
    Metric("redemptions", _l("兑换次数")),
    Metric("redemption_yuan", _l("兑换价值（元）")),
    Metric("outstanding", _l("未兑换积分"), higher_is_better=False),
    Metric("stock_yuan", _l("库存价值（元）")),
    Metric("funds_yuan", _l("资金余额（元）"), digits=2),
    Metric("donations", _l("捐赠笔数")),
    Metric("donation_yuan", _l("捐款（元）"), digits=2),
    Metric("wishes_fulfilled", _l("实现心愿")),
    Metric("notices_on_time", _l("按时公示（月）")),
    Metric("cover_ratio", _l("兑付保障率"), digits=2),
    Metric("earned_share", _l("得分户占比（%）"), digits=1),
    Metric("redeemed_share", _l("兑换户占比（%）"), digits=1),
    Metric("inspected_share", _l("受检户占比（%）"), digits=1),
)
#: The participation metrics (参与率) and the count of households each is the share of.
SHARES = {"earned_share": "earned", "redeemed_share": "redeemed", "inspected_share": "inspected"}
METRIC_KEYS = {m.key: m for m in METRICS}


@dataclass
class VillageFigures:
    village_id: int
    code: str
    name: str
    township: str
    values: dict = field(default_factory=dict)
    rank: int | None = None


@dataclass
class Overview:
    first: date
    last: date
    months: int
    rows: list[VillageFigures]
    total: VillageFigures
    #: (month, issued, redeemed) for the county, every month of the period.
    series: list[tuple[date, int, int]]


def month_range(first: date, last: date) -> list[date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def county_overview(session: Session, *, village_ids, first: date, last: date, total_name=None) -> Overview:
    """Figures of each village for the months `first`..`last` (month starts, both included), and their sum
    as a row named `total_name` (全县合计 unless told: a township officer's is 全乡合计)."""
    village_ids = list(village_ids)
    months = month_range(first, last)
    villages = session.scalars(
        select(Village)
        .options(joinedload(Village.township))
        .where(Village.id.in_(village_ids))
        .order_by(Village.code)
    ).all()
    rows = {v.id: VillageFigures(v.id, v.code, v.name, v.township.name) for v in villages}
    yuan = {v.id: v.yuan_per_point for v in villages}
    flows = _flows(session, village_ids, first, last)
    stocks = _stocks(session, village_ids)
    wishes = _wishes_fulfilled(session, village_ids, first, last)
    on_time = _notices_on_time(session, village_ids, months)
    taking_part = activity.participation(session, village_ids, first, _month_end(last))
    for village_id, row in rows.items():
        flow, stock = flows[village_id], stocks[village_id]
        households = stock["households"]
        issued = flow["base_points"] + flow["award_points"]
        redeemed = -flow["redemption_points"]
        outstanding = stock["outstanding"]
        stock_yuan = stock["stock_points"] * yuan[village_id]
        funds_yuan = Decimal(stock["funds_fen"]) / 100
        owed_yuan = outstanding * yuan[village_id]
        row.values = {
            "households": households,
            "cards": stock["cards"],
            "issued": issued,
            "issued_per_household": _ratio(issued, households),
            "deducted": -flow["deduction_points"],
            "redeemed": redeemed,
            "redeemed_per_household": _ratio(redeemed, households),
            "redemptions": flow["redemption_count"],
            "redemption_yuan": redeemed * yuan[village_id],
            "outstanding": outstanding,
            "stock_yuan": stock_yuan,
            "funds_yuan": funds_yuan,
            "donations": flow["donation_count"],
            "donation_yuan": Decimal(flow["donation_fen"]) / 100,
            "wishes_fulfilled": wishes.get(village_id, 0),
            "notices_on_time": on_time.get(village_id, 0),
            "cover_ratio": _ratio(stock_yuan + funds_yuan, owed_yuan) if owed_yuan > 0 else None,
            "owed_yuan": owed_yuan,  # not shown: the total's cover ratio needs it
        }
        part = taking_part[village_id]
        for share, count in SHARES.items():
            row.values[f"{count}_households"] = getattr(part, count)  # not shown: the total's shares need it
            row.values[share] = _percent(getattr(part, count), households)
    return Overview(
        first=first,
        last=last,
        months=len(months),
        rows=list(rows.values()),
        total=_total(list(rows.values()), str(total_name or _l("全县合计"))),
        series=_series(session, village_ids, months),
    )


def ranked(overview: Overview, metric_key: str) -> list[VillageFigures]:
    """The villages ordered by the metric (best first, villages without a value last), with competition
    ranks: equal values share a rank and the next rank skips (1, 2, 2, 4)."""
    metric = METRIC_KEYS[metric_key]
    present = [r for r in overview.rows if r.values.get(metric_key) is not None]
    absent = [r for r in overview.rows if r.values.get(metric_key) is None]
    present.sort(
        key=lambda r: (-r.values[metric_key] if metric.higher_is_better else r.values[metric_key], r.code)
    )
    previous, rank = object(), 0
    for position, row in enumerate(present, start=1):
        value = row.values[metric_key]
        if value != previous:
            rank, previous = position, value
        row.rank = rank
    for row in absent:
        row.rank = None
    return present + sorted(absent, key=lambda r: r.code)


def _flows(session, village_ids, first: date, last: date) -> dict:
    columns = (
        "base_points",
        "award_points",
        "deduction_points",
        "redemption_points",
        "redemption_count",
        "donation_count",
        "donation_fen",
    )
    flows = defaultdict(lambda: dict.fromkeys(columns, 0))
    stmt = (
        select(VillageMonth.village_id, *(func.sum(getattr(VillageMonth, c)) for c in columns))
        .where(VillageMonth.village_id.in_(village_ids), VillageMonth.month.between(first, last))
        .group_by(VillageMonth.village_id)
    )
    for village_id, *sums in session.execute(stmt):
        flows[village_id] = dict(zip(columns, (int(s or 0) for s in sums), strict=True))
    return flows


def _stocks(session, village_ids) -> dict:
    stocks = defaultdict(
        lambda: {"households": 0, "cards": 0, "outstanding": 0, "stock_points": 0, "funds_fen": 0}
    )
    queries = {
        "households": select(Household.village_id, func.count())
        .where(Household.village_id.in_(village_ids), Household.active.is_(True))
        .group_by(Household.village_id),
        "cards": select(Card.village_id, func.count())
        .where(Card.village_id.in_(village_ids), Card.status == CardStatus.ACTIVE.value)
        .group_by(Card.village_id),
        "outstanding": select(PointsAccount.village_id, func.sum(PointsAccount.balance))
        .where(PointsAccount.village_id.in_(village_ids))
        .group_by(PointsAccount.village_id),
        "stock_points": select(Product.village_id, func.sum(Product.stock * Product.points_price))
        .where(Product.village_id.in_(village_ids))
        .group_by(Product.village_id),
        "funds_fen": select(Fund.village_id, func.sum(Fund.balance_fen))
        .where(Fund.village_id.in_(village_ids))
        .group_by(Fund.village_id),
    }
    for name, stmt in queries.items():
        for village_id, value in session.execute(stmt):
            stocks[village_id][name] = int(value or 0)
    return stocks


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of the period's first and (exclusive) last moments, in village time."""
    end = (last.replace(day=1) + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(first, time.min, tzinfo=VILLAGE_TIMEZONE),
        datetime.combine(end, time.min, tzinfo=VILLAGE_TIMEZONE),
    )


def _wishes_fulfilled(session, village_ids, first: date, last: date) -> dict:
    start, end = _bounds(first, last)
    return dict(
        session.execute(
            select(Wish.village_id, func.count())
            .where(Wish.village_id.in_(village_ids), Wish.fulfilled_at >= start, Wish.fulfilled_at < end)
            .group_by(Wish.village_id)
        ).all()
    )


def _notices_on_time(session, village_ids, months: list[date]) -> dict:
    """Per village, how many months of the period have a published notice of that month, published within
    `NOTICE_GRACE_DAYS` after the month ended."""
    found = session.execute(
        select(Notice.village_id, Notice.period_start, Notice.period_end, Notice.published_at).where(
            Notice.village_id.in_(village_ids),
            Notice.status == NoticeStatus.PUBLISHED.value,
            Notice.period_start.in_(months),
        )
    ).all()
    on_time = defaultdict(set)
    for village_id, period_start, period_end, published_at in found:
        deadline = datetime.combine(
            period_end + timedelta(days=NOTICE_GRACE_DAYS + 1), time.min, tzinfo=VILLAGE_TIMEZONE
        )
        if published_at is not None and published_at < deadline:
            on_time[village_id].add(period_start)
    return {village_id: len(done) for village_id, done in on_time.items()}


def _series(session, village_ids, months: list[date]) -> list[tuple[date, int, int]]:
    sums = {
        month: (int(issued or 0), int(-(redeemed or 0)))
        for month, issued, redeemed in session.execute(
            select(
                VillageMonth.month,
                func.sum(VillageMonth.base_points + VillageMonth.award_points),
                func.sum(VillageMonth.redemption_points),
            )
            .where(VillageMonth.village_id.in_(village_ids), VillageMonth.month.in_(months))
            .group_by(VillageMonth.month)
        )
    }
    return [(month, *sums.get(month, (0, 0))) for month in months]


def _total(rows: list[VillageFigures], name: str) -> VillageFigures:
    total = VillageFigures(0, "", name, "")
    summed = (
        "households",
        "cards",
        "issued",
        "deducted",
        "redeemed",
        "redemptions",
        "redemption_yuan",
        "outstanding",
        "stock_yuan",
        "funds_yuan",
        "donations",
        "donation_yuan",
        "wishes_fulfilled",
        "notices_on_time",
    )
    values = {key: sum((r.values[key] for r in rows), start=0) for key in summed}
    values["issued_per_household"] = _ratio(values["issued"], values["households"])
    values["redeemed_per_household"] = _ratio(values["redeemed"], values["households"])
    values["owed_yuan"] = sum(r.values["owed_yuan"] for r in rows)
    for share, count in SHARES.items():
        values[f"{count}_households"] = sum(r.values[f"{count}_households"] for r in rows)
        values[share] = _percent(values[f"{count}_households"], values["households"])
    assets = values["stock_yuan"] + values["funds_yuan"]
    values["cover_ratio"] = _ratio(assets, values["owed_yuan"]) if values["owed_yuan"] > 0 else None
    total.values = values
    return total


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _month_end(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def export_xlsx(overview: Overview, rows: list[VillageFigures], metric_key: str) -> io.BytesIO:
    """The ranking table and the monthly series as an .xlsx workbook (write-only: rows are streamed)."""
    workbook = Workbook(write_only=True)
    sheet = TextSheet(workbook, str(_l("排名")))
    metric = METRIC_KEYS[metric_key]
    sheet.append(
        [
            str(_l("%(first)s 至 %(last)s，按“%(metric)s”排名"))
            % {"first": f"{overview.first:%Y-%m}", "last": f"{overview.last:%Y-%m}", "metric": metric.label}
        ]
    )
    sheet.append([str(_l("名次")), str(_l("村")), str(_l("乡镇")), *(str(m.label) for m in METRICS)])
    for row in [*rows, overview.total]:
        sheet.append([row.rank, row.name, row.township, *(_cell(row.values.get(m.key)) for m in METRICS)])
    series = TextSheet(workbook, str(_l("月度")))
    series.append([str(_l("月份")), str(_l("发放积分")), str(_l("已兑换积分"))])
    for month, issued, redeemed in overview.series:
        series.append([f"{month:%Y-%m}", issued, redeemed])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def _cell(value):
    return float(value) if isinstance(value, Decimal) else value
