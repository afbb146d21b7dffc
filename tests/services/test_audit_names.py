"""The audit log in plain words: every tag named, every subject of a village's whole life named and linked,
another village's objects never named, the detail's fields labelled and its ids named."""

from sqlalchemy import select

from lovemart.models import AuditEvent
from lovemart.services import audit_names, notices
from lovemart.services.audit import ACTION_NAMES, AuditTag, action_name
from tests.journey import live


def test_every_tag_has_a_chinese_action_name():
    assert set(AuditTag) - set(ACTION_NAMES) == set(), "tags with no name in ACTION_NAMES"
    for tag in AuditTag:
        name = str(action_name(tag.value))
        assert name and ":" not in name and not name.isascii(), tag
    assert len({str(n) for n in ACTION_NAMES.values()}) == len(ACTION_NAMES), "two tags share a name"


def test_every_subject_type_has_a_resolver_and_a_name():
    assert set(audit_names.RESOLVERS) <= set(audit_names.TYPE_NAMES)


def _events(session, village_id):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.village_id == village_id)))


def test_subjects_of_a_whole_village_are_named_and_others_never(session, monkeypatch):
    clock = lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment)  # noqa: E731
    a = live("a", "甲", clock)
    b = live("b", "乙", clock)
    events = _events(session, a.village)
    lines = audit_names.describe(session, village_id=a.village, events=events, detail=True)
    texts = {line.subject.text for line in lines}
    by_type = {}
    for line in lines:
        assert line.subject.text, line.event.tag
        assert line.event.subject_type not in line.subject.text, (line.event.tag, line.subject.text)
        if line.event.subject_type != "Member" or line.event.subject_id == a.member:  # one member is deleted
            assert "（已不存在）" not in line.subject.text, (line.event.tag, line.event.subject_type)
        assert ":" not in str(line.action)
        assert "乙" not in line.subject.text
        by_type.setdefault(line.event.subject_type, line.subject)
        for change in line.changes:
            assert "乙" not in str(change.after) + str(change.before)
    assert any("a01 户 · 户主 甲张三" == t for t in texts), texts
    assert by_type["Household"].endpoint == "households.detail"
    assert by_type["Product"].text == "甲大米" and by_type["Product"].args == {"product_id": a.product}
    assert (
        by_type["Redemption"].text.startswith("小票 ") and by_type["Redemption"].endpoint == "counter.receipt"
    )
    assert by_type["Rule"].endpoint == "rules.edit"
    assert by_type["Notice"].text.startswith("公示 ") and "至" in by_type["Notice"].text
    assert by_type["Village"].text == "甲村" and by_type["Village"].endpoint is None
    assert "甲supervisor" in texts  # a user by display name
    stock_in = next(line for line in lines if line.event.tag == AuditTag.STOCK_IN)
    labels = {str(c.label): c.after for c in stock_in.changes}
    assert labels["商品 × 数量"] == "甲大米 × 50"
    assert "donation_id" not in labels and "lines" not in labels
    donated = next(
        line for line in lines if line.event.tag == AuditTag.STOCK_IN and line.event.data.get("donation_id")
    )
    assert next(c.after for c in donated.changes if c.key == "donation_id").startswith("捐赠 ")
    # the same rows read from village b's side: a's objects are never named there
    crossed = audit_names.describe(session, village_id=b.village, events=events, detail=True)
    for line in crossed:
        assert "甲" not in line.subject.text and line.subject.endpoint is None, line.subject
        for change in line.changes:
            assert (
                "甲" not in str(change.after)
                or change.key not in audit_names.FIELDS
                or (audit_names.FIELDS[change.key][1] is None and change.key not in ("lines", "adjustments"))
            )


def test_resolving_costs_one_query_per_type(session, monkeypatch):
    from sqlalchemy import event

    clock = lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment)  # noqa: E731
    a = live("a", "甲", clock)
    events = _events(session, a.village)
    count = []
    engine = session.get_bind()
    listener = lambda *args: count.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        audit_names.describe(session, village_id=a.village, events=events)
        few = len(count)
        count.clear()
        audit_names.describe(session, village_id=a.village, events=events + events)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    types = {e.subject_type for e in events}
    assert len(count) == few and few <= 2 * len(types) + 1, (few, len(types))
