import pytest

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Household
from lovemart.models.households import Relation
from lovemart.scope import restrict
from lovemart.services import households
from lovemart.services.errors import DuplicateHouseholdNumber, InvalidInput, NotFound, UnknownGroup
from lovemart.services.households import HouseholdFilter, HouseholdInput, MemberInput
from tests.factories import make_household, make_village


def head(name="王建华"):
    return MemberInput(name, Relation.HEAD.value, "male", 1970)


def group_id(session, village_id):
    return households.group_by_name(session, village_id=village_id)["一组"].id


def test_create_writes_household_members_and_audit(session):
    village_id = make_village("a")
    with unit_of_work() as s:
        created = households.create(
            s,
            actor=None,
            village_id=village_id,
            data=HouseholdInput(number=" 01001 ", group_id=group_id(s, village_id), phone="13800000000"),
            members=[head(), MemberInput("李秀英", "spouse", "female", 1972)],
        )
        household_id = created.id
    household = households.get(session, village_id=village_id, household_id=household_id)
    assert household.number == "01001"
    assert [m.name for m in household.members] == ["王建华", "李秀英"]
    assert household.head.name == "王建华"
    events = session.query(AuditEvent).filter_by(tag="household:household:create").all()
    assert len(events) == 1 and events[0].subject_id == household_id and events[0].village_id == village_id


@pytest.mark.parametrize(
    "members, message",
    [
        ([], "至少要有一名成员"),
        ([MemberInput("李秀英", "spouse", "female", 1972)], "有且只有一名户主"),
        ([head(), head("王二")], "有且只有一名户主"),
        ([head(""), MemberInput("李秀英", "spouse", "female")], "姓名不能为空"),
        ([head(), MemberInput("李秀英", "wife", "female")], "与户主关系"),
        ([MemberInput("王建华", "head", "male", 1850)], "出生年份"),
        ([head("王" * 33)], "姓名最多 32 个字"),
    ],
)
def test_create_refuses_bad_members_and_writes_nothing(session, members, message):
    village_id = make_village("a")
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        households.create(
            s,
            actor=None,
            village_id=village_id,
            data=HouseholdInput("1", group_id(s, village_id)),
            members=members,
        )
    assert message in refused.value.message
    assert session.query(Household).count() == 0
    assert session.query(AuditEvent).filter_by(tag="household:household:create").count() == 0


@pytest.mark.parametrize(
    "data, message",
    [
        (HouseholdInput("1" * 33, 0), "户号最多 32 个字符"),
        (HouseholdInput("1", 0, address="路" * 201), "住址最多"),
    ],
)
def test_over_long_household_fields_are_refused_before_the_database(data, message):
    """PostgreSQL would refuse them with an error (a 500); SQLite would store them silently."""
    with pytest.raises(InvalidInput) as refused:
        households.check_household_shape(data)
    assert message in refused.value.message


def test_number_is_unique_within_a_village_only(session):
    a, b = make_village("a"), make_village("b")
    make_household(a, number="01001")
    make_household(b, number="01001")
    with pytest.raises(DuplicateHouseholdNumber), unit_of_work() as s:
        households.create(
            s, actor=None, village_id=a, data=HouseholdInput("01001", group_id(s, a)), members=[head()]
        )


def test_group_of_another_village_is_refused(session):
    a, b = make_village("a"), make_village("b")
    with pytest.raises(UnknownGroup), unit_of_work() as s:
        households.create(
            s, actor=None, village_id=a, data=HouseholdInput("1", group_id(s, b)), members=[head()]
        )


def test_get_of_another_village_is_not_found(session):
    a, b = make_village("a"), make_village("b")
    household_id = make_household(b)
    with pytest.raises(NotFound):
        households.get(session, village_id=a, household_id=household_id)


def test_scope_hides_other_villages_even_without_a_village_filter(session):
    a, b = make_village("a"), make_village("b")
    mine, theirs = make_household(a), make_household(b)
    restrict(session, [a])
    assert session.get(Household, theirs) is None
    assert [h.id for h in session.query(Household)] == [mine]
    restrict(session, None)
    assert session.get(Household, theirs) is not None


def test_search_by_member_name_number_and_filters(session):
    village_id = make_village("a")
    make_household(village_id, head="王建华", number="01001", others=("王小红",))
    make_household(village_id, head="李四", number="01002", group="二组")
    moved = make_household(village_id, head="王五", number="01003")
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village_id, household_id=moved, active=False)

    def numbers(**filters):
        page = households.search(session, village_id=village_id, filters=HouseholdFilter(**filters))
        return [h.number for h in page.items]

    assert numbers(search="小红") == ["01001"]
    assert numbers(search="王") == ["01001"]
    assert numbers(search="王", active=None) == ["01001", "01003"]
    assert numbers(search="01002") == ["01002"]
    assert numbers(search="%") == []
    assert numbers(group_id=households.group_by_name(session, village_id=village_id)["二组"].id) == ["01002"]


def test_search_pages(session):
    village_id = make_village("a")
    for n in range(7):
        make_household(village_id, number=f"{n:05d}")
    page = households.search(session, village_id=village_id, filters=HouseholdFilter(), page=2, per_page=3)
    assert [h.number for h in page.items] == ["00003", "00004", "00005"]
    assert (page.total, page.pages, page.has_prev, page.has_next) == (7, 3, True, True)


def test_update_records_before_and_after(session):
    village_id = make_village("a")
    household_id = make_household(village_id, number="01001")
    with unit_of_work() as s:
        households.update(
            s,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            data=HouseholdInput("01001", group_id(s, village_id), address="啊道村1号", status="poor"),
        )
    event = session.query(AuditEvent).filter_by(tag="household:household:update").one()
    assert event.data == {
        "before": {"address": "", "status": "general"},
        "after": {"address": "啊道村1号", "status": "poor"},
    }


def test_members_add_edit_remove_keep_one_head(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    with unit_of_work() as s:
        child = households.add_member(
            s,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            member=MemberInput("王小明", "child", "male", 2000),
        ).id
    with pytest.raises(InvalidInput), unit_of_work() as s:
        households.add_member(
            s, actor=None, village_id=village_id, household_id=household_id, member=head("第二户主")
        )
    with pytest.raises(InvalidInput), unit_of_work() as s:
        head_id = households.get(s, village_id=village_id, household_id=household_id).head.id
        households.remove_member(
            s, actor=None, village_id=village_id, household_id=household_id, member_id=head_id
        )
    with unit_of_work() as s:
        households.update_member(
            s,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            member_id=child,
            member=MemberInput("王晓明", "child", "male", 2001),
        )
    with unit_of_work() as s:
        households.remove_member(
            s, actor=None, village_id=village_id, household_id=household_id, member_id=child
        )
    household = households.get(session, village_id=village_id, household_id=household_id)
    assert [m.name for m in household.members] == ["王建华"]
    tags = [e.tag for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert tags[-3:] == ["household:member:create", "household:member:update", "household:member:delete"]


def test_summary_counts_people_and_poor_per_group(session):
    village_id = make_village("a")
    make_household(village_id, others=("甲", "乙"), status=households.HouseholdStatus.POOR)
    make_household(village_id, group="二组")
    rows = households.summary(session, village_id=village_id)
    assert [(r.name, r.households, r.people, r.poor_households, r.poor_people) for r in rows] == [
        ("一组", 1, 3, 1, 3),
        ("二组", 1, 1, 0, 0),
    ]
