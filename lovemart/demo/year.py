"""A village's twelve months before today, recorded through the services with the moment of each event.

`plan_year` lays the year out as timed events (each a function run at its moment); `run` runs them in the
order of their moments, so every village's ledger chain, stock and funds move forward in time as they would
have. The events decide what to do when they run (who can afford what, what is on the shelf), with one
seeded random generator per village, so a demo loaded on the same day is the same demo.
"""

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from lovemart.models import PointsAccount, Product, Rule, User, Village
from lovemart.models.notices import ObjectionStatus
from lovemart.models.points import ClaimStatus
from lovemart.services import (
    cards,
    donations,
    inspections,
    inventory,
    notices,
    points,
    redemptions,
    rules,
    villages,
    walls,
)
from lovemart.services.errors import DomainError
from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput, RoundResult
from lovemart.services.inventory import ProductInput, StockInLine
from lovemart.services.redemptions import CartLine
from lovemart.services.rules import RuleInput
from lovemart.services.totals import VILLAGE_TIMEZONE
from lovemart.services.villages import VillageSettings

from .shop import DONORS, FUNDS, GOODS, RUNS_LOW, Goods, cost_fen

#: The Adao extra rule that needs the supervisor and has a monthly cap: its late approvals show the
#: supervisor's "over the cap" signal.
PATROL = RuleInput(
    "护林防火巡查", "volunteer", 10, "巡山一次，经第一书记核实", cap_per_month=20, requires_approval=True
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in the villages' time zone, as the UTC datetime the services store."""
    return datetime.combine(day, time(hour, minute), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)


def month_starts(today: date, months: int) -> list[date]:
    """The first days of the `months` months before today's month, then of today's month."""
    first = today.replace(day=1)
    starts = [first]
    for _ in range(months):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


@dataclass
class Staff:
    admin: User | None
    supervisor: User | None
    leader: User | None


@dataclass
class Household:
    id: int
    number: str
    group_id: int
    card: str | None = None
    account_id: int | None = None


@dataclass
class Scenario:
    """What this village shows besides its everyday life."""

    #: monthly everyday awards per carded household, redemptions per household per month
    awards: float = 1.2
    redemptions: float = 0.33
    #: the full show (objections, wishes, signals, stocktake, write-off, lost card): 啊道村
    full: bool = False
    #: 公示后入账 from this many months before today's month, with the last notice left due to settle
    held_from: int | None = None


#: 啊道村 households never inspected yet (see `Year.inspected`)
NEWCOMERS = 2


@dataclass
class Year:
    session: object
    village: Village
    staff: Staff
    scenario: Scenario
    now: datetime
    rng: random.Random
    scale: float = 1.0
    households: list[Household] = field(default_factory=list)
    rules: dict[str, Rule] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    goods: dict[str, Goods] = field(default_factory=dict)
    donors: dict[str, int] = field(default_factory=dict)
    funds: dict[str, int] = field(default_factory=dict)
    kept: dict[str, object] = field(default_factory=dict)
    _queue: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    _keys: itertools.count = field(default_factory=itertools.count)

    # ---- the calendar ---------------------------------------------------------------------------------

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        """Run `action(moment)` at `moment`; moments not yet come are dropped."""
        if moment < self.now - timedelta(minutes=5):
            heapq.heappush(self._queue, (moment, next(self._order), action))

    def run(self, progress: Callable[[str], None] | None = None) -> None:
        month = None
        while self._queue:
            moment, _, action = heapq.heappop(self._queue)
            label = f"{moment.astimezone(VILLAGE_TIMEZONE):%Y-%m}"
            if progress and label != month:
                month = label
                progress(f"{self.village.name} {label}")
            action(moment)

    def key(self, what: str) -> str:
        return f"demo:{self.village.code}:{what}:{next(self._keys)}"

    def some(self, n: float) -> int:
        """`n` scaled, at least one."""
        return max(1, round(n * self.scale))

    # ---- the shop's state, read fresh (the counter's writes go round the ORM) -------------------------

    def balance(self, household: Household) -> int:
        return self.session.scalar(
            select(PointsAccount.balance).where(PointsAccount.id == household.account_id)
        )

    def stock(self, name: str) -> int:
        return self.session.scalar(select(Product.stock).where(Product.id == self.products[name].id))

    def carded(self) -> list[Household]:
        return [h for h in self.households if h.card]

    def inspected(self, group_id: int) -> list[Household]:
        """The group's households the rounds visit. In 啊道村 the last two households, back from migrant work
        only lately, have never been inspected: they wait on the inspection page for their first check."""
        newcomers = self.households[-NEWCOMERS:] if self.scenario.full else []
        return [h for h in self.households if h.group_id == group_id and h not in newcomers]

    # ---- setting up ------------------------------------------------------------------------------------

    def set_up(self, start: datetime) -> None:
        session, village, admin = self.session, self.village, self.staff.admin
        self.rules = {r.name: r for r in rules.seed(session, actor=None, village_id=village.id)}
        if self.scenario.full:
            self.rules[PATROL.name] = rules.create(session, actor=None, village_id=village.id, data=PATROL)
        zones = {z.name: z.id for z in inventory.zones(session, village_id=village.id)}
        for goods in GOODS:
            self.goods[goods.name] = goods
            self.products[goods.name] = inventory.create_product(
                session,
                actor=admin,
                village_id=village.id,
                data=ProductInput(
                    goods.name, zones[goods.zone], goods.unit, goods.points, low_stock=goods.low
                ),
                at=start,
            )
        for name, kind, contact, phone in DONORS:
            donor = donations.save_donor(
                session,
                actor=admin,
                village_id=village.id,
                name=name,
                kind=kind.value,
                contact=contact,
                phone=phone,
            )
            self.donors[name] = donor.id
        for name, kind in FUNDS:
            self.funds[name] = donations.create_fund(
                session, actor=admin, village_id=village.id, name=name, kind=kind.value
            ).id

    # ---- the year --------------------------------------------------------------------------------------

    def plan(self, months: list[date]) -> None:
        """Every month's events; `months` ends with today's month."""
        first = months[0]
        share = max(len(self.households) / 154, 0.15)
        self.at(
            local(first, 9),
            lambda t: self.fund("扶贫局资助", round(24000 * share) * 100, "年度爱心超市运营资助", t),
        )
        self.at(local(first, 9, 30), lambda t: self.restock(t, "扶贫局资助", everything=True))
        self.at(local(first + timedelta(days=2), 10), lambda t: self.donate_goods(t, "陕西秦川粮油有限公司"))
        for index, month in enumerate(months):
            self.plan_month(index, month, months)
        if self.scenario.full:
            self.plan_show(months)
        if self.scenario.held_from is not None:
            self.plan_held(months)

    def plan_month(self, index: int, month: date, months: list[date]) -> None:
        rng = self.rng
        following = months[index + 1] if index + 1 < len(months) else None
        days = ((following or (month + timedelta(days=31)).replace(day=1)) - month).days
        if index % 3 == 0:
            share = max(len(self.households) / 154, 0.15)
            self.at(
                local(month, 9, 10),
                lambda t: self.fund("民政补贴", round(4500 * share) * 100, "季度民政补贴", t),
            )
        if index == 6:
            self.at(local(month, 9, 20), lambda t: self.fund("扶贫局资助", 12000_00, "下半年追加资助", t))
        rounds = index == 0 or self.scenario.full or index % 3 == 0  # smaller villages check quarterly
        for group_index, group_id in enumerate(
            sorted({h.group_id for h in self.households}) if rounds else ()
        ):
            day = month + timedelta(days=4 + group_index)
            self.at(local(day, 9), lambda t, g=group_id, first=index == 0: self.round(t, g, first))
            self.at(local(day + timedelta(days=7), 15), lambda t, g=group_id: self.reinspect(t, g))
        self.at(local(month + timedelta(days=14), 19), self.meeting)
        self.at(local(month + timedelta(days=20), 8), self.labour_day)
        carded_guess = len(self.households)
        for _ in range(self.some(carded_guess * self.scenario.awards)):
            self.at(
                local(month + timedelta(days=rng.randrange(days)), rng.randint(8, 18), rng.randint(0, 59)),
                self.everyday,
            )
        for _ in range(self.some(carded_guess * self.scenario.redemptions)):
            self.at(
                local(month + timedelta(days=rng.randrange(days)), rng.randint(8, 18), rng.randint(0, 59)),
                self.redeem,
            )
        for _ in range(self.some(3)):
            self.at(
                local(month + timedelta(days=rng.randrange(days)), 20, rng.randint(0, 59)), self.application
            )
        for _ in range(self.some(1)):
            self.at(local(month + timedelta(days=rng.randrange(days)), 11), self.virtue)
        for week in range(0, days, 7):
            self.at(
                local(month + timedelta(days=week + 6), 17),
                lambda t: self.restock(t, self.rng.choice(("扶贫局资助", "民政补贴", "社会捐款"))),
            )
        if index % 4 == 1:
            donor = ("宜川县惠民百货超市", "马秀芳（退休教师）", "宜川县丰源果业专业合作社")[index // 4 % 3]
            self.at(local(month + timedelta(days=9), 10), lambda t, d=donor: self.donate_goods(t, d))
        if index % 4 == 2:
            self.at(
                local(month + timedelta(days=16), 10),
                lambda t: self.donate_money(t, "宜川县丰源果业专业合作社", 5000_00),
            )
        if following is not None and self.publishes(index, months):
            self.at(local(following + timedelta(days=1), 10), lambda t, m=month: self.publish(t, m))

    def publishes(self, index: int, months: list[date]) -> bool:
        """Every month is published on the 2nd of the next, except last month (the tour's step). Under
        公示后入账 last month is published too, and is the notice left due to settle once its three days are
        over (early in the month, the month before it is)."""
        if self.scenario.held_from is None:
            return index < len(months) - 2
        due_index = len(months) - 2
        if self.now - local(months[-1] + timedelta(days=1), 10) < timedelta(days=3, hours=1):
            due_index -= 1
        self.kept["due"] = months[due_index]
        return index <= due_index

    # ---- everyday events -------------------------------------------------------------------------------

    def round(self, moment: datetime, group_id: int, first: bool) -> None:
        """The monthly 五净一规范 round of a group: most pass, a few fail one check."""
        passed_rule, failed_rule = self.rules["五净一规范检查达标"], self.rules["五净一规范检查不达标"]
        results = []
        for household in self.inspected(group_id):
            checks = dict.fromkeys(CHECK_COLUMNS, True)
            if household.number not in self.kept.get("always_pass", ()) and self.rng.random() < (
                0.14 if first else 0.07
            ):
                checks[self.rng.choice(CHECK_COLUMNS)] = False
            rule = None
            if household.card and all(checks.values()):
                rule = passed_rule.id
            elif household.card and self.balance(household) >= -failed_rule.points:
                rule = failed_rule.id  # a household whose points are spent keeps its failure, not a deduction
            results.append(RoundResult(household.id, checks, rule))
        inspections.record_round(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            group_id=group_id,
            inspected_on=moment.astimezone(VILLAGE_TIMEZONE).date(),
            inspector="村两委检查组",
            results=results,
            request_key=self.key("round"),
            at=moment,
        )
        if first:
            self.issue_cards(moment + timedelta(hours=3), group_id)

    def issue_cards(self, moment: datetime, group_id: int | None = None) -> None:
        for household in self.households:
            if household.card or (group_id is not None and household.group_id != group_id):
                continue
            latest = inspections.latest(self.session, village_id=self.village.id, household_id=household.id)
            if latest is not None and latest.passed:
                card = cards.issue(
                    self.session,
                    actor=self.staff.admin,
                    village_id=self.village.id,
                    household_id=household.id,
                    at=moment,
                )
                household.card, household.account_id = card.number, card.account_id

    def reinspect(self, moment: datetime, group_id: int) -> None:
        """Households that failed come again a week later; most have put it right, and get their card."""
        day = moment.astimezone(VILLAGE_TIMEZONE).date()
        for household in self.inspected(group_id):
            latest = inspections.latest(self.session, village_id=self.village.id, household_id=household.id)
            if latest is None or latest.passed:
                continue
            checks = dict.fromkeys(CHECK_COLUMNS, self.rng.random() < 0.8)
            inspections.record(
                self.session,
                actor=self.staff.admin,
                village_id=self.village.id,
                household_id=household.id,
                data=InspectionInput(day, "村两委检查组", dict(checks), "复查"),
                at=moment,
            )
        self.issue_cards(moment + timedelta(minutes=30), group_id)

    def award(self, moment: datetime, household: Household, rule: str, note: str = "", actor=None) -> object:
        """An award or deduction as the administrator records it; a refusal (cap, balance) is what the
        counter would show, and the demo moves on."""
        try:
            return points.award(
                self.session,
                actor=actor or self.staff.admin,
                village_id=self.village.id,
                household_id=household.id,
                rule_id=self.rules[rule].id,
                note=note,
                at=moment,
            )
        except DomainError:
            return None

    def meeting(self, moment: datetime) -> None:
        """The monthly 村组会议: about a third of the households send someone."""
        for household in self.carded():
            if self.rng.random() < 0.3 * min(1.0, self.scale * 2):
                self.award(moment, household, "参加村组会议", "月度村民大会")

    def labour_day(self, moment: datetime) -> None:
        """义务劳动: cleaning the roads and the river bed; some come for the day, some for the morning."""
        for household in self.carded():
            if self.rng.random() < 0.15 * min(1.0, self.scale * 2):
                rule = self.rng.choice(("义务劳动（半天）", "义务劳动（全天）"))
                self.award(
                    moment, household, rule, self.rng.choice(("清理河道垃圾", "村道除雪", "修补村组道路"))
                )

    EVERYDAY = (
        ("庭院美化、门前三包落实", 5, "门前栽花种树"),
        ("邻里互助、热心助人", 5, "帮邻居抢收苹果"),
        ("参加技能培训", 3, "苹果修剪技术培训"),
        ("参加村里文体活动", 4, "广场舞比赛"),
        ("红白事简办、移风易俗", 1, "婚事新办"),
        ("乱倒垃圾、污水乱排", 1, "污水倒在巷道"),
        ("柴草杂物乱堆乱放", 1, "门前柴草堆放"),
    )

    def everyday(self, moment: datetime) -> None:
        if not (carded := self.carded()):
            return
        rule, _, note = self.rng.choices(self.EVERYDAY, weights=[w for _, w, _ in self.EVERYDAY])[0]
        self.award(moment, self.rng.choice(carded), rule, note)

    def virtue(self, moment: datetime) -> None:
        """孝敬老人 needs the supervisor: recorded now, approved (now and then rejected) days later."""
        if not (carded := self.carded()):
            return
        recorded = self.award(
            moment, self.rng.choice(carded), "孝敬老人、赡养父母", "照顾卧病的老母亲，经小组核实"
        )
        if recorded is not None and recorded.claim is not None:
            claim_id = recorded.claim.id
            if self.rng.random() < 0.85:
                self.at(moment + timedelta(days=3), lambda t: self.approve(t, claim_id))
            else:
                self.at(
                    moment + timedelta(days=3), lambda t: self.reject(t, claim_id, "小组核实情况与申报不符")
                )

    def approve(self, moment: datetime, claim_id: int) -> None:
        points.approve(
            self.session,
            actor=self.staff.supervisor,
            village_id=self.village.id,
            claim_id=claim_id,
            at=moment,
        )

    def reject(self, moment: datetime, claim_id: int, reason: str) -> None:
        points.reject(
            self.session,
            actor=self.staff.supervisor,
            village_id=self.village.id,
            claim_id=claim_id,
            reason=reason,
            at=moment,
        )

    APPLICATIONS = (
        ("邻里互助、热心助人", "帮五保户张大爷挑水劈柴"),
        ("义务劳动（半天）", "自发清扫村委会门前广场"),
        ("红白事简办、移风易俗", "父亲丧事从简，不摆宴席"),
        ("参加技能培训", "参加县上电商培训班"),
    )

    def application(self, moment: datetime) -> None:
        """A villager's own 积分申报 from the QR page; the administrator accepts most, declines a few, and the
        latest wait."""
        if not (carded := self.carded()):
            return
        rule, note = self.rng.choice(self.APPLICATIONS)
        try:
            claim = points.apply(
                self.session,
                village_id=self.village.id,
                household_id=self.rng.choice(carded).id,
                rule_id=self.rules[rule].id,
                note=note,
                at=moment,
            )
        except DomainError:
            return
        decision = moment + timedelta(days=2, hours=1)
        if self.rng.random() < 0.75:
            self.at(decision, lambda t: self._accept(t, claim.id))
        else:
            self.at(decision, lambda t: self._decline(t, claim.id))

    def _accept(self, moment: datetime, claim_id: int) -> None:
        try:
            points.accept(
                self.session, actor=self.staff.admin, village_id=self.village.id, claim_id=claim_id, at=moment
            )
        except DomainError:  # the cap was reached meanwhile: declined with that reason
            self._decline(moment, claim_id, "本月该项积分已达上限")

    def _decline(self, moment: datetime, claim_id: int, reason: str = "经核实，申报的事项与实际不符") -> None:
        points.reject(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            claim_id=claim_id,
            reason=reason,
            expected=ClaimStatus.SUBMITTED,
            at=moment,
        )

    # ---- the shop -----------------------------------------------------------------------------------------

    def redeem(
        self, moment: datetime, household: Household | None = None, wanted: list[str] | None = None
    ) -> object:
        """A counter redemption: the household picks what it can afford from what is on the shelf."""
        carded = self.carded()
        if not carded:
            return None
        household = household or self.rng.choice(carded)
        balance = self.balance(household)
        if wanted is None:
            wanted, budget = [], balance
            for goods in self.rng.sample(GOODS, k=6):
                if goods.points <= min(budget, 60) and len(wanted) < self.rng.randint(1, 3):
                    wanted.append(goods.name)
                    budget -= goods.points
        lines = [CartLine(self.products[name].id, 1) for name in wanted if self.stock(name) > 0]
        if not lines or sum(self.products[n].points_price for n in wanted) > balance:
            return None
        try:
            return redemptions.redeem(
                self.session,
                actor=self.staff.admin,
                village_id=self.village.id,
                card_number=household.card,
                lines=lines,
                idempotency_key=self.key("redeem"),
                at=moment,
            )
        except DomainError:
            return None

    def restock(self, moment: datetime, fund: str, everything: bool = False) -> None:
        """Reorder what runs low (the whole shelf at the opening), paid from a fund; goods the demo lets run
        low are not reordered in its last weeks."""
        late = self.now - moment < timedelta(days=45)
        lines = []
        for name, goods in self.goods.items():
            if late and name in RUNS_LOW:
                continue
            stock = self.stock(name)
            if everything or stock <= goods.low * 2:
                quantity = goods.shelf - stock
                if quantity > 0:
                    use_by = (moment + timedelta(days=goods.keeps_days)).date() if goods.keeps_days else None
                    lines.append(
                        StockInLine(
                            self.products[name].id,
                            quantity,
                            use_by,
                            cost_fen(goods, self.village.yuan_per_point) * quantity,
                        )
                    )
        if not lines:
            return
        for source in (fund, "扶贫局资助", "民政补贴", "社会捐款"):
            try:
                donations.purchase(
                    self.session,
                    actor=self.staff.admin,
                    village_id=self.village.id,
                    fund_id=self.funds[source],
                    bought_on=moment.astimezone(VILLAGE_TIMEZONE).date(),
                    lines=lines,
                    supplier="宜川县城关批发市场",
                    request_key=self.key("purchase"),
                    at=moment,
                )
                return
            except DomainError:
                continue

    def fund(self, name: str, amount_fen: int, note: str, moment: datetime) -> None:
        donations.add_funding(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            fund_id=self.funds[name],
            amount_fen=amount_fen,
            note=note,
            at=moment,
        )

    def donate_goods(
        self, moment: datetime, donor: str, goods: tuple[str, ...] | None = None, quantity: int = 10
    ):
        names = goods or tuple(
            self.rng.sample([g.name for g in GOODS if g.zone in ("粮油区", "洗化区", "服装区")], k=3)
        )
        lines = []
        for name in names:
            keeps = self.goods[name].keeps_days
            lines.append(
                StockInLine(
                    self.products[name].id,
                    quantity,
                    (moment + timedelta(days=keeps)).date() if keeps else None,
                )
            )
        return donations.receive_goods(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            donor_id=self.donors[donor],
            received_on=moment.astimezone(VILLAGE_TIMEZONE).date(),
            lines=lines,
            note="爱心捐赠",
            request_key=self.key("donation"),
            at=moment,
        ).donation

    def donate_money(self, moment: datetime, donor: str, amount_fen: int) -> None:
        donations.receive_money(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            donor_id=self.donors[donor],
            fund_id=self.funds["社会捐款"],
            amount_fen=amount_fen,
            received_on=moment.astimezone(VILLAGE_TIMEZONE).date(),
            note="爱心捐款",
            request_key=self.key("money"),
            at=moment,
        )

    # ---- notices ----------------------------------------------------------------------------------------

    def publish(self, moment: datetime, month: date, days: int | None = None):
        first, last = notices.month_period(month)
        draft = notices.compile(
            self.session,
            actor=self.staff.supervisor,
            village_id=self.village.id,
            period_start=first,
            period_end=last,
            days=days,
            at=moment,
        )
        notice = notices.publish(
            self.session,
            actor=self.staff.supervisor,
            village_id=self.village.id,
            notice_id=draft.id,
            reviewed=notices.sha256(draft.content),
            at=moment + timedelta(minutes=20),
        )
        self.kept.setdefault("notices", {})[month] = notice
        return notice

    # ---- 啊道村's show ---------------------------------------------------------------------------------

    def plan_show(self, months: list[date]) -> None:
        """What a supervisor, a villager and a donor should find in 啊道村 besides everyday life."""
        last_month = months[-2]
        # An objection upheld (a deduction reversed), one dismissed, one waiting: on the deductions they name.
        for month_index, decision in (
            (-7, ObjectionStatus.UPHELD),
            (-5, ObjectionStatus.DISMISSED),
            (-3, None),
        ):
            month = months[month_index]
            day = local(month + timedelta(days=17), 16)
            self.at(day, lambda t, m=month, d=decision: self.deduction_to_object(t, m, d))
        # The honours of the year, approved by the supervisor.
        for rule, when in (("评为“五好家庭”", 2), ("评为“最美婆婆”", 5), ("评为“好媳妇”", 8)):
            month = months[when]
            self.at(local(month + timedelta(days=25), 10), lambda t, r=rule: self.honours(t, r))
        # A stocktake with an adjustment, a write-off, a lost card reissued, a cancelled redemption.
        self.at(local(months[-4] + timedelta(days=26), 17), self.stocktake)
        self.at(
            local(months[-6] + timedelta(days=11), 16),
            lambda t: inventory.write_off(
                self.session,
                actor=self.staff.admin,
                village_id=self.village.id,
                product_id=self.products["挂面（1 公斤）"].id,
                quantity=3,
                reason="仓库漏雨受潮，已霉变",
                at=t,
            ),
        )
        self.at(local(months[-8] + timedelta(days=13), 10), self.lost_card)
        self.at(local(last_month + timedelta(days=12), 11), self.cancelled_redemption)
        # Goods near their use-by: milk and noodles donated a few months ago.
        self.at(
            local(months[-4] + timedelta(days=3), 10),
            lambda t: self.donate_goods(t, "宜川县惠民百货超市", ("纯牛奶（12 盒）",), 8),
        )
        self.at(
            local(months[-3] + timedelta(days=3), 10), lambda t: self.kept.update(near=self.near_use_by(t))
        )
        self.at(self.now - timedelta(days=4), self.run_low)
        self.plan_wishes(months)
        self.plan_signals()
        # Applications still waiting for the administrator, claims waiting for the supervisor.
        self.at(self.now - timedelta(days=2, hours=3), self.application_waiting)
        self.at(
            self.now - timedelta(days=1, hours=5),
            lambda t: self.award(
                t, self.rng.choice(self.carded()), "孝敬老人、赡养父母", "照顾瘫痪在床的公公"
            ),
        )

    def run_low(self, moment: datetime) -> None:
        """A run on a few goods in the last days (they are not reordered): the shop shows them low."""
        for name in RUNS_LOW:
            goods = self.goods[name]
            for minute in range(goods.shelf):
                if self.stock(name) <= goods.low - 1:
                    break
                buyers = [h for h in self.carded() if self.balance(h) >= goods.points]
                if buyers:
                    self.redeem(moment + timedelta(minutes=minute), self.rng.choice(buyers), [name])

    def deduction_to_object(self, moment: datetime, month: date, decision) -> None:
        household = self.rng.choice([h for h in self.carded() if self.balance(h) > 30])
        recorded = self.award(moment, household, "柴草杂物乱堆乱放", "检查时门前堆放柴草")
        if recorded is None or recorded.entry is None:
            return
        entry_id = recorded.entry.id
        following = (month + timedelta(days=32)).replace(day=1)
        publish_at = local(following + timedelta(days=1), 10, 20)
        raise_at = publish_at + timedelta(days=2, hours=1)
        self.at(raise_at, lambda t: self.objection(t, month, household, entry_id, decision))

    OBJECTIONS = {
        ObjectionStatus.UPHELD: (
            "那天堆在门前的柴草是邻居家的，不是我家的，请核实。",
            "经小组长和邻居核实，柴草确为邻户堆放，扣分有误，已冲正。",
        ),
        ObjectionStatus.DISMISSED: (
            "柴草当天下午就收拾了，不该扣分。",
            "检查组照片显示当天堆放属实，按细则扣分，异议不成立；已收拾干净，下月检查可正常加分。",
        ),
        None: ("扣分那天我在县医院照顾老人，家里没人，柴草是别人临时放的。", ""),
    }

    def objection(self, moment: datetime, month: date, household: Household, entry_id: int, decision) -> None:
        notice = self.kept["notices"][month]
        text, reply = self.OBJECTIONS[decision]
        objection = notices.raise_objection(
            self.session,
            village_id=self.village.id,
            household_id=household.id,
            notice_token=notice.token,
            text=text,
            entry_id=entry_id,
            request_key=self.key("objection"),
            at=moment,
        )
        if decision is not None:
            self.at(
                moment + timedelta(days=3),
                lambda t: notices.answer(
                    self.session,
                    actor=self.staff.supervisor,
                    village_id=self.village.id,
                    objection_id=objection.id,
                    decision=decision.value,
                    answer=reply,
                    at=t,
                ),
            )

    def honours(self, moment: datetime, rule: str) -> None:
        for household in self.rng.sample(self.carded(), k=self.some(4)):
            recorded = self.award(moment, household, rule, "村民代表大会评议", actor=self.staff.admin)
            if recorded is not None and recorded.claim is not None:
                claim_id = recorded.claim.id
                self.at(moment + timedelta(days=2), lambda t, c=claim_id: self.approve(t, c))

    def stocktake(self, moment: datetime) -> None:
        zone = self.products["大米（10 公斤）"].zone_id
        sheet = inventory.start_stocktake(
            self.session, actor=self.staff.admin, village_id=self.village.id, zone_id=zone, at=moment
        )
        counts = {row.product_id: row.expected for row in inventory.stocktake_lines(self.session, sheet.id)}
        counts[self.products["挂面（1 公斤）"].id] -= 2  # two packets gone missing
        counts[self.products["食盐（500 克）"].id] += 1  # one more found behind the shelf
        inventory.record_counts(
            self.session, village_id=self.village.id, stocktake_id=sheet.id, counts=counts
        )
        inventory.confirm_stocktake(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            stocktake_id=sheet.id,
            at=moment + timedelta(minutes=40),
        )

    def lost_card(self, moment: datetime) -> None:
        household = self.carded()[7]
        card = cards.active_card(self.session, village_id=self.village.id, household_id=household.id)
        new = cards.reissue(
            self.session, actor=self.staff.admin, village_id=self.village.id, card_id=card.id, at=moment
        )
        household.card = new.number
        self.kept["lost_card"] = (household.number, card.number, new.number)

    def cancelled_redemption(self, moment: datetime) -> None:
        household = max(self.carded(), key=self.balance)
        receipt = self.redeem(moment, household, ["暖水瓶"])
        if receipt is not None:
            redemptions.cancel(
                self.session,
                actor=self.staff.admin,
                village_id=self.village.id,
                redemption_id=receipt.id,
                reason="暖水瓶内胆有裂纹，村民当场退回",
                at=moment + timedelta(minutes=25),
            )

    def near_use_by(self, moment: datetime) -> None:
        """Milk that keeps 150 days, donated so that it is close to its date now."""
        use_by = (self.now + timedelta(days=25)).astimezone(VILLAGE_TIMEZONE).date()
        donations.receive_goods(
            self.session,
            actor=self.staff.admin,
            village_id=self.village.id,
            donor_id=self.donors["陕西秦川粮油有限公司"],
            received_on=moment.astimezone(VILLAGE_TIMEZONE).date(),
            lines=[
                StockInLine(self.products["纯牛奶（12 盒）"].id, 6, use_by),
                StockInLine(self.products["酱油（1 升）"].id, 10, use_by + timedelta(days=12)),
            ],
            note="临期食品捐赠，尽快兑换",
            request_key=self.key("donation"),
            at=moment,
        )

    def application_waiting(self, moment: datetime) -> None:
        for household in self.rng.sample(self.carded(), k=2):
            points.apply(
                self.session,
                village_id=self.village.id,
                household_id=household.id,
                rule_id=self.rules["邻里互助、热心助人"].id,
                note="帮邻居家老人送医",
                at=moment,
            )

    # ---- wishes -----------------------------------------------------------------------------------------

    WISHES = (
        # (stage, months back, text, category, donor)
        ("fulfilled", 6, "孙子考上县中学，想要一个新书包和文具", "study", "马秀芳（退休教师）"),
        ("fulfilled", 4, "老伴腿脚不好，冬天想要一个电暖器", "elderly", "宜川县丰源果业专业合作社"),
        ("handed_over", 2, "家里的暖水瓶坏了，想换一个", "daily", "宜川县惠民百货超市"),
        ("received", 2, "想要一副老花镜，看清药盒上的字", "elderly", "刘志强（在外乡贤）"),
        ("pledged", 1, "果园想试种新品种，需要一把好用的果树剪", "farming", "薛海军（返乡创业青年）"),
        ("open", 1, "孩子冬天上学路远，想要一件厚棉袄", "daily", None),
        ("declined", 2, "想借两千块钱周转", "other", None),
        ("pending", 0, "想要一台收音机，给老人解闷", "elderly", None),
    )
    WISH_GOODS = {"study": "儿童书包", "elderly": "电暖器", "daily": "暖水瓶", "farming": "果树剪"}

    def plan_wishes(self, months: list[date]) -> None:
        for index, (_stage, back, *_rest) in enumerate(self.WISHES):
            start = (
                self.now - timedelta(days=2)
                if back == 0
                else local(months[-1 - back] + timedelta(days=3 + index), 9)
            )
            self.at(start, lambda t, i=index: self.wish(t, i))

    def wish(self, moment: datetime, index: int) -> None:
        stage, _, text, category, donor = self.WISHES[index]
        goods = {"received": "老花镜", "handed_over": "暖水瓶"}.get(stage) or (
            "棉袄" if category == "daily" and stage == "fulfilled" else self.WISH_GOODS.get(category)
        )
        household = self.carded()[20 + index * 3]
        vid, supervisor, admin = self.village.id, self.staff.supervisor, self.staff.admin
        wish = walls.post_wish(
            self.session,
            actor=None,
            village_id=vid,
            household_id=household.id,
            text=text,
            category=category,
            from_villager=True,
            at=moment,
        )
        if stage == "pending":
            return
        t = moment + timedelta(days=1)
        if stage == "declined":
            walls.decline(
                self.session,
                actor=supervisor,
                village_id=vid,
                wish_id=wish.id,
                reason="心愿墙只征集物品类心愿；资金困难请到村委会了解小额信贷政策。",
                at=t,
            )
            return
        walls.approve(self.session, actor=supervisor, village_id=vid, wish_id=wish.id, at=t)
        if stage == "open":
            return
        t += timedelta(days=4)
        walls.pledge(
            self.session,
            actor=admin,
            village_id=vid,
            wish_id=wish.id,
            donor_id=self.donors[donor],
            note="电话认领",
            at=t,
        )
        if stage == "pledged":
            return
        t += timedelta(days=5)
        donation = self.donate_goods(t, donor, (goods,), 2)
        walls.receive_goods(
            self.session, actor=admin, village_id=vid, wish_id=wish.id, donation_id=donation.id, at=t
        )
        if stage == "received":
            return
        t += timedelta(days=2)
        walls.hand_over(
            self.session,
            actor=admin,
            village_id=vid,
            wish_id=wish.id,
            product_id=self.products[goods].id,
            quantity=1,
            at=t,
        )
        if stage == "handed_over":
            return
        walls.fulfil(
            self.session,
            actor=supervisor,
            village_id=vid,
            wish_id=wish.id,
            fulfilment=f"{donor}送来{goods}，第一书记陪同送到家中。",
            thanks="谢谢好心人，我们一家记在心里！",
            at=t + timedelta(hours=2),
        )

    # ---- the supervisor's signals: one case of each in the last weeks -----------------------------------

    def plan_signals(self) -> None:
        local_now = self.now.astimezone(VILLAGE_TIMEZONE)
        month_start = local(local_now.date().replace(day=1), 0)
        if self.now - month_start < timedelta(days=3):  # too early in the month: last month's end instead
            month_start = local((local_now.date().replace(day=1) - timedelta(days=1)).replace(day=1), 0)
            end = local(local_now.date().replace(day=1), 0) - timedelta(hours=6)
        else:
            end = self.now - timedelta(hours=2)
        begin = max(month_start + timedelta(hours=8), self.now - timedelta(days=20))
        span = end - begin

        def when(fraction: float) -> datetime:
            return begin + span * fraction

        self.at(month_start - timedelta(days=2), self.patrol_early)
        self.at(when(0.2), lambda t: self.patrol(t, 0))
        self.at(when(0.3), lambda t: self.patrol(t, 1))
        self.at(when(0.5), self.patrol_approvals)
        self.at(when(0.4), self.own_household)
        self.at(when(0.6), self.double_entries)
        self.at(when(0.8), self.big_redemption)

    def patrol_early(self, moment: datetime) -> None:
        household = self.carded()[40]
        recorded = self.award(moment, household, PATROL.name, "巡山护林")
        self.kept["patrol"] = [recorded.claim.id] if recorded and recorded.claim else []

    def patrol(self, moment: datetime, _n: int) -> None:
        recorded = self.award(moment, self.carded()[40], PATROL.name, "巡山护林")
        if recorded and recorded.claim:
            self.kept.setdefault("patrol", []).append(recorded.claim.id)

    def patrol_approvals(self, moment: datetime) -> None:
        """The supervisor approves the month's patrols at once, last month's leftover among them."""
        for claim_id in self.kept.get("patrol", []):
            self.approve(moment, claim_id)

    def own_household(self, moment: datetime) -> None:
        household = next(h for h in self.households if h.id == self.staff.admin.household_id)
        self.award(moment, household, "义务劳动（全天）", "村委会院子修缮")

    def double_entries(self, moment: datetime) -> None:
        household = self.carded()[30]
        for offset in (0, 1):
            recorded = self.award(
                moment + timedelta(hours=offset), household, "义务劳动（半天）", "清理河道垃圾"
            )
            if recorded is not None and recorded.entry is not None:
                points.reverse(
                    self.session,
                    actor=self.staff.admin,
                    village_id=self.village.id,
                    entry_id=recorded.entry.id,
                    reason="重复录入，冲正",
                    at=moment + timedelta(hours=offset, minutes=10),
                )

    def big_redemption(self, moment: datetime) -> None:
        household = max(self.carded(), key=self.balance)
        for name in ("电饭煲", "电暖器"):
            if self.stock(name) == 0:
                self.donate_goods(moment - timedelta(hours=1), "宜川县惠民百货超市", (name,), 1)
        self.redeem(moment, household, ["电饭煲", "电暖器"])

    # ---- 公示后入账 ------------------------------------------------------------------------------------

    def plan_held(self, months: list[date]) -> None:
        """The village switches 公示后入账 on; each notice's held awards are credited once its period passed,
        except the last published one, left due for the supervisor to settle."""
        switch = months[-1 - self.scenario.held_from]
        self.at(
            local(switch, 8),
            lambda t: villages.update_settings(
                self.session,
                actor=self.staff.leader,
                village_id=self.village.id,
                settings=VillageSettings(
                    base_points=self.village.base_points,
                    yuan_per_point=self.village.yuan_per_point,
                    card_prefix=self.village.card_prefix,
                    credit_after_notice=True,
                    notice_days=3,
                ),
                at=t,
            ),
        )
        for month in months[: len(months) - 1]:
            following = (month + timedelta(days=32)).replace(day=1)
            self.at(local(following + timedelta(days=8), 9), lambda t, m=month: self.settle(t, m))

    def settle(self, moment: datetime, month: date) -> None:
        notice = self.kept.get("notices", {}).get(month)
        if notice is None or month == self.kept.get("due"):
            return
        notices.settle_due(self.session, village_id=self.village.id, now=moment)
