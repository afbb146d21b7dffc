"""Fixtures: the app on SQLite and (when reachable) PostgreSQL, a clean migrated database per test,
the session, clients and signed-in clients."""

import os
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from lovemart import create_app
from lovemart.config import TestConfig
from lovemart.db import db
from lovemart.services import users
from tests import figures

POSTGRES_URL = os.environ.get(
    "LOVEMART_TEST_POSTGRES_URL", "postgresql+psycopg://lovemart:lovemart@127.0.0.1:5432/lovemart_test"
)
PASSWORD = "password123"
APPEND_ONLY = (
    "ledger_entries",
    "stock_movements",
    "fund_movements",
    "audit_events",
    "tree_nodes",
    "checkpoints",
    "witness_observations",
)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Argon2 at its recommended cost takes ~50 ms a hash; tests create many users."""
    original = users.hasher
    users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users.hasher = original


def _migrate(url: str, instance: Path) -> None:
    app = create_app({**_config(url, instance)})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _config(url: str, instance: Path) -> dict:
    return {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()} | {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH_FOR_TESTS": str(instance),
    }


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except OperationalError as error:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {str(error).splitlines()[0]}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """A migrated template database: a SQLite file to copy, or the PostgreSQL test database."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        _migrate(f"sqlite:///{template}", instance)
        return {"kind": "sqlite", "template": template, "instance": instance}
    if reason := _postgres_reachable():
        pytest.skip(reason)
    url = _private_postgres_database(request)
    _migrate(url, instance)
    return {"kind": "postgresql", "url": url, "instance": instance}


def _private_postgres_database(request) -> str:
    """A database of this test run's own (dropped at the end), so parallel runs never share tables."""
    server = make_url(POSTGRES_URL)
    name = f"{server.database}_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        drop_database(admin, name)
        admin.dispose()

    request.addfinalizer(drop)
    return server.set(database=name).render_as_string(hide_password=False)


def drop_database(admin, name: str) -> None:
    """Drop a test database and end its connections. An autovacuum worker in it belongs to the superuser and
    cannot be ended by our role: it finishes within moments, so try again a few times."""
    for attempt in range(10):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError as error:
            if "pg_signal_backend" not in str(error) or attempt == 9:
                raise
            time.sleep(0.5)


def _fresh_url(database, tmp_path) -> str:
    if database["kind"] == "sqlite":
        path = tmp_path / "lovemart.db"
        with sqlite3.connect(database["template"]) as source, sqlite3.connect(path) as target:
            source.backup(target)
        return f"sqlite:///{path}"
    engine = create_engine(database["url"])
    with engine.begin() as conn:
        # The database refuses DELETE on the append-only tables (their triggers fire per row); TRUNCATE fires
        # no row trigger. DELETE beats TRUNCATE by far on the other, tiny tables.
        conn.execute(text(f"TRUNCATE {', '.join(APPEND_ONLY)} CASCADE"))
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in APPEND_ONLY:
                conn.execute(table.delete())
    engine.dispose()
    return database["url"]


@pytest.fixture
def app(database, tmp_path):
    app = create_app(_config(_fresh_url(database, tmp_path), tmp_path))
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(app):
    """The app's session inside an app context, unrestricted by village (like the CLI)."""
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(app):
    """`login(username)` → a test client signed in as that user (password `PASSWORD`)."""

    def sign_in(username: str, password: str = PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, f"sign-in as {username} failed"
        return client

    return sign_in


@pytest.fixture
def cached_login(login):
    """`login`, but one signed-in client per user for the whole test (sign-in is rate limited)."""
    clients = {}

    def client_for(username):
        if username not in clients:
            clients[username] = login(username)
        return clients[username]

    return client_for


@pytest.fixture
def query_counter(app):
    """`with query_counter() as statements:` collects the SQL of every statement the app's engine runs
    inside the block (SQLAlchemy's "before_cursor_execute"), to assert that a page's cost is fixed."""
    from contextlib import contextmanager

    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(_conn, _cursor, statement, _parameters, _context, _executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


def _compile_translations() -> None:
    """Compile each catalogue whose .mo is missing or older than its .po, as `make translations` does, so a
    bare `pytest` tests the English pages against the catalogue in the tree rather than failing on a stale
    or absent file. Written beside and renamed into place, so a server reading it never sees half a file."""
    for po in Path(__file__).parent.parent.glob("lovemart/translations/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        partial = mo.with_suffix(".mo.partial")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        partial.replace(mo)


def pytest_configure(config):
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the controller compiles and names the file; workers inherit
        _compile_translations()
        handle, path = tempfile.mkstemp(prefix="lovemart-figures-", suffix=".jsonl")
        os.close(handle)
        os.environ[figures.ENV] = path


def pytest_terminal_summary(terminalreporter):
    if "PYTEST_XDIST_WORKER" in os.environ or figures.ENV not in os.environ:
        return
    path = Path(os.environ[figures.ENV])
    found = figures.lines(path)
    path.unlink(missing_ok=True)
    if found:
        terminalreporter.section("load, crash and fuzz figures")
        for line in found:
            terminalreporter.write_line(line)
