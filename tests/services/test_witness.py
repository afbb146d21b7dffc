"""The county's witness (services/witness.py): it accepts each notice's checkpoint that extends the last one
it accepted, and records a fork, which stays, when a village's past was rewritten, whether it sees the next
notice or polls the current books; a village whose books only grew raises nothing."""

from datetime import UTC, datetime

from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import WitnessObservation
from lovemart.models.transparency import WitnessVerdict
from lovemart.services import notices, points, witness
from tests.points_helpers import make_rule
from tests.transparency import months_ago, publish_months, rewrite_entry


def observations(session, village_id):
    session.rollback()
    stmt = select(WitnessObservation).where(WitnessObservation.village_id == village_id)
    return session.scalars(stmt.order_by(WitnessObservation.id)).all()


def test_each_notice_that_extends_the_last_is_accepted(session, monkeypatch):
    world = publish_months(monkeypatch)
    seen = observations(session, world.village)
    assert [(o.verdict, o.size, o.previous_size) for o in seen] == [
        ("consistent", 6, None),
        ("consistent", 10, 6),
    ]
    assert all(o.cosigned.count("\n— ") == 2 for o in seen)  # the notice key's signature and the witness's
    with unit_of_work() as s:
        assert witness.poll(s) == []  # nothing new since the last notice
        assert witness.alarms(s, [world.village]) == []


def test_growing_books_polled_between_notices_are_accepted(session, monkeypatch):
    world = publish_months(monkeypatch, months=1)
    rule = make_rule(world.village, "扫雪", "volunteer", 5)
    with unit_of_work() as s:
        points.award(s, actor=None, village_id=world.village, household_id=world.households[0], rule_id=rule)
    with unit_of_work() as s:
        (polled,) = witness.poll(s)
        assert (polled.verdict, polled.size, polled.previous_size) == ("consistent", 7, 6)


def test_a_rewritten_past_seen_in_the_next_notice_is_a_fork_that_stays(session, monkeypatch):
    world = publish_months(monkeypatch, months=1)
    rewrite_entry(world.village, 3, note="改过的说明", rebuild_tree=True)
    start, end = months_ago(0)
    monkeypatch.setattr(notices, "utcnow", lambda: datetime(end.year, end.month, end.day, 20, tzinfo=UTC))
    with unit_of_work() as s:
        notice = notices.compile(s, actor=None, village_id=world.village, period_start=start, period_end=end)
        notices.publish(s, actor=None, village_id=world.village, notice_id=notice.id)
    last = observations(session, world.village)[-1]
    assert (last.verdict, last.previous_size, last.size) == (WitnessVerdict.FORK, 6, 6)
    assert last.cosigned is None  # the witness never countersigns a fork
    with unit_of_work() as s:
        (alarm,) = witness.alarms(s, [world.village])
        assert (alarm.village, alarm.accepted_size, alarm.seen_size) == ("a村", 6, 6)
        # the books grow on; the witness still holds the genuine head, so every later head is a fork too
        rule = make_rule(world.village, "扫雪", "volunteer", 5)
        points.award(s, actor=None, village_id=world.village, household_id=world.households[0], rule_id=rule)
    with unit_of_work() as s:
        (polled,) = witness.poll(s)
        assert (polled.verdict, polled.previous_size, polled.size) == ("fork", 6, 7)
        assert witness.poll(s) == []  # the same head is not recorded twice


def test_a_rewritten_past_is_caught_by_the_poll(session, monkeypatch):
    world = publish_months(monkeypatch)
    other = publish_months(monkeypatch, months=1, code="b")
    rewrite_entry(world.village, 9, note="改过的说明", rebuild_tree=True)
    with unit_of_work() as s:
        (polled,) = witness.poll(s)
        assert (polled.village_id, polled.verdict) == (world.village, "fork")
        assert [a.village_id for a in witness.alarms(s, [world.village, other.village])] == [world.village]
