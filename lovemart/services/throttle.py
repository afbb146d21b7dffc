"""Sign-in throttling kept in the database, so that it holds across every gunicorn worker (an in-memory
limit is per process): after `USER_LIMIT` wrong passwords for one username, or `ADDRESS_LIMIT` from one
address, within `WINDOW`, sign-in is refused until the oldest failure leaves the window; the right password
does not help meanwhile. A successful sign-in clears the username's failures."""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import LoginFailure

WINDOW = timedelta(minutes=15)
USER_LIMIT = 5
ADDRESS_LIMIT = 20


def blocked(session: Session, *, username: str, address: str, now: datetime | None = None) -> bool:
    since = (now or utcnow()) - WINDOW
    counts = dict(
        session.execute(
            select(LoginFailure.key, func.count())
            .where(
                LoginFailure.key.in_([_user(username), _address(address)]), LoginFailure.created_at >= since
            )
            .group_by(LoginFailure.key)
        ).all()
    )
    return counts.get(_user(username), 0) >= USER_LIMIT or counts.get(_address(address), 0) >= ADDRESS_LIMIT


def failed(session: Session, *, username: str, address: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < now - WINDOW))
    session.add_all(
        [
            LoginFailure(key=_user(username), created_at=now),
            LoginFailure(key=_address(address), created_at=now),
        ]
    )
    session.flush()


def succeeded(session: Session, *, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == _user(username)))


def _user(username: str) -> str:
    return f"user:{username.strip().lower()[:150]}"


def _address(address: str) -> str:
    return f"ip:{address[:150]}"
