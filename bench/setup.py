"""The data a benchmark runs on: a generated county (`lovemart generate-county`) of a given ledger size, kept
under bench/data/ between runs, plus the bench's own users, API token and a card rich enough for 20 s of
redemptions. Everything is written through the CLI and the services, so `lovemart verify` passes."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LOVEMART_BENCH_DATA", ROOT / "bench" / "data"))
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
POSTGRES_URL = os.environ.get(
    "LOVEMART_BENCH_POSTGRES_URL", "postgresql+psycopg://lovemart:lovemart@127.0.0.1:5432/lovemart_bench"
)
RICH = 50_000_000  # the bench card's balance: enough for any run
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account on a throwaway database


@dataclass
class Target:
    kind: str
    entries: int
    url: str
    village_id: int = 0
    card_number: str = ""
    card_token: str = ""
    household_id: int = 0
    statement_household_id: int = 0
    product_id: int = 0
    api_token: str = ""
    admin: str = "bench-admin"
    county: str = "bench-county"
    supervisor: str = "bench-supervisor"


def postgres_reachable() -> bool:
    url = make_url(POSTGRES_URL).set(database="postgres")
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except OperationalError:
        return False


def database_url(kind: str, entries: int) -> str:
    if kind == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA / f'county-{entries}.db'}"
    server = make_url(POSTGRES_URL)
    name = f"{server.database}_{entries}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def prepare(kind: str, entries: int, villages: int) -> Target:
    """The county of `entries` ledger entries, generated on first use; the bench's accounts on top."""
    url = database_url(kind, entries)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    subprocess.run([*FLASK, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    if not _generated(url):
        print(f"generating {entries:,} entries on {kind} (once; kept in {DATA if kind == 'sqlite' else url})")
        subprocess.run(
            [*FLASK, "lovemart", "generate-county", "--entries", str(entries), "--villages", str(villages)],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return _accounts(Target(kind=kind, entries=entries, url=url))


def _generated(url: str) -> bool:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM villages WHERE code = 'cv01'")).scalar()
    engine.dispose()
    return bool(found)


def _accounts(target: Target) -> Target:
    """Users of village cv01 (admin, supervisor) and of the county, an API token, and a rich card."""
    os.environ["DATABASE_URL"] = target.url
    os.environ.setdefault("SECRET_KEY", "bench")
    from lovemart import create_app
    from lovemart.authz import Role
    from lovemart.db import db, unit_of_work
    from lovemart.models import Card, Household, LedgerEntry, Product, User
    from lovemart.services import cards, households, inspections, users, villages
    from lovemart.services.households import HouseholdInput, MemberInput
    from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput
    from lovemart.services.villages import VillageSettings

    app = create_app()
    with app.app_context():
        with unit_of_work() as session:
            village = villages.by_code(session, "cv01")
            target.village_id = village.id
            for username, role in (
                (target.admin, Role.ADMIN),
                (target.supervisor, Role.SUPERVISOR),
                (target.county, Role.COUNTY),
            ):
                if session.scalar(select(User.id).where(User.username == username)) is None:
                    users.create_user(
                        session,
                        actor=None,
                        username=username,
                        password=BENCH_PASSWORD,
                        role=role,
                        village=village,
                    )
            target.api_token = users.create_api_token(
                session, actor=None, user=users.by_username(session, target.admin)
            )
        with unit_of_work() as session:
            rich = session.scalar(
                select(Household).where(Household.village_id == village.id, Household.number == "BENCH")
            )
            if rich is None:
                group = villages.groups(session, village.id)[0]
                rich = households.create(
                    session,
                    actor=None,
                    village_id=village.id,
                    data=HouseholdInput(number="BENCH", group_id=group.id),
                    members=[MemberInput("压测户", "head", "male", 1970)],
                )
                inspections.record(
                    session,
                    actor=None,
                    village_id=village.id,
                    household_id=rich.id,
                    data=InspectionInput(
                        village.created_at.date(), "bench", dict.fromkeys(CHECK_COLUMNS, True)
                    ),
                )
                settings = VillageSettings(village.base_points, village.yuan_per_point, village.card_prefix)
                villages.update_settings(
                    session,
                    actor=None,
                    village_id=village.id,
                    settings=VillageSettings(RICH, village.yuan_per_point, village.card_prefix),
                )
                cards.issue(session, actor=None, village_id=village.id, household_id=rich.id)
                villages.update_settings(session, actor=None, village_id=village.id, settings=settings)
            target.household_id = rich.id
            card = session.scalar(select(Card).where(Card.household_id == rich.id, Card.status == "active"))
            target.card_number = card.number
            # the villager page and the statement: an ordinary household with the median history
            histories = session.execute(
                select(LedgerEntry.account_id, func.count())
                .where(LedgerEntry.village_id == village.id)
                .group_by(LedgerEntry.account_id)
                .order_by(func.count(), LedgerEntry.account_id)
            ).all()
            median_account = histories[len(histories) // 2][0]
            ordinary = session.scalar(
                select(Card).where(Card.account_id == median_account, Card.status == "active")
            )
            target.card_token = ordinary.token
            target.statement_household_id = ordinary.household_id
            target.product_id = session.scalar(
                select(Product.id)
                .where(Product.village_id == village.id)
                .order_by(Product.points_price)
                .limit(1)
            )
        db.engine.dispose()
    return target
