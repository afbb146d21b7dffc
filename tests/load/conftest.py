"""LoveMart served for real, for load and crash tests: a migrated database (a SQLite file in WAL mode, or a
PostgreSQL database of the run's own), one village, a card, a product and an API token, and gunicorn with
several worker processes in front of it, as `make run` starts it (gunicorn.conf.py).

The figures of every run (attempts, successes, refusals by code, 5xx, kills) are printed at the end of the
session. `make soak` runs the full sizes of the issue (LOVEMART_SOAK=1); the default sizes keep `make test`
short while keeping every count exact."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from lovemart import create_app
from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import User
from lovemart.services import cards, users
from tests.conftest import POSTGRES_URL, _config, _migrate, _postgres_reachable, drop_database
from tests.factories import make_user, make_village
from tests.points_helpers import carded_household
from tests.shop_helpers import make_product

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("LOVEMART_SOAK") == "1"


@dataclass(frozen=True)
class Endpoint:
    """What a client process needs to know of the server (picklable)."""

    port: int
    token: str
    card_number: str
    product_id: int


@dataclass
class Served:
    kind: str
    url: str
    port: int
    token: str
    card_number: str
    product_id: int
    village_id: int
    process: subprocess.Popen | None = None
    instance: Path | None = None
    card_token: str = ""
    #: this server's own settings besides the database (tests/load/two_servers.py: Redis, its instance folder)
    env: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.port, self.token, self.card_number, self.product_id)

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "SECRET_KEY": "load-test",
            "PORT": str(self.port),
            "WORKERS": "4",
            "THREADS": "2",
            "ACCESS_LOG": "",
            **self.env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()[-3000:]) from None
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not start")

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, sig)  # master and workers alike
            self.process.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL to master and workers at once: no shutdown, no rollback, as when the power goes."""
        self.stop(signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database(kind: str, tmp_path: Path) -> str:
    """A new, empty database for every server (a soak round starts from fresh books)."""
    if kind == "sqlite":
        number = len(list(tmp_path.glob("served-*.db")))
        return f"sqlite:///{tmp_path / f'served-{number}.db'}"
    if reason := _postgres_reachable():
        pytest.skip(reason)
    server = make_url(POSTGRES_URL)
    name = f"{server.database}_load_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    server = make_url(url)
    admin = create_engine(server.set(database=make_url(POSTGRES_URL).database), isolation_level="AUTOCOMMIT")
    drop_database(admin, server.database)
    admin.dispose()


def seeded(kind: str, url: str, instance: Path, *, balance: int, price: int, stock: int) -> Served:
    """A migrated database with one village, a carded household, a product and the counter's API token;
    the server that would serve it (not started, on a free port)."""
    _migrate(url, instance)
    app = create_app(_config(url, instance))
    with app.app_context():
        village_id = make_village("load", groups=("一组",), base_points=balance)
        household, card_token = carded_household(village_id)
        product_id = make_product(village_id, "挂面", price, stock=stock, unit="把")
        counter = make_user("counter", Role.ADMIN, "load")
        with unit_of_work() as session:
            number = cards.active_card(session, village_id=village_id, household_id=household).number
            token = users.create_api_token(session, actor=None, user=session.get(User, counter))
        db.engine.dispose()
    return Served(
        kind,
        url,
        _free_port(),
        token,
        number,
        product_id,
        village_id,
        instance=instance,
        card_token=card_token,
    )


def another(served: Served, **env) -> Served:
    """A second server over the same database, on its own port, with its own settings."""
    return replace(served, port=_free_port(), process=None, env={**served.env, **env})


@pytest.fixture(params=["sqlite", "postgresql"])
def serve(request, tmp_path):
    """`serve(balance=…, price=…, stock=…)` → a running server over a fresh database with one card."""
    started: list[Served] = []

    def make(*, balance: int, price: int, stock: int) -> Served:
        url = _database(request.param, tmp_path)
        served = seeded(request.param, url, tmp_path / "instance", balance=balance, price=price, stock=stock)
        served.start()
        started.append(served)
        return served

    yield make
    for served in started:
        served.stop()
        _drop(served.url)


def receipts(served: Served) -> set[str]:
    """The receipt numbers of every redemption in the books."""
    engine = create_engine(served.url)
    with engine.connect() as conn:
        found = set(conn.execute(text("SELECT receipt_no FROM redemptions")).scalars())
    engine.dispose()
    return found


def books(served: Served) -> dict:
    """The books after a run, read in-process: balance, stock, redemptions, and what `verify` finds."""
    from sqlalchemy import func, select

    from lovemart.models import PointsAccount, Product, Redemption
    from lovemart.services import inventory as stock_service
    from lovemart.services import points, redemptions, totals

    app = create_app(_config(served.url, served.instance))
    with app.app_context():
        session = db.session
        found = {
            "balance": session.scalar(select(PointsAccount.balance)),
            "stock": session.get(Product, served.product_id).stock,
            "redemptions": session.scalar(select(func.count()).select_from(Redemption)),
            "problems": [p.what for p in points.verify(session)]
            + [p.what for p in stock_service.verify(session)]
            + [p.what for p in totals.verify(session)]
            + [p.what for p in redemptions.verify(session)],
        }
        session.remove()
        db.engine.dispose()
    return found
