"""The database: declarative base with stable constraint names, shared column types, SQLite durability
settings, and `unit_of_work()`, the only place that commits."""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Execution option that marks a connection as the writer of a unit of work (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "lovemart_write"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no zones) and always hands back an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use lovemart.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def configure_engine(engine: Engine) -> None:
    """SQLite only: WAL, synchronous=FULL, foreign keys, a busy timeout, and transactions we begin ourselves.

    Python's sqlite3 driver begins transactions lazily, at the first write, so a read-modify-write can
    interleave with another writer and lose an update (measured on our machines, see DESIGN.md). We take the
    driver's transaction handling away and emit BEGIN IMMEDIATE for units of work, plain BEGIN for reads.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "do_connect")
    def _before_connect(_dialect, _record, _cargs, _cparams):
        if path := _sqlite_file(engine):
            private_file(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any exception.

    Any read transaction already open on the session is ended first, so that the write starts from a fresh
    snapshot and, on SQLite, takes the write lock up front instead of failing to upgrade later.
    """
    session = db.session() if session is None else session
    if session.in_transaction():
        session.rollback()
    with _writer_turn(session.get_bind()):
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """On a SQLite file, wait for the writer before us in a queue instead of in SQLite's busy handler.

    SQLite lets one writer in at a time; the others poll, sleeping longer and longer between tries, so under
    a few concurrent counters some writes wait far longer than the queue ahead of them (tails of seconds).
    Here the threads of a process take turns on a lock, and processes on an advisory lock of a file beside
    the database (`flock`, released by the kernel even if the process dies): a waiter wakes the moment the
    writer before it commits. The busy timeout stays as the fallback for writers outside LoveMart.
    """
    path = _sqlite_file(engine)
    if path is None:
        yield
        return
    lock = _writer_locks.setdefault((os.getpid(), path), _WriterLock(path))
    with lock:
        yield


class _WriterLock:
    """The threads' lock, then the file's: the file is opened per turn, and closing it ends the turn.
    Re-entrant, so that a unit of work opened inside another on the same thread waits for nobody."""

    def __init__(self, path: str):
        self._threads = threading.RLock()
        self._path = f"{path}-writer.lock"
        self._file = None
        self._depth = 0

    def __enter__(self):
        self._threads.acquire()
        if self._depth == 0:
            try:
                descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                self._file = open(descriptor, "a+b")  # noqa: SIM115 - closed when the turn ends
                fcntl.flock(self._file, fcntl.LOCK_EX)
            except BaseException:
                self._close()
                self._threads.release()
                raise
        self._depth += 1

    def __exit__(self, *_exc):
        self._depth -= 1
        if self._depth == 0:
            self._close()
        self._threads.release()

    def _close(self):
        if self._file is not None:
            self._file.close()  # releases the flock
            self._file = None


#: One lock per process and database file (a forked worker opens its own file).
_writer_locks: dict[tuple[int, str], _WriterLock] = {}


def private_file(path: str) -> None:
    """Create the SQLite database file readable by its owner only (0600) before SQLite would create it 0644;
    SQLite gives its -wal and -shm files the mode of the database file."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # there already, or no folder: SQLite reports that itself
        pass


def _sqlite_file(engine: Engine) -> str | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database
