"""Staff sessions kept on the server (`StaffSession`): the browser's cookie carries a random id, the database
its digest. Signing out ends the row, so a copy of the cookie taken before is worthless afterwards;
deactivating a user or changing the password ends all of theirs (besides bumping `session_version`)."""

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import StaffSession


def start(session: Session, *, user_id: int) -> str:
    """A new session for the user; returns the id for the cookie (only its digest is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(user_id=user_id, digest=_digest(token), created_at=utcnow(), last_seen_at=utcnow())
    )
    session.flush()
    return token


def is_active(session: Session, *, user_id: int, token: str | None) -> bool:
    if not token:
        return False
    return (
        session.scalar(
            select(StaffSession.id).where(
                StaffSession.digest == _digest(token),
                StaffSession.user_id == user_id,
                StaffSession.ended_at.is_(None),
            )
        )
        is not None
    )


def end(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(
            update(StaffSession)
            .where(StaffSession.digest == _digest(token), StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all(session: Session, *, user_id: int) -> None:
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
