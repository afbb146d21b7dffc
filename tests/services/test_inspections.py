"""五净一规范 inspections: record and read back, "latest", the not-passing list, and the monthly round of a
group with points, idempotent by its request key and confined to its group and village."""

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Inspection, LedgerEntry, PointsAccount, PointsClaim
from lovemart.services import households, inspections, villages
from lovemart.services.errors import HouseholdInactive, InvalidInput, NotFound, UnknownGroup
from lovemart.services.inspections import InspectionInput, RoundResult
from tests.factories import make_household, make_village
from tests.points_helpers import ALL_CLEAN, carded_household, make_rule

KITCHEN_DIRTY = ALL_CLEAN | {"kitchen_clean": False}


def record(village_id, household_id, checks=ALL_CLEAN, on=date(2026, 11, 1), **extra):
    with unit_of_work() as session:
        return inspections.record(
            session,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            data=InspectionInput(on, extra.pop("inspector", "检查组"), checks, **extra),
        ).id


def group_id(session, village_id, name="一组") -> int:
    return next(g.id for g in villages.groups(session, village_id) if g.name == name)


def run_round(village_id, group, results, key=None, on=date(2026, 11, 15)):
    with unit_of_work() as session:
        outcome = inspections.record_round(
            session,
            actor=None,
            village_id=village_id,
            group_id=group,
            inspected_on=on,
            inspector="村两委检查组",
            results=results,
            request_key=key,
        )
        return {
            "inspections": [i.id for i in outcome.inspections],
            "passed": outcome.passed,
            "entries": sorted(r.entry.id for r in outcome.recorded if r.entry),
            "claims": sorted(r.claim.id for r in outcome.recorded if r.claim),
            "replayed": outcome.replayed,
        }


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_record_stores_the_six_checks_and_whether_all_passed(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    passing = record(village_id, household_id, note="  干净整洁 ", inspector=" 王主任 ", photo="ab" * 16)
    failing = record(village_id, household_id, KITCHEN_DIRTY, on=date(2026, 11, 2))
    good, bad = session.get(Inspection, passing), session.get(Inspection, failing)
    assert good.passed and good.note == "干净整洁" and good.inspector == "王主任" and good.photo == "ab" * 16
    assert not bad.passed and not bad.kitchen_clean and bad.yard_clean
    assert [str(label) for label in bad.failed_checks] == ["厨房净"]
    tags = session.scalars(select(AuditEvent.tag).where(AuditEvent.subject_type == "Inspection")).all()
    assert tags == ["inspection:inspection:record"] * 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"inspector": "  "}, "inspector"),
        ({"checks": {"yard_clean": True}}, "checks"),
        ({"on": date.today() + timedelta(days=2)}, "inspected_on"),
    ],
)
def test_record_refuses_incomplete_input(session, changes, field):
    village_id = make_village("a")
    household_id = make_household(village_id)
    changes = dict(changes)  # the parameters are shared by both databases' runs
    checks = changes.pop("checks", ALL_CLEAN)
    with pytest.raises(InvalidInput) as refused:
        record(village_id, household_id, checks, **changes)
    assert refused.value.field == field
    assert count(session, Inspection) == 0


def test_record_refuses_a_moved_out_household_and_another_villages(session):
    village_id, other_id = make_village("a"), make_village("b")
    household_id = make_household(village_id)
    foreign = make_household(other_id)
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village_id, household_id=household_id, active=False)
    with pytest.raises(HouseholdInactive):
        record(village_id, household_id)
    with pytest.raises(NotFound):
        record(village_id, foreign)
    assert count(session, Inspection) == 0


def test_latest_and_history_order_by_date_then_record(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    assert inspections.latest(session, village_id=village_id, household_id=household_id) is None
    october = record(village_id, household_id, on=date(2026, 10, 1))
    november = record(village_id, household_id, KITCHEN_DIRTY, on=date(2026, 11, 1))
    back_dated = record(village_id, household_id, on=date(2026, 9, 1))
    same_day = record(village_id, household_id, on=date(2026, 11, 1))
    assert inspections.latest(session, village_id=village_id, household_id=household_id).id == same_day
    history = inspections.history(session, village_id=village_id, household_id=household_id)
    assert [i.id for i in history] == [same_day, november, october, back_dated]
    assert inspections.latest_by_household(session, village_id=village_id)[household_id].id == same_day


def test_not_passing_lists_active_households_failed_or_never_inspected(session):
    village_id, other_id = make_village("a"), make_village("b")
    never = make_household(village_id, number="01")
    failed = make_household(village_id, number="02")
    passed = make_household(village_id, number="03")
    recovered = make_household(village_id, number="04")  # passed, then failed: listed
    moved = make_household(village_id, number="05")
    make_household(other_id, number="01")
    record(village_id, failed, KITCHEN_DIRTY)
    record(village_id, passed)
    record(village_id, recovered, on=date(2026, 10, 1))
    record(village_id, recovered, KITCHEN_DIRTY, on=date(2026, 11, 1))
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village_id, household_id=moved, active=False)

    rows = inspections.not_passing(session, village_id=village_id)

    assert [(h.id, i.id if i else None) for h, i in rows] == [
        (never, None),
        (failed, inspections.latest(session, village_id=village_id, household_id=failed).id),
        (recovered, inspections.latest(session, village_id=village_id, household_id=recovered).id),
    ]


def test_round_records_every_household_and_awards_by_rule(session):
    village_id = make_village("a")
    clean, _ = carded_household(village_id, number="01", group="一组")
    dirty, _ = carded_household(village_id, number="02", group="一组")
    uncarded = make_household(village_id, number="03", group="一组")
    bonus = make_rule(village_id, "五净一规范检查达标", "environment", 10)
    penalty = make_rule(village_id, "五净一规范检查不达标", "deduction", -5)
    honour = make_rule(village_id, "评为“五好家庭”", "honour", 50, requires_approval=True)

    result = run_round(
        village_id,
        group_id(session, village_id),
        [
            RoundResult(clean, ALL_CLEAN, rule_id=bonus),
            RoundResult(dirty, KITCHEN_DIRTY, rule_id=penalty, note="厨房油污"),
            RoundResult(uncarded, ALL_CLEAN),
        ],
        key="round-key-0001",
    )

    assert len(result["inspections"]) == 3 and result["passed"] == 2 and not result["replayed"]
    assert len(result["entries"]) == 2
    balances = dict(session.execute(select(PointsAccount.household_id, PointsAccount.balance)).all())
    assert balances == {clean: 110, dirty: 95}
    notes = session.scalars(select(LedgerEntry.note).where(LedgerEntry.rule_id.is_not(None))).all()
    assert notes == ["五净一规范检查 2026-11-15"] * 2
    dirty_inspection = inspections.latest(session, village_id=village_id, household_id=dirty)
    assert dirty_inspection.note == "厨房油污" and dirty_inspection.inspector == "村两委检查组"
    assert inspections.latest(session, village_id=village_id, household_id=uncarded).passed

    # a rule that needs the supervisor's approval yields a pending claim, not an entry
    result = run_round(
        village_id, group_id(session, village_id), [RoundResult(clean, ALL_CLEAN, rule_id=honour)]
    )
    assert len(result["claims"]) == 1 and result["entries"] == []
    rounds = session.scalars(select(AuditEvent).where(AuditEvent.tag == "inspection:round:record")).all()
    assert len(rounds) == 2 and rounds[0].data["request_key"] == "round-key-0001"


def test_round_is_idempotent_with_the_same_request_key(session):
    village_id = make_village("a")
    household_id, _ = carded_household(village_id, group="一组")
    other, _ = carded_household(village_id, group="一组")
    bonus = make_rule(village_id, "五净一规范检查达标", "environment", 10)
    results = [RoundResult(household_id, ALL_CLEAN, rule_id=bonus), RoundResult(other, KITCHEN_DIRTY)]
    group = group_id(session, village_id)
    inspections_before = count(session, Inspection)

    first = run_round(village_id, group, results, key="double-click-key")
    again = run_round(village_id, group, results, key="double-click-key")

    assert again["replayed"] and not first["replayed"]
    assert {k: v for k, v in again.items() if k != "replayed"} == {
        k: v for k, v in first.items() if k != "replayed"
    }
    assert count(session, Inspection) == inspections_before + 2
    assert count(session, LedgerEntry) == 3  # two base credits and one award
    assert (
        session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id)) == 110
    )

    # a new key is a new round
    third = run_round(village_id, group, [RoundResult(other, ALL_CLEAN)], key="next-month-key")
    assert not third["replayed"] and count(session, Inspection) == inspections_before + 3


def test_concurrent_copies_of_one_round_are_recorded_once(app, session):
    """Six simultaneous submissions of one page (each its own session and transaction): one round."""
    village_id = make_village("a")
    household_id, _ = carded_household(village_id, group="一组")
    bonus = make_rule(village_id, "五净一规范检查达标", "environment", 10)
    group = group_id(session, village_id)
    results = []

    def click():
        with app.app_context():
            round_ = run_round(
                village_id, group, [RoundResult(household_id, ALL_CLEAN, rule_id=bonus)], key="concurrent-key"
            )
            results.append(tuple(round_["inspections"]))
            db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    session.rollback()  # a fresh snapshot (SQLite's read transaction began before the threads wrote)
    assert count(session, Inspection) == 2  # carded_household's own and the round's
    assert (
        session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id)) == 110
    )


def test_round_without_a_key_is_recorded_each_time(session):
    village_id = make_village("a")
    household_id = make_household(village_id, group="一组")
    group = group_id(session, village_id)
    run_round(village_id, group, [RoundResult(household_id, ALL_CLEAN)])
    run_round(village_id, group, [RoundResult(household_id, ALL_CLEAN)])
    assert count(session, Inspection) == 2


def test_round_refuses_a_household_of_another_group_or_village_and_writes_nothing(session):
    village_id, other_id = make_village("a"), make_village("b")
    mine = make_household(village_id, group="一组")
    other_group = make_household(village_id, group="二组")
    foreign = make_household(other_id, group="一组")
    group = group_id(session, village_id)
    for intruder in (other_group, foreign):
        with pytest.raises(NotFound):
            run_round(
                village_id,
                group,
                [RoundResult(mine, ALL_CLEAN), RoundResult(intruder, ALL_CLEAN)],
                key="k" * 20,
            )
    with pytest.raises(UnknownGroup):
        run_round(village_id, group_id(session, other_id), [RoundResult(foreign, ALL_CLEAN)])
    assert count(session, Inspection) == 0
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tag.like("inspection:%"))
        )
        == 0
    )


def test_a_refused_award_names_the_household_and_undoes_the_whole_round(session):
    village_id = make_village("a")
    carded, _ = carded_household(village_id, number="01", group="一组")
    uncarded = make_household(village_id, number="02", head="赵六", group="一组")
    bonus = make_rule(village_id, "五净一规范检查达标", "environment", 10)
    with pytest.raises(InvalidInput) as refused:
        run_round(
            village_id,
            group_id(session, village_id),
            [RoundResult(carded, ALL_CLEAN, rule_id=bonus), RoundResult(uncarded, ALL_CLEAN, rule_id=bonus)],
            key="refused-round-key",
        )
    assert "02" in refused.value.message and "赵六" in refused.value.message
    assert "还没有积分卡" in refused.value.message
    assert count(session, Inspection) == 1  # only carded_household's own inspection
    assert count(session, PointsClaim) == 0
    assert session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == carded)) == 100
