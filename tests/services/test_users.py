"""Staff accounts: creation rules, authentication, password change, (de)activation, session ids and API
tokens (only a digest stored)."""

import hashlib

import pytest
from sqlalchemy import func, select

from lovemart.authz import Role
from lovemart.db import unit_of_work, utcnow
from lovemart.models import ApiToken, AuditEvent, User
from lovemart.services import users, villages
from lovemart.services.errors import InvalidInput, UsernameTaken, WrongPassword
from tests.conftest import PASSWORD
from tests.factories import make_user, make_village


@pytest.fixture
def village_id(session):
    return make_village("a")


def create(session, username="wang", role=Role.ADMIN, village="a", password=PASSWORD, **extra):
    with unit_of_work() as s:
        return users.create_user(
            s,
            actor=None,
            username=username,
            password=password,
            role=role,
            village=villages.by_code(s, village) if village else None,
            **extra,
        ).id


def user_count(session) -> int:
    return session.scalar(select(func.count(User.id)))


# --- create_user -------------------------------------------------------------------------------------


def test_create_user_binds_each_role_to_its_village_or_county(session, village_id):
    county_id = villages.get(session, village_id).township.county_id
    groups = {Role.GRID: {"group_names": [villages.groups(session, village_id)[0].name]}}
    made = {role: create(session, f"u-{role.value}", role, **groups.get(role, {})) for role in Role}
    session.expire_all()
    for role, user_id in made.items():
        user = session.get(User, user_id)
        assert user.role == role.value
        if role in (Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.GRID):
            assert (user.village_id, user.county_id) == (village_id, None)
        elif role is Role.COUNTY:
            assert (user.village_id, user.county_id) == (None, county_id)
        elif role is Role.TOWNSHIP:
            township_id = villages.get(session, village_id).township_id
            assert (user.village_id, user.county_id, user.township_id) == (None, None, township_id)
        else:
            assert (user.village_id, user.county_id) == (None, None)


def test_create_user_stores_a_modern_hash_and_audits_without_the_password(session, village_id):
    user_id = create(session, "  wang  ", display_name="  王建华 ")
    user = session.get(User, user_id)
    assert user.username == "wang" and user.display_name == "王建华"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert user.active and user.session_version == 1
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:user:create"))
    assert event.subject_id == user_id and event.actor_name == "system" and event.village_id == village_id
    assert event.data == {"after": {"username": "wang", "role": "admin"}}
    assert session.get(User, create(session, "li")).display_name == "li"  # defaults to the username


def test_create_county_user_with_a_county_id_directly(session, village_id):
    county_id = villages.get(session, village_id).township.county_id
    with unit_of_work() as s:
        user = users.create_user(
            s, actor=None, username="xian", password=PASSWORD, role="county", county_id=county_id
        )
        assert (user.county_id, user.village_id) == (county_id, None)


def test_create_user_refusals_write_nothing(session, village_id):
    create(session, "taken")
    before = (user_count(session), session.scalar(select(func.count(AuditEvent.id))))
    cases = [
        ({"role": Role.ADMIN, "village": None}, InvalidInput, "该角色必须属于一个村。", "village"),
        ({"role": Role.LEADER, "village": None}, InvalidInput, "该角色必须属于一个村。", "village"),
        ({"role": Role.COUNTY, "village": None}, InvalidInput, "县级用户必须属于一个县。", "village"),
        ({"role": Role.TOWNSHIP, "village": None}, InvalidInput, "乡镇用户必须属于一个乡镇。", "village"),
        ({"password": "1234567"}, InvalidInput, "密码至少需要 8 个字符。", "password"),
        ({"username": "   "}, InvalidInput, "用户名不能为空，且不超过 64 个字符。", "username"),
        ({"username": "x" * 65}, InvalidInput, "用户名不能为空，且不超过 64 个字符。", "username"),
        ({"role": "emperor"}, InvalidInput, "未知角色：emperor", "role"),
        ({"username": "taken"}, UsernameTaken, "用户名 taken 已被使用。", None),
        ({"username": " taken "}, UsernameTaken, "用户名 taken 已被使用。", None),
    ]
    for kwargs, error, message, field in cases:
        with pytest.raises(error) as refused:
            create(session, **{"username": "new", **kwargs})
        assert refused.value.message == message, kwargs
        assert getattr(refused.value, "field", None) == field, kwargs
    session.expire_all()
    assert (user_count(session), session.scalar(select(func.count(AuditEvent.id)))) == before


# --- authenticate, change_password, set_active, sessions ---------------------------------------------


def test_authenticate(session, village_id):
    user_id = create(session)
    assert users.authenticate(session, username="wang", password=PASSWORD).id == user_id
    assert users.authenticate(session, username=" wang ", password=PASSWORD).id == user_id
    assert users.authenticate(session, username="wang", password=PASSWORD + "x") is None
    assert users.authenticate(session, username="wang", password="") is None
    assert users.authenticate(session, username="WANG", password=PASSWORD) is None
    assert users.authenticate(session, username="nobody", password=PASSWORD) is None
    with unit_of_work() as s:
        users.set_active(s, actor=None, user_id=user_id, active=False)
    assert users.authenticate(session, username="wang", password=PASSWORD) is None


def test_change_password(session, village_id):
    user_id = create(session)
    with unit_of_work() as s:
        users.change_password(
            s, user=users.get(s, user_id), old_password=PASSWORD, new_password="brand-new-pw"
        )
    session.expire_all()
    user = session.get(User, user_id)
    assert user.session_version == 2
    assert users.authenticate(session, username="wang", password="brand-new-pw").id == user_id
    assert users.authenticate(session, username="wang", password=PASSWORD) is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:password:change"))
    assert event.actor_id == user_id and event.subject_id == user_id and "brand-new-pw" not in str(event.data)


def test_change_password_refusals_change_nothing(session, village_id):
    user_id = create(session)
    before = session.get(User, user_id).password_hash
    for old, new, error, message in [
        ("wrong-password", "brand-new-pw", WrongPassword, "原密码不正确。"),
        (PASSWORD, "short", InvalidInput, "密码至少需要 8 个字符。"),
    ]:
        with pytest.raises(error) as refused, unit_of_work() as s:
            users.change_password(s, user=users.get(s, user_id), old_password=old, new_password=new)
        assert refused.value.message == message
    session.expire_all()
    user = session.get(User, user_id)
    assert (user.password_hash, user.session_version) == (before, 1)
    assert session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:password:change")) is None


def test_set_active_ends_sessions_and_records_before_and_after(session, village_id):
    user_id = create(session)
    session_id = session.get(User, user_id).get_id()
    assert session_id == f"{user_id}:1"
    assert users.load_session_user(session, session_id).id == user_id
    with unit_of_work() as s:
        users.set_active(s, actor=users.get(s, user_id), user_id=user_id, active=False)
    session.expire_all()
    assert users.load_session_user(session, session_id) is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:user:update"))
    assert event.data == {"before": {"active": True}, "after": {"active": False}}

    with unit_of_work() as s:
        users.set_active(s, actor=None, user_id=user_id, active=True)
    session.expire_all()
    user = session.get(User, user_id)
    assert user.active and user.session_version == 3
    assert users.load_session_user(session, session_id) is None  # the old session stays ended
    assert users.load_session_user(session, user.get_id()).id == user_id


def test_load_session_user_refuses_malformed_or_unknown_ids(session, village_id):
    user_id = create(session)
    for session_id in [
        "",
        "abc",
        f"{user_id}",
        f"{user_id}:",
        ":1",
        f"{user_id}:x",
        "999:1",
        f"{user_id}:1:1",
        f"-{user_id}:1",
        f"{user_id}:2",
        f"{user_id}:0",
    ]:
        assert users.load_session_user(session, session_id) is None, session_id
    assert users.load_session_user(session, f"{user_id}:1").id == user_id


# --- API tokens --------------------------------------------------------------------------------------


def test_api_token_is_shown_once_and_only_its_digest_stored(session, village_id):
    user_id = create(session)
    with unit_of_work() as s:
        token = users.create_api_token(s, actor=None, user=users.get(s, user_id))
    assert len(token) >= 40
    (row,) = session.scalars(select(ApiToken)).all()
    assert row.user_id == user_id and row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.digest and row.revoked_at is None
    event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:api-token:create"))
    assert event.subject_id == row.id and token not in str(event.data) and row.digest not in str(event.data)
    assert users.user_for_token(session, token).id == user_id

    with unit_of_work() as s:
        second = users.create_api_token(s, actor=None, user=users.get(s, user_id))
    assert second != token and users.user_for_token(session, second).id == user_id


def test_user_for_token_refuses_unknown_revoked_and_inactive(session, village_id):
    user_id = create(session)
    with unit_of_work() as s:
        kept = users.create_api_token(s, actor=None, user=users.get(s, user_id))
        revoked = users.create_api_token(s, actor=None, user=users.get(s, user_id))
    assert users.user_for_token(session, "not-a-token") is None
    assert (
        users.user_for_token(session, hashlib.sha256(kept.encode()).hexdigest()) is None
    )  # the digest is no token

    with unit_of_work() as s:
        row = s.scalar(
            select(ApiToken).where(ApiToken.digest == hashlib.sha256(revoked.encode()).hexdigest())
        )
        row.revoked_at = utcnow()
    session.expire_all()
    assert users.user_for_token(session, revoked) is None
    assert users.user_for_token(session, kept).id == user_id

    with unit_of_work() as s:
        users.set_active(s, actor=None, user_id=user_id, active=False)
    session.expire_all()
    assert users.user_for_token(session, kept) is None


def test_tokens_of_two_users_are_told_apart(session, village_id):
    first, second = make_user("one", Role.ADMIN, "a"), make_user("two", Role.SUPERVISOR, "a")
    with unit_of_work() as s:
        one = users.create_api_token(s, actor=None, user=users.get(s, first))
        two = users.create_api_token(s, actor=None, user=users.get(s, second))
    assert users.user_for_token(session, one).username == "one"
    assert users.user_for_token(session, two).username == "two"
