"""Editing the books behind the application's back, as someone who owns the database could: the append-only
triggers are set aside for one statement, so that tests can show `verify` catching what they let through."""

from sqlalchemy import text

from lovemart.db import unit_of_work


def tamper(statement: str, table: str, **params) -> None:
    with unit_of_work() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            session.execute(text(statement), params)
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            return
        triggers = session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
            {"table": table},
        ).all()
        for name, _sql in triggers:
            session.execute(text(f"DROP TRIGGER {name}"))
        session.execute(text(statement), params)
        for _name, sql in triggers:
            session.execute(text(sql))
