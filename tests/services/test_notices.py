"""Public notices (公示) and objections (异议): what a notice lists, that a published one is frozen and its
digest verifies, objections end to end, and 公示后入账 settled by the notice.

The entries are made now, in the current month; the notices service's clock is moved past the month's end
(`after_month`), as if the supervisor compiled the notice early next month.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, LedgerBook, LedgerEntry, Notice, PointsClaim, Village
from lovemart.models.notices import ObjectionStatus
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.services import cards, donations, households, notices, points, redemptions, totals
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    AlreadyObjected,
    IdempotencyConflict,
    InvalidInput,
    LineNotInNotice,
    NotFound,
    NoticeAlreadyPublished,
    NoticeChanged,
    NoticePeriodInvalid,
    ObjectionAnswered,
    ObjectionPeriodOver,
)
from lovemart.services.inventory import StockInLine
from lovemart.services.redemptions import CartLine
from lovemart.services.totals import VILLAGE_TIMEZONE
from tests.points_helpers import carded_household, make_rule, points_village
from tests.shop_helpers import make_product

TODAY = datetime.now(VILLAGE_TIMEZONE).date()
START, END = notices.month_period(TODAY)


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VILLAGE_TIMEZONE).astimezone(UTC)


@pytest.fixture
def clock(monkeypatch):
    """`clock(moment)` sets the notices service's clock; `after_month()` is the 2nd of next month."""

    def set_to(moment: datetime) -> datetime:
        monkeypatch.setattr(notices, "utcnow", lambda: moment)
        return moment

    set_to.after_month = lambda days=0: set_to(local(END + timedelta(days=2 + days)))
    return set_to


@pytest.fixture
def world(session):
    """Village a (2 yuan a point) with 张三's and 李四's carded households and two rules; village b."""
    a = points_village("a", yuan_per_point=2)
    zhang, _ = carded_household(a, head="张三", number="0101")
    li, _ = carded_household(a, head="李四", number="0102")
    b = points_village("b")
    b_household, _ = carded_household(b, head="王五")
    return {
        "a": a,
        "zhang": zhang,
        "li": li,
        "labour": make_rule(a, "义务劳动", "volunteer", 10),
        "litter": make_rule(a, "乱倒垃圾", "deduction", -5),
        "b": b,
        "b_household": b_household,
    }


def award(world, household: str, rule: str, **kwargs) -> points.Recorded:
    with unit_of_work() as session:
        return points.award(
            session,
            actor=None,
            village_id=world["a"],
            household_id=world[household],
            rule_id=world[rule],
            **kwargs,
        )


def compile_month(world, **kwargs) -> int:
    with unit_of_work() as session:
        return notices.compile(
            session, actor=None, village_id=world["a"], period_start=START, period_end=END, **kwargs
        ).id


def publish(world, notice_id: int, **kwargs) -> Notice:
    with unit_of_work() as session:
        notice = notices.publish(session, actor=None, village_id=world["a"], notice_id=notice_id, **kwargs)
        session.expunge(notice)
        return notice


def published_month(world, clock, **kwargs) -> Notice:
    clock.after_month()
    return publish(world, compile_month(world, **kwargs))


def section(notice: Notice, household_id: int) -> dict:
    return notices.household_section(notices.document(notice), household_id)


def object_to(world, notice: Notice, household: str = "zhang", **kwargs) -> int:
    kwargs.setdefault("text", "那天我家没人参加劳动")
    with unit_of_work() as session:
        return notices.raise_objection(
            session, village_id=world["a"], household_id=world[household], notice_token=notice.token, **kwargs
        ).id


def answer(world, objection_id: int, decision: str, text: str = "经核实，情况属实"):
    with unit_of_work() as session:
        return notices.answer(
            session,
            actor=None,
            village_id=world["a"],
            objection_id=objection_id,
            decision=decision,
            answer=text,
        )


# ---- compiling ------------------------------------------------------------------------------------------


def test_a_draft_lists_every_entry_of_the_month_by_household_with_totals(session, world, clock):
    award(world, "zhang", "labour", note="修村道")
    award(world, "zhang", "labour")
    award(world, "li", "litter")
    clock.after_month()
    notice = session.get(Notice, compile_month(world))
    assert notice.status == "draft" and notice.digest is None and len(notice.token) == 43
    assert notice.days == 7 and notice.honour_roll is True
    doc = notices.document(notice)
    assert doc["period"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert [(s["number"], s["head"], s["net"]) for s in doc["households"]] == [
        ("0101", "张三", 120),
        ("0102", "李四", 95),
    ]
    zhang = section(notice, world["zhang"])
    assert [(line["kind"], line["rule"], line["points"]) for line in zhang["lines"]] == [
        ("base", "", 100),
        ("award", "义务劳动", 10),
        ("award", "义务劳动", 10),
    ]
    assert zhang["lines"][1]["note"] == "修村道" and zhang["lines"][1]["date"] == TODAY.isoformat()
    (month,) = totals.months(session, village_ids=[world["a"]], first=START, last=START)
    assert {name: doc["totals"][name] for name in totals.COUNTERS} == {
        name: getattr(month, name) for name in totals.COUNTERS
    }
    assert (doc["totals"]["award_points"], doc["totals"]["deduction_points"]) == (20, -5)
    assert (doc["totals"]["households"], doc["totals"]["held_points"]) == (2, 0)
    moved = sum(doc["totals"][name] for name in totals.COUNTERS if name.endswith("_points"))
    assert sum(s["net"] for s in doc["households"]) == moved == 215
    assert doc["honour_roll"] == {
        "earned": [{"household": world["zhang"], "number": "0101", "head": "张三", "points": 20}],
        "deducted": [{"household": world["li"], "number": "0102", "head": "李四", "points": 5}],
    }
    assert notices.household_section(doc, world["b_household"]) is None  # another village's household


def test_the_content_is_canonical_json(session, world, clock):
    clock.after_month()
    notice = session.get(Notice, compile_month(world, honour_roll=False))
    doc = notices.document(notice)
    assert notice.content == notices.canonical(doc)
    assert ", " not in notice.content and "张三" in notice.content  # no spaces, characters as they are
    assert list(doc) == sorted(doc) and doc["honour_roll"] is None


def test_a_period_must_be_whole_months_that_are_over(world, clock):
    with pytest.raises(NoticePeriodInvalid, match="还没有结束"):
        compile_month(world)  # today is in the month
    clock.after_month()
    for start, end in ((START + timedelta(days=1), END), (START, END - timedelta(days=1)), (END, START)):
        with unit_of_work() as session, pytest.raises(NoticePeriodInvalid, match="整月"):
            notices.compile(session, actor=None, village_id=world["a"], period_start=start, period_end=end)
    with unit_of_work() as session, pytest.raises(InvalidInput):
        notices.compile(
            session, actor=None, village_id=world["a"], period_start=START, period_end=END, days=61
        )


def test_months_and_last_month():
    assert notices.month_period(date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert notices.last_month(date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_compiling_a_draft_again_replaces_its_content(session, world, clock):
    clock.after_month()
    first = compile_month(world)
    award(world, "li", "labour")
    again = compile_month(world, days=10)
    assert (
        again == first and session.scalar(select(Notice.id).where(Notice.village_id == world["a"])) == first
    )
    notice = session.get(Notice, first)
    assert notice.days == 10 and notices.document(notice)["days"] == 10
    assert [line["kind"] for line in section(notice, world["li"])["lines"]] == ["base", "award"]
    tags = session.scalars(select(AuditEvent.tag).where(AuditEvent.subject_type == "Notice")).all()
    assert tags == [AuditTag.NOTICE_COMPILE, AuditTag.NOTICE_COMPILE]


def test_the_shop_parts_list_redemptions_donations_stock_ins_and_fund_use(session, world, clock):
    rice = make_product(world["a"], "大米", 30, stock=10)  # a stock-in from no donation or purchase
    with unit_of_work() as s:
        donor = donations.save_donor(
            s, actor=None, village_id=world["a"], name="爱心粮油公司", kind="enterprise"
        )
        donations.receive_goods(
            s,
            actor=None,
            village_id=world["a"],
            donor_id=donor.id,
            received_on=TODAY,
            lines=[StockInLine(rice, 5)],
        )
        fund = donations.create_fund(
            s, actor=None, village_id=world["a"], name="扶贫资金", kind="poverty_office"
        )
        donations.add_funding(
            s, actor=None, village_id=world["a"], fund_id=fund.id, amount_fen=50_000, note="拨款"
        )
        donations.purchase(
            s,
            actor=None,
            village_id=world["a"],
            fund_id=fund.id,
            bought_on=TODAY,
            supplier="县供销社",
            lines=[StockInLine(rice, 2, cost_fen=6_000)],
        )
        card = cards.active_card(s, village_id=world["a"], household_id=world["zhang"])
        redemptions.redeem(
            s,
            actor=None,
            village_id=world["a"],
            card_number=card.number,
            lines=[CartLine(rice, 2)],
            idempotency_key="notice-test",
        )
    clock.after_month()
    doc = notices.document(session.get(Notice, compile_month(world)))
    (sale,) = doc["redemptions"]
    assert (sale["head"], sale["points"], sale["status"]) == ("张三", 60, "completed")
    assert sale["goods"] == [{"name": "大米", "quantity": 2, "unit": "袋", "points": 60}]
    assert [line["kind"] for line in section_of(doc, world["zhang"])["lines"]] == ["base", "redemption"]
    (gift,) = doc["donations"]
    assert (gift["donor"], gift["kind"], gift["goods"]) == (
        "爱心粮油公司",
        "goods",
        [{"name": "大米", "quantity": 5, "unit": "袋"}],
    )
    assert [(s["source"], s["from"], s["quantity"]) for s in doc["stock_ins"]] == [
        ("other", "", 10),
        ("donation", "爱心粮油公司", 5),
        ("purchase", "扶贫资金", 2),
    ]
    assert [(f["kind"], f["amount_fen"], f["balance_after_fen"], f["note"]) for f in doc["funds"]] == [
        ("income", 50_000, 50_000, "拨款"),
        ("purchase", -6_000, 44_000, "县供销社"),
    ]
    assert (doc["totals"]["redemption_count"], doc["totals"]["redemption_points"]) == (1, -60)
    assert doc["totals"]["donation_count"] == 1


def section_of(doc: dict, household_id: int) -> dict:
    return notices.household_section(doc, household_id)


# ---- publishing: frozen, sealed, verifiable -------------------------------------------------------------


def test_publishing_freezes_the_notice_and_later_entries_never_change_it(session, world, clock):
    award(world, "zhang", "labour")
    notice = published_month(world, clock)
    assert notice.status == "published" and notice.published_at == local(END + timedelta(days=2))
    assert notice.objection_deadline == notice.published_at + timedelta(days=7)
    book = session.get(LedgerBook, world["a"])
    assert (notice.chain_seq, notice.chain_head) == (book.entry_count, book.head_hash)
    seal = notices.document(notice)["seal"]
    assert seal == {
        "chain_seq": book.entry_count,
        "chain_head": book.head_hash,
        "published_at": notice.published_at.isoformat(timespec="microseconds"),
        "objection_deadline": notice.objection_deadline.isoformat(timespec="microseconds"),
    }
    assert notices.verify_digest(notice) and notices.chain_holds(session, notice)
    session.rollback()

    frozen = notice.content
    award(world, "zhang", "labour", note="发布之后才记的")  # dated in the period, made after publishing
    with unit_of_work() as s:
        points.reverse(
            s,
            actor=None,
            village_id=world["a"],
            entry_id=section(notice, world["zhang"])["lines"][1]["entry"],
            reason="记错",
        )
    stored = session.get(Notice, notice.id)
    assert stored.content == frozen and stored.digest == notice.digest and notices.verify_digest(stored)
    assert "发布之后才记的" not in stored.content
    assert notices.chain_holds(session, stored)  # later entries extend the chain, they do not rewrite it
    with pytest.raises(NoticeAlreadyPublished):
        compile_month(world)
    assert publish(world, notice.id).content == frozen  # publishing again changes nothing


def test_a_changed_content_or_chain_no_longer_verifies(session, world, clock):
    award(world, "zhang", "labour")
    notice = session.get(Notice, published_month(world, clock).id)
    original = notice.content
    notice.content = original.replace('"points":10', '"points":100')
    assert not notices.verify_digest(notice)
    notice.content = original
    notice.chain_head = "f" * 64
    assert notices.verify_digest(notice) and not notices.chain_holds(session, notice)
    session.rollback()


def test_publishing_refuses_a_draft_the_books_or_a_recompile_have_overtaken(session, world, clock):
    clock.after_month()
    notice_id = compile_month(world)
    reviewed = notices.sha256(session.get(Notice, notice_id).content)
    session.rollback()
    award(world, "li", "labour")  # dated in the period, after the draft was made
    with pytest.raises(NoticeChanged):
        publish(world, notice_id, reviewed=reviewed)
    compile_month(world)
    with pytest.raises(NoticeChanged):
        publish(world, notice_id, reviewed=reviewed)  # not the draft that was reviewed
    fresh = notices.sha256(session.get(Notice, notice_id).content)
    session.rollback()
    assert publish(world, notice_id, reviewed=fresh).status == "published"


def test_a_published_period_cannot_be_overlapped(world, clock):
    published_month(world, clock)
    clock.after_month(days=40)
    previous, _ = notices.last_month(START)
    with unit_of_work() as session, pytest.raises(NoticeAlreadyPublished):
        notices.compile(session, actor=None, village_id=world["a"], period_start=previous, period_end=END)


def test_another_villages_notice_is_not_found(world, clock):
    notice = published_month(world, clock)
    with unit_of_work() as session, pytest.raises(NotFound):
        notices.get(session, village_id=world["b"], notice_id=notice.id)
    with unit_of_work() as session, pytest.raises(NotFound):
        notices.raise_objection(
            session,
            village_id=world["b"],
            household_id=world["b_household"],
            notice_token=notice.token,
            entry_id=1,
            text="不对",
        )


# ---- objections -----------------------------------------------------------------------------------------


def test_an_upheld_objection_ends_in_a_reversal_the_household_sees(session, world, clock):
    entry_id = award(world, "zhang", "labour").entry.id
    notice = published_month(world, clock)
    objection_id = object_to(world, notice, entry_id=entry_id, request_key="k1")
    assert object_to(world, notice, entry_id=entry_id, request_key="k1") == objection_id  # a resent form
    (row,) = notices.household_objections(session, village_id=world["a"], household_id=world["zhang"])
    assert row.objection.status == ObjectionStatus.OPEN and (row.rule, row.points, row.held) == (
        "义务劳动",
        10,
        False,
    )
    assert notices.open_objection_count(session, village_id=world["a"]) == 1
    session.rollback()

    done = answer(world, objection_id, "upheld", "核实该户当天未参加，予以冲正")
    reversal = session.get(LedgerEntry, done.reversal_id)
    assert (reversal.kind, reversal.reversal_of_id, reversal.points) == (EntryKind.REVERSAL, entry_id, -10)
    assert reversal.note == "核实该户当天未参加，予以冲正"
    assert (
        points.account_for_household(session, village_id=world["a"], household_id=world["zhang"]).balance
        == 100
    )
    (row,) = notices.household_objections(session, village_id=world["a"], household_id=world["zhang"])
    assert (row.objection.status_label, row.objection.answer) == ("异议成立", "核实该户当天未参加，予以冲正")
    assert notices.open_objection_count(session, village_id=world["a"]) == 0
    assert (
        answer(world, objection_id, "upheld", "核实该户当天未参加，予以冲正").id == objection_id
    )  # same answer
    with pytest.raises(ObjectionAnswered):
        answer(world, objection_id, "dismissed", "不成立")
    assert points.verify(session) == [] and totals.verify(session) == []


def test_a_dismissed_objection_changes_no_points(session, world, clock):
    entry_id = award(world, "li", "litter").entry.id
    notice = published_month(world, clock)
    objection_id = object_to(world, notice, "li", entry_id=entry_id, text="我没有乱倒垃圾")
    done = answer(world, objection_id, "dismissed", "有照片为证，维持扣分")
    assert done.status == "dismissed" and done.reversal_id is None
    assert (
        points.account_for_household(session, village_id=world["a"], household_id=world["li"]).balance == 95
    )


def test_an_upheld_objection_to_a_line_reversed_meanwhile_names_that_reversal(session, world, clock):
    entry_id = award(world, "zhang", "labour").entry.id
    notice = published_month(world, clock)
    objection_id = object_to(world, notice, entry_id=entry_id)
    with unit_of_work() as s:
        reversal_id = points.reverse(
            s, actor=None, village_id=world["a"], entry_id=entry_id, reason="管理员已更正"
        ).id
    assert answer(world, objection_id, "upheld").reversal_id == reversal_id
    assert (
        points.account_for_household(session, village_id=world["a"], household_id=world["zhang"]).balance
        == 100
    )


def test_a_household_objects_only_to_its_own_objectable_lines_once_within_the_period(session, world, clock):
    zhang_entry = award(world, "zhang", "labour").entry.id
    li_entry = award(world, "li", "labour").entry.id
    with unit_of_work() as s:
        reversal = points.reverse(s, actor=None, village_id=world["a"], entry_id=li_entry, reason="记错").id
    notice = published_month(world, clock)
    for refused in (
        {"entry_id": li_entry},
        {"entry_id": 987654},
        {},
        {"entry_id": zhang_entry, "claim_id": 1},
    ):
        with pytest.raises(LineNotInNotice):
            object_to(world, notice, **refused)
    with pytest.raises(LineNotInNotice):
        object_to(world, notice, "li", entry_id=reversal)  # a reversal is itself the correction
    with pytest.raises(InvalidInput):
        object_to(world, notice, entry_id=zhang_entry, text="  ")
    object_to(world, notice, entry_id=zhang_entry, request_key="first")
    with pytest.raises(AlreadyObjected):
        object_to(world, notice, entry_id=zhang_entry)
    with pytest.raises(IdempotencyConflict):
        object_to(world, notice, "li", entry_id=li_entry, request_key="first")
    clock(notice.objection_deadline)
    with pytest.raises(ObjectionPeriodOver):
        object_to(world, notice, "li", entry_id=li_entry)


def test_a_draft_takes_no_objections(world, clock):
    entry_id = award(world, "zhang", "labour").entry.id
    clock.after_month()
    draft_id = compile_month(world)
    with unit_of_work() as session:
        token = session.get(Notice, draft_id).token
    with unit_of_work() as session, pytest.raises(NotFound):
        notices.raise_objection(
            session,
            village_id=world["a"],
            household_id=world["zhang"],
            notice_token=token,
            entry_id=entry_id,
            text="x",
        )


# ---- 公示后入账: held awards settled by the notice ------------------------------------------------------


def hold_awards(world) -> None:
    with unit_of_work() as session:
        session.get(Village, world["a"]).credit_after_notice = True


def test_held_awards_are_listed_credited_after_the_period_and_an_upheld_objection_drops_one(
    session, world, clock
):
    hold_awards(world)
    kept = award(world, "zhang", "labour").claim.id
    disputed = award(world, "li", "labour").claim.id
    award(world, "li", "litter")  # a deduction counts at once
    notice = published_month(world, clock)
    assert section(notice, world["zhang"])["held"][0]["claim"] == kept
    assert notices.document(notice)["totals"]["held_points"] == 20
    assert set(
        session.scalars(select(PointsClaim.notice_id).where(PointsClaim.id.in_([kept, disputed])))
    ) == {notice.id}
    session.rollback()
    objection_id = object_to(world, notice, "li", claim_id=disputed, text="我家那天不在村里")

    with unit_of_work() as s:
        assert notices.settle_due(s, now=notice.objection_deadline - timedelta(seconds=1)) == []
    deadline = notice.objection_deadline
    with unit_of_work() as s:
        assert notices.settle_due(s, now=deadline) == []  # credits the undisputed one, waits for the answer
    assert session.get(PointsClaim, kept).status == ClaimStatus.APPROVED
    assert session.get(PointsClaim, disputed).status == ClaimStatus.PUBLICIZING
    session.rollback()

    answer(world, objection_id, "upheld", "核实该户未参加，不予入账")
    with unit_of_work() as s:
        assert [n.id for n in notices.settle_due(s, now=deadline)] == [notice.id]
    with unit_of_work() as s:
        assert notices.settle_due(s, now=deadline + timedelta(days=30)) == []  # idempotent
    dropped = session.get(PointsClaim, disputed)
    assert (dropped.status, dropped.reason) == (ClaimStatus.REJECTED, "核实该户未参加，不予入账")
    assert session.get(Notice, notice.id).settled_at == deadline
    balances = {
        h: points.account_for_household(session, village_id=world["a"], household_id=world[h]).balance
        for h in ("zhang", "li")
    }
    assert balances == {"zhang": 110, "li": 95}
    settle = session.scalars(select(AuditEvent).where(AuditEvent.tag == AuditTag.NOTICE_SETTLE)).one()
    assert settle.data == {"credited": 1, "dropped": 1}
    assert points.verify(session) == [] and totals.verify(session) == []


def test_a_dismissed_objection_lets_the_held_award_be_credited(session, world, clock):
    hold_awards(world)
    claim_id = award(world, "zhang", "labour").claim.id
    notice = published_month(world, clock)
    objection_id = object_to(world, notice, claim_id=claim_id)
    answer(world, objection_id, "dismissed", "已核实属实")
    with unit_of_work() as s:
        assert notices.has_due(s, now=notice.objection_deadline)
        notices.settle_due(s, now=notice.objection_deadline)
    assert session.get(PointsClaim, claim_id).status == ClaimStatus.APPROVED
    assert not notices.has_due(session, now=notice.objection_deadline)


def test_nothing_is_due_to_settle_while_no_award_is_held(session, world, clock):
    """结算入账 is offered only when settling would credit something: a published notice past its deadline
    that holds no award (a village without 公示后入账, or awards all answered) is not due."""
    award(world, "zhang", "labour")  # credited at once: nothing held
    notice = published_month(world, clock)
    after = notice.objection_deadline + timedelta(days=1)
    assert notices.document(notice)["totals"]["held_points"] == 0
    assert not notices.has_due(session, village_id=world["a"], now=after)
    assert not notices.has_due(session, now=after)


def test_a_held_award_waiting_for_an_answer_is_not_due_until_answered(session, world, clock):
    hold_awards(world)
    claim_id = award(world, "zhang", "labour").claim.id
    notice = published_month(world, clock)
    objection_id = object_to(world, notice, claim_id=claim_id)
    after = notice.objection_deadline + timedelta(days=1)
    assert not notices.has_due(
        session, village_id=world["a"], now=notice.objection_deadline - timedelta(seconds=1)
    )
    assert not notices.has_due(session, village_id=world["a"], now=after)  # settling would do nothing
    session.rollback()
    answer(world, objection_id, "dismissed", "已核实属实")
    assert notices.has_due(session, village_id=world["a"], now=after)
    assert not notices.has_due(session, village_id=world["b"], now=after)


def test_a_held_award_of_a_household_that_left_is_dropped_with_the_reason(session, world, clock):
    hold_awards(world)
    claim_id = award(world, "zhang", "labour").claim.id
    notice = published_month(world, clock)
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=world["a"], household_id=world["zhang"], active=False)
    with unit_of_work() as s:
        notices.settle_due(s, now=notice.objection_deadline)
    claim = session.get(PointsClaim, claim_id)
    assert (claim.status, claim.reason) == (ClaimStatus.REJECTED, "该户已迁出，不能办理。")


def test_held_awards_made_after_publishing_wait_for_the_next_notice(session, world, clock):
    hold_awards(world)
    notice = published_month(world, clock)
    later = award(world, "zhang", "labour").claim.id  # in the period, but after it was published
    assert session.get(PointsClaim, later).notice_id is None
    assert section(notice, world["zhang"])["held"] == []
    following = notices.month_period(END + timedelta(days=1))
    clock(local(following[1] + timedelta(days=1)))
    with unit_of_work() as s:
        listed = notices.compile(
            s, actor=None, village_id=world["a"], period_start=following[0], period_end=following[1]
        )
        assert [line["claim"] for line in section(listed, world["zhang"])["held"]] == [later]


def test_the_honour_roll_keeps_five_and_ignores_reversed_lines(session, world, clock):
    heads = ["赵", "钱", "孙", "周", "吴", "郑"]
    ids = [carded_household(world["a"], head=h, number=f"02{i:02d}")[0] for i, h in enumerate(heads)]
    with unit_of_work() as s:
        for times, household_id in enumerate(ids, start=1):
            for _ in range(times):
                points.award(
                    s, actor=None, village_id=world["a"], household_id=household_id, rule_id=world["labour"]
                )
        wrong = points.award(
            s, actor=None, village_id=world["a"], household_id=world["zhang"], rule_id=world["labour"]
        )
        for _ in range(10):
            points.award(
                s, actor=None, village_id=world["a"], household_id=world["zhang"], rule_id=world["labour"]
            )
        points.reverse(s, actor=None, village_id=world["a"], entry_id=wrong.entry.id, reason="记错")
    clock.after_month()
    roll = notices.document(session.get(Notice, compile_month(world)))["honour_roll"]
    assert [(r["head"], r["points"]) for r in roll["earned"]] == [
        ("张三", 100),
        ("郑", 60),
        ("吴", 50),
        ("周", 40),
        ("孙", 30),
    ]
    assert roll["deducted"] == []


# ---- the 党员户 part of the 红黑榜 ------------------------------------------------------------------------


def make_party_member(world, household: str, party: bool = True) -> None:
    with unit_of_work() as session:
        head = households.get(session, village_id=world["a"], household_id=world[household]).head
        households.update_member(
            session,
            actor=None,
            village_id=world["a"],
            household_id=world[household],
            member_id=head.id,
            member=households.MemberInput(head.name, head.relation, head.gender, head.birth_year, party),
        )


def test_a_village_with_party_households_gets_their_own_roll(session, world, clock):
    make_party_member(world, "li")
    award(world, "zhang", "labour")
    award(world, "zhang", "labour")
    award(world, "li", "labour")
    award(world, "li", "litter")
    clock.after_month()
    roll = notices.document(session.get(Notice, compile_month(world)))["honour_roll"]
    assert [(r["head"], r["points"]) for r in roll["earned"]] == [("张三", 20), ("李四", 10)]
    assert roll["party"] == {
        "earned": [{"household": world["li"], "number": "0102", "head": "李四", "points": 10}],
        "deducted": [{"household": world["li"], "number": "0102", "head": "李四", "points": 5}],
    }


def test_a_village_without_party_members_has_the_roll_it_always_had(session, world, clock):
    award(world, "zhang", "labour")
    clock.after_month()
    roll = notices.document(session.get(Notice, compile_month(world)))["honour_roll"]
    assert set(roll) == {"earned", "deducted"}  # no "party" key: the content is byte for byte as before


def test_a_published_roll_stays_frozen_when_party_members_change(session, world, clock):
    award(world, "li", "labour")
    notice = published_month(world, clock)
    frozen, digest = notice.content, notice.digest
    make_party_member(world, "li")
    stored = session.get(Notice, notice.id)
    assert (stored.content, stored.digest) == (frozen, digest) and notices.verify_digest(stored)
    assert "party" not in notices.document(stored)["honour_roll"]
    assert notices.chain_holds(session, stored)
    session.rollback()


def test_a_draft_compiled_before_a_member_became_a_party_member_is_compiled_again_before_publishing(
    session, world, clock
):
    award(world, "li", "labour")
    clock.after_month()
    draft_id = compile_month(world)
    make_party_member(world, "li")
    with pytest.raises(NoticeChanged):  # the draft no longer says what the registry says
        publish(world, draft_id)
    compile_month(world)
    notice = publish(world, draft_id)
    assert [r["head"] for r in notices.document(notice)["honour_roll"]["party"]["earned"]] == ["李四"]
    assert notices.verify_digest(notice)
