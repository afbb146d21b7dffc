"""Every service that writes leaves its audit row: a village's whole life (`tests.journey`) calls each writer
and checks the row it leaves — tag, subject type and id, village, actor — and this test checks that the
journey misses no tag and no writing service (found by reading the services' source)."""

from lovemart.services import notices
from lovemart.services.audit import AuditTag
from tests.journey import Audited, live
from tests.services.service_functions import writing_functions


def test_every_writer_leaves_its_audit_row_with_tag_subject_village_and_actor(session, monkeypatch):
    audited = Audited()
    live("a", "甲", lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment), audited)
    assert set(AuditTag) - audited.tags == set(), "tags no writer of the journey was seen recording"
    assert writing_functions() - audited.writers == set(), "writing services the journey never calls"
