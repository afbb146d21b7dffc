"""Sign-in throttling kept in the database, so that it holds across every gunicorn worker (an in-memory
limit is per process). Failures are counted over `WINDOW` in three ways, as OWASP's Authentication Cheat
Sheet advises, so that guessing is slow while nobody can lock a user out from elsewhere:

- per username and address: after `PAIR_LIMIT` wrong passwords for one user from one address, that address
  may not try that user again until the oldest failure leaves the window (the right password does not help
  meanwhile). The real user at another address is not affected.
- per address: after `ADDRESS_LIMIT` failures from one address, whatever the usernames, it may try no one.
- per username, from every address together: after `USER_LIMIT` failures (only many addresses together
  reach it, each one being held at `PAIR_LIMIT`), the user's sign-in goes at a slow pace: one attempt per
  `PACE` for everyone, not a lockout, so the real user still gets in by trying again a little later.

A refused attempt is not counted (it tests no password). A successful sign-in clears the failures of its own
username and address; the user's overall count stays, since a guess from elsewhere is still a guess."""

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import LoginFailure

WINDOW = timedelta(minutes=15)
PAIR_LIMIT = 5
ADDRESS_LIMIT = 20
USER_LIMIT = 30
PACE = timedelta(minutes=1)


class Wait(StrEnum):
    """Why an attempt is refused: until the window has passed, or until the user's pace allows one."""

    WINDOW = "window"
    PACE = "pace"


def blocked(session: Session, *, username: str, address: str, now: datetime | None = None) -> Wait | None:
    now = now or utcnow()
    user, pair, where = _user(username), _pair(username, address), _address(address)
    counts = {
        key: (count, last)
        for key, count, last in session.execute(
            select(LoginFailure.key, func.count(), func.max(LoginFailure.created_at))
            .where(LoginFailure.key.in_([user, pair, where]), LoginFailure.created_at >= now - WINDOW)
            .group_by(LoginFailure.key)
        )
    }
    if counts.get(pair, (0,))[0] >= PAIR_LIMIT or counts.get(where, (0,))[0] >= ADDRESS_LIMIT:
        return Wait.WINDOW
    failures, last = counts.get(user, (0, None))
    if failures >= USER_LIMIT and now - _aware(last, now) < PACE:
        return Wait.PACE
    return None


def failed(session: Session, *, username: str, address: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - WINDOW))
    session.add_all(
        [
            LoginFailure(key=key, created_at=now)
            for key in (_user(username), _pair(username, address), _address(address))
        ]
    )
    session.flush()


def succeeded(session: Session, *, username: str, address: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == _pair(username, address)))


def _aware(moment: datetime, now: datetime) -> datetime:
    """A MAX() over a UTC column comes back naive on SQLite."""
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment


def _name(username: str) -> str:
    return username.strip().lower()[:100]


def _user(username: str) -> str:
    return f"user:{_name(username)}"


def _pair(username: str, address: str) -> str:
    return f"pair:{_name(username)}@{address[:50]}"


def _address(address: str) -> str:
    return f"ip:{address[:150]}"
