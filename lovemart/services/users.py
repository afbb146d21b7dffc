"""Staff accounts: create, authenticate, change password, activate/deactivate, and API bearer tokens."""

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lovemart.authz import VILLAGE_ROLES, Role
from lovemart.models import ApiToken, Household, User, UserGroup, Village, VillagerGroup
from lovemart.services import audit, grid, sessions
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput, NotFound, UsernameTaken, WrongPassword

MIN_PASSWORD_LENGTH = 8

#: Argon2id with the library's recommended parameters; tests swap in a cheaper one.
hasher = PasswordHasher()


def create_user(
    session: Session,
    *,
    actor,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    village: Village | None = None,
    county_id: int | None = None,
    township_id: int | None = None,
    household_number: str = "",
    group_names=(),
) -> User:
    """A staff account. `household_number` links a village user to the household they live in, so that the
    supervisor sees the points they record for it (`services.signals`). A county (township) officer belongs
    to the county (township) given, or to that of `village`. A grid worker (网格员) needs at least one of the
    village's villager groups, by name (`group_names`); other roles take none."""
    role = _role(role)
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput(_l("用户名不能为空，且不超过 64 个字符。"), field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(username=username)
    _check_password(password)
    if role in VILLAGE_ROLES and village is None:
        raise InvalidInput(_l("该角色必须属于一个村。"), field="village")
    if role is Role.COUNTY:
        if county_id is None and village is None:
            raise InvalidInput(_l("县级用户必须属于一个县。"), field="village")
        county_id = county_id if county_id is not None else village.township.county_id
    if role is Role.TOWNSHIP:
        if township_id is None and village is None:
            raise InvalidInput(_l("乡镇用户必须属于一个乡镇。"), field="village")
        township_id = township_id if township_id is not None else village.township_id
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hasher.hash(password),
        role=role.value,
        village_id=village.id if role in VILLAGE_ROLES else None,
        county_id=county_id if role is Role.COUNTY else None,
        township_id=township_id if role is Role.TOWNSHIP else None,
        household_id=_household_id(session, village, household_number) if role in VILLAGE_ROLES else None,
    )
    group_ids = _group_ids(session, role, village, group_names)
    session.add(user)
    session.flush()
    _link_groups(session, user, group_ids)
    after = {"username": username, "role": role.value}
    if group_ids:
        after["groups"] = _group_names(session, group_ids)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.USER_CREATE,
        subject=user,
        village_id=user.village_id,
        data={"after": after},
    )
    return user


def set_groups(session: Session, *, actor, user_id: int, group_names) -> User:
    """Replace a grid worker's villager groups (by name, of their village). :raise InvalidInput, NotFound:"""
    user = get(session, user_id)
    role = Role(user.role)
    if role is not Role.GRID:
        raise InvalidInput(_l("只有网格员负责村民小组。"), field="groups")
    group_ids = _group_ids(session, role, user.village, group_names)
    before = _group_names(session, grid.group_ids(session, village_id=user.village_id, user_id=user.id))
    session.execute(
        UserGroup.__table__.delete().where(
            UserGroup.user_id == user.id, UserGroup.village_id == user.village_id
        )
    )
    _link_groups(session, user, group_ids)
    session.expire(user, ["groups"])
    after = _group_names(session, group_ids)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.USER_UPDATE,
        subject=user,
        village_id=user.village_id,
        data=audit.changes({"groups": before}, {"groups": after}),
    )
    return user


def parse_group_names(text: str) -> list[str]:
    """Group names typed one a line, or separated by commas (，、, too)."""
    for separator in ("，", "、", ","):
        text = text.replace(separator, "\n")
    return [name.strip() for name in text.splitlines() if name.strip()]


def _group_ids(session: Session, role: Role, village: Village | None, names) -> list[int]:
    names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if role is not Role.GRID:
        if names:
            raise InvalidInput(_l("只有网格员负责村民小组。"), field="groups")
        return []
    if not names:
        raise InvalidInput(_l("网格员至少要负责一个村民小组。"), field="groups")
    found = dict(
        session.execute(
            select(VillagerGroup.name, VillagerGroup.id).where(
                VillagerGroup.village_id == village.id, VillagerGroup.name.in_(names)
            )
        ).all()
    )
    if missing := [n for n in names if n not in found]:
        raise InvalidInput(_l("本村没有名为“%(name)s”的村民小组。", name="、".join(missing)), field="groups")
    return [found[n] for n in names]


def _link_groups(session: Session, user: User, group_ids: list[int]) -> None:
    for group_id in group_ids:
        session.add(UserGroup(user_id=user.id, group_id=group_id, village_id=user.village_id))
    session.flush()


def _group_names(session: Session, group_ids) -> list[str]:
    if not group_ids:
        return []
    rows = session.execute(
        select(VillagerGroup.name)
        .where(VillagerGroup.id.in_(list(group_ids)))
        .order_by(VillagerGroup.position, VillagerGroup.id)
    )
    return list(rows.scalars())


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Unknown names cost a hash too, to hide which exist."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password) or not user.active:
        return None
    return user


def change_password(session: Session, *, user: User, old_password: str, new_password: str) -> User:
    """Sets a new password and ends every other session of the user."""
    if not _verify(user.password_hash, old_password):
        raise WrongPassword()
    _check_password(new_password)
    user.password_hash = hasher.hash(new_password)
    user.session_version += 1
    session.flush()
    audit.record(
        session, actor=user, tag=AuditTag.USER_PASSWORD_CHANGE, subject=user, village_id=user.village_id
    )
    return user


def set_active(session: Session, *, actor, user_id: int, active: bool) -> User:
    user = get(session, user_id)
    before = {"active": user.active}
    user.active = active
    user.session_version += 1
    if not active:
        sessions.end_all(session, user_id=user.id)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.USER_UPDATE,
        subject=user,
        village_id=user.village_id,
        data=audit.changes(before, {"active": active}),
    )
    return user


def get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound()
    return user


def all_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def load_session_user(session: Session, session_id: str) -> User | None:
    """The user behind a Flask-Login id `"<user id>:<session version>"`, if that session is still valid."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def create_api_token(session: Session, *, actor, user: User) -> str:
    """A new bearer token for `user`; the plain token is returned once and only its digest is kept."""
    token = secrets.token_urlsafe(32)
    api_token = ApiToken(user_id=user.id, digest=_digest(token))
    session.add(api_token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.API_TOKEN_CREATE,
        subject=api_token,
        village_id=user.village_id,
        data={"user": user.username},
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(_BY_TOKEN, {"digest": _digest(token)})
    return row if row is not None and row.active else None


#: Built once: every API request runs it.
_BY_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.digest == bindparam("digest"), ApiToken.revoked_at.is_(None))
)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(_l("未知角色：%(role)s") % {"role": role}, field="role") from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(_l("密码至少需要 %(n)d 个字符。") % {"n": MIN_PASSWORD_LENGTH}, field="password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_hex(16))


def _household_id(session: Session, village: Village, number: str) -> int | None:
    number = (number or "").strip()
    if not number:
        return None
    found = session.scalar(
        select(Household.id).where(Household.village_id == village.id, Household.number == number)
    )
    if found is None:
        raise InvalidInput(_l("本村没有户号为 %(number)s 的农户。", number=number), field="household_number")
    return found
