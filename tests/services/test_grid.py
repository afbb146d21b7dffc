"""The grid worker (网格员): groups linked to the account, the services' own refusal of a household outside
them, their entries' approval path (or the village's direct setting), the own-household signal, the round
list."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lovemart.authz import Role
from lovemart.db import unit_of_work, utcnow
from lovemart.models import AuditEvent, LedgerEntry, PointsClaim, User, Village
from lovemart.models.points import ClaimStatus
from lovemart.services import activity, grid, inspections, points, signals, users, villages
from lovemart.services.errors import InvalidInput, NotFound, OutsideGroups
from lovemart.services.inspections import InspectionInput
from lovemart.services.inventory import today
from tests.factories import make_grid_user, make_household, make_user, make_village
from tests.points_helpers import ALL_CLEAN, carded_household, make_rule

AUDIT_CLAIM = "points:claim:create"


@pytest.fixture
def round_village(session):
    """Village a (groups 一组, 二组, 三组) with two carded households in 一组, one in 二组, one in 三组; a
    grid worker for 一组 and 三组 who lives in 一组's first household; village b with one household."""
    a = make_village("a", groups=("一组", "二组", "三组"))
    b = make_village("b", township="交里乡")
    first, _ = carded_household(a, number="01001", group="一组")
    second, _ = carded_household(a, number="01002", group="一组")
    other, _ = carded_household(a, number="02001", group="二组")
    third, _ = carded_household(a, number="03001", group="三组")
    foreign, _ = carded_household(b, number="01001")
    worker = make_grid_user("wangge", "a", ("三组", "一组"), household_number="01001")
    supervisor = make_user("supervisor", Role.SUPERVISOR, "a")
    return {
        "a": a,
        "b": b,
        "first": first,
        "second": second,
        "other": other,
        "third": third,
        "foreign": foreign,
        "worker": worker,
        "supervisor": supervisor,
        "earn": make_rule(a, "义务劳动", "volunteer", 10),
        "deduct": make_rule(a, "乱堆乱放", "deduction", -5),
    }


def _inspect(session, actor, village, household):
    return inspections.record(
        session,
        actor=actor,
        village_id=village,
        household_id=household,
        data=InspectionInput(today(), "王网格", ALL_CLEAN),
    )


def test_a_grid_worker_needs_groups_of_their_village_and_others_take_none(session):
    make_village("a")
    with unit_of_work() as s:
        village = villages.by_code(s, "a")
        with pytest.raises(InvalidInput) as no_group:
            users.create_user(
                s, actor=None, username="g1", password="password123", role=Role.GRID, village=village
            )
        with pytest.raises(InvalidInput) as unknown:
            users.create_user(
                s,
                actor=None,
                username="g2",
                password="password123",
                role=Role.GRID,
                village=village,
                group_names=["一组", "九组"],
            )
        with pytest.raises(InvalidInput):
            users.create_user(
                s,
                actor=None,
                username="a1",
                password="password123",
                role=Role.ADMIN,
                village=village,
                group_names=["一组"],
            )
    assert no_group.value.field == "groups" and "九组" in unknown.value.message
    assert users.parse_group_names("一组，二组\n三组、 四组,五组") == ["一组", "二组", "三组", "四组", "五组"]


def test_groups_are_linked_in_village_order_and_replaced_with_an_audit_row(session, round_village):
    worker = session.get(User, round_village["worker"])
    assert [g.name for g in worker.groups] == ["一组", "三组"]
    created = session.scalar(
        select(AuditEvent).where(
            AuditEvent.tag == "user:user:create", AuditEvent.subject_id == round_village["worker"]
        )
    )
    assert created.data["after"]["groups"] == ["一组", "三组"]
    with unit_of_work() as s:
        users.set_groups(s, actor=None, user_id=round_village["worker"], group_names=["二组"])
    session.expire_all()
    assert [g.name for g in session.get(User, round_village["worker"]).groups] == ["二组"]
    updated = session.scalar(
        select(AuditEvent).where(AuditEvent.tag == "user:user:update").order_by(AuditEvent.id.desc())
    )
    assert updated.data == {"before": {"groups": ["一组", "三组"]}, "after": {"groups": ["二组"]}}
    with unit_of_work() as s, pytest.raises(InvalidInput):
        users.set_groups(s, actor=None, user_id=round_village["supervisor"], group_names=["二组"])


def test_the_services_refuse_a_household_outside_the_workers_groups(session, round_village):
    v = round_village
    with unit_of_work() as s:
        actor = s.get(User, v["worker"])
        with pytest.raises(OutsideGroups):
            _inspect(s, actor, v["a"], v["other"])
        with pytest.raises(OutsideGroups):
            points.award(s, actor=actor, village_id=v["a"], household_id=v["other"], rule_id=v["earn"])
        with pytest.raises(OutsideGroups):
            inspections.record_round(
                s,
                actor=actor,
                village_id=v["a"],
                group_id=villages.groups(s, v["a"])[1].id,
                inspected_on=today(),
                inspector="王网格",
                results=[inspections.RoundResult(v["other"], ALL_CLEAN)],
            )
        with pytest.raises(NotFound):  # another village's household is not found at all
            points.award(s, actor=actor, village_id=v["b"], household_id=v["foreign"], rule_id=v["earn"])
        with pytest.raises(NotFound):
            grid.round_household(s, actor=actor, village_id=v["a"], household_id=v["foreign"])
    assert session.scalar(select(PointsClaim.id).where(PointsClaim.recorded_by_id == v["worker"])) is None
    with unit_of_work() as s:  # the worker's own groups are theirs to inspect
        assert _inspect(s, s.get(User, v["worker"]), v["a"], v["third"]).passed


def test_a_grid_workers_points_wait_for_the_supervisor_and_name_both(session, round_village):
    v = round_village
    with unit_of_work() as s:
        recorded = points.award(
            s,
            actor=s.get(User, v["worker"]),
            village_id=v["a"],
            household_id=v["second"],
            rule_id=v["deduct"],
            note="柴草乱堆",
            evidence="a" * 32,
        )
        claim_id = recorded.claim.id
    assert recorded.entry is None and recorded.claim.status == ClaimStatus.PENDING
    created = session.scalar(
        select(AuditEvent).where(AuditEvent.tag == AUDIT_CLAIM, AuditEvent.subject_id == claim_id)
    )
    assert created.actor_id == v["worker"] and created.data["points"] == -5
    with unit_of_work() as s:
        points.approve(s, actor=s.get(User, v["supervisor"]), village_id=v["a"], claim_id=claim_id)
    claim = session.get(PointsClaim, claim_id)
    entry = session.get(LedgerEntry, claim.entry_id)
    assert (entry.points, entry.recorded_by_id, entry.approved_by_id) == (-5, v["worker"], v["supervisor"])
    assert entry.evidence == "a" * 32 and claim.recorded_by_id == v["worker"]
    approved = session.scalar(
        select(AuditEvent).where(AuditEvent.tag == "points:claim:approve", AuditEvent.subject_id == claim_id)
    )
    assert approved.actor_id == v["supervisor"]


def test_the_village_setting_lets_grid_workers_points_count_at_once(session, round_village):
    v = round_village
    with unit_of_work() as s:
        s.get(Village, v["a"]).grid_awards_direct = True
    with unit_of_work() as s:
        recorded = points.award(
            s, actor=s.get(User, v["worker"]), village_id=v["a"], household_id=v["second"], rule_id=v["earn"]
        )
        entry_id = recorded.entry.id
    assert recorded.claim is None
    entry = session.get(LedgerEntry, entry_id)
    assert entry.recorded_by_id == v["worker"] and entry.approved_by_id is None
    # a rule that needs approval still needs it, whoever enters it
    approval = make_rule(v["a"], "五好家庭", "honour", 50, requires_approval=True)
    with unit_of_work() as s:
        held = points.award(
            s, actor=s.get(User, v["worker"]), village_id=v["a"], household_id=v["second"], rule_id=approval
        )
    assert held.claim is not None and held.claim.status == ClaimStatus.PENDING


def test_a_grid_worker_scoring_their_own_household_is_signalled(session, round_village):
    v = round_village
    with unit_of_work() as s:
        worker = s.get(User, v["worker"])
        own = points.award(
            s, actor=worker, village_id=v["a"], household_id=v["first"], rule_id=v["earn"]
        ).claim.id
        neighbour = points.award(
            s, actor=worker, village_id=v["a"], household_id=v["second"], rule_id=v["earn"]
        ).claim.id
    with unit_of_work() as s:
        for claim_id in (own, neighbour):
            points.approve(s, actor=s.get(User, v["supervisor"]), village_id=v["a"], claim_id=claim_id)
    own_entry = session.get(PointsClaim, own).entry_id
    found = signals.signals(session, village_id=v["a"], first=today() - timedelta(days=1), last=today())
    (signal,) = [s for s in found if s.kind == "own_household"]
    assert signal.entry_ids == [own_entry] and signal.household.startswith("01001")
    assert "wangge（网格员）" in signal.what


def test_the_round_lists_the_workers_households_in_group_order_with_this_months_figures(
    session, round_village
):
    v = round_village
    make_household(v["a"], number="01000", group="一组")  # no card yet: listed, without an account
    with unit_of_work() as s:
        worker = s.get(User, v["worker"])
        _inspect(s, worker, v["a"], v["second"])
        points.award(s, actor=None, village_id=v["a"], household_id=v["second"], rule_id=v["earn"])
        points.award(s, actor=worker, village_id=v["a"], household_id=v["second"], rule_id=v["deduct"])
    with unit_of_work() as s:
        rows = grid.round_rows(s, actor=s.get(User, v["worker"]), village_id=v["a"])
        listed = [(r.group, r.household.number, r.has_account) for r in rows]
        second = next(r for r in rows if r.household.id == v["second"])
        figures = (
            second.inspected_on,
            second.passed,
            second.month_points,
            second.pending_points,
            second.pending_count,
        )
    assert listed == [
        ("一组", "01000", False),
        ("一组", "01001", True),
        ("一组", "01002", True),
        ("三组", "03001", True),
    ]
    assert figures == (today(), True, 10, -5, 1) and second.inspected_this_month


def test_the_round_of_a_worker_without_groups_is_empty_and_others_are_unaffected(session, round_village):
    v = round_village
    with unit_of_work() as s:
        assert grid.round_rows(s, actor=s.get(User, v["supervisor"]), village_id=v["a"]) == []
        grid.ensure_household(s, actor=None, village_id=v["a"], household_id=v["other"])  # the system
        grid.ensure_household(
            s, actor=s.get(User, v["supervisor"]), village_id=v["a"], household_id=v["other"]
        )
    assert date(2026, 1, 1) < today()


# ---- the quiet-group warning (冷清提醒): a group whose grid worker recorded nothing this month ----


def test_a_group_whose_grid_worker_recorded_nothing_this_month_is_named(session, round_village):
    v = round_village
    now = utcnow()
    # 一组 and 三组 have wangge; 二组 has nobody in charge, so it is never named
    quiet = activity.quiet_groups(session, [v["a"], v["b"]], now=now)
    assert [(q.group, q.workers) for q in quiet] == [
        ("一组", ("wangge（网格员）",)),
        ("三组", ("wangge（网格员）",)),
    ]
    assert quiet[0].label == "一组（wangge（网格员））"
    # someone else's entry for 一组 does not count; the worker's proposal for it does
    with unit_of_work() as s:
        points.award(s, actor=None, village_id=v["a"], household_id=v["second"], rule_id=v["earn"])
    assert [q.group for q in activity.quiet_groups(session, [v["a"]], now=now)] == ["一组", "三组"]
    with unit_of_work() as s:
        points.award(
            s, actor=s.get(User, v["worker"]), village_id=v["a"], household_id=v["second"], rule_id=v["earn"]
        )
    assert [q.group for q in activity.quiet_groups(session, [v["a"]], now=now)] == ["三组"]
    # an inspection of 三组 by the worker quiets the last one; next month both are quiet again
    with unit_of_work() as s:
        _inspect(s, s.get(User, v["worker"]), v["a"], v["third"])
    assert activity.quiet_groups(session, [v["a"]], now=now) == []
    assert len(activity.quiet_groups(session, [v["a"]], now=now + timedelta(days=32))) == 2


def test_a_ledger_entry_by_the_worker_counts_and_an_inactive_worker_is_not_asked(session, round_village):
    v = round_village
    with unit_of_work() as s:
        s.get(Village, v["a"]).grid_awards_direct = True
    with unit_of_work() as s:
        worker = s.get(User, v["worker"])
        points.award(s, actor=worker, village_id=v["a"], household_id=v["third"], rule_id=v["earn"])
    assert [q.group for q in activity.quiet_groups(session, [v["a"]], now=utcnow())] == ["一组"]
    with unit_of_work() as s:
        users.set_active(s, actor=None, user_id=v["worker"], active=False)
    assert activity.quiet_groups(session, [v["a"]], now=utcnow()) == []


def test_the_village_warnings_carry_the_quiet_groups(session, round_village):
    v = round_village
    (warning,) = [
        w for w in activity.warnings(session, [v["a"], v["b"]], now=utcnow()) if w.village_id == v["a"]
    ]
    assert warning.quiet_groups == ["一组（wangge（网格员））", "三组（wangge（网格员））"]
    others = activity.warnings(session, [v["b"]], now=utcnow())
    assert all(w.quiet_groups == [] for w in others)
