"""`flask --app wsgi lovemart …`: thin wrappers over the services, each in one unit of work."""

from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lovemart import demo
from lovemart.authz import Role
from lovemart.db import db, unit_of_work
from lovemart.models import Village
from lovemart.services import (
    backup,
    doctor,
    filestore,
    generator,
    inventory,
    ledger_export,
    notices,
    points,
    redemptions,
    spreadsheets,
    totals,
    users,
    villages,
    witness,
)
from lovemart.services.errors import DomainError, ImportRejected
from lovemart.services.villages import VillageSettings

lovemart_cli = AppGroup("lovemart", help="LoveMart administration commands.")


def _fail(error: DomainError):
    raise click.ClickException(error.message)


@lovemart_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no village yet.")
@click.option(
    "--scale",
    type=click.FloatRange(0.05, 1.0),
    default=1.0,
    show_default=True,
    help="Thin the everyday events (tests); every kind of event still happens.",
)
def demo_command(if_empty: bool, scale: float) -> None:
    """Load the demo county (宜川县: 啊道村 and four more villages with their last twelve months) and one
    account per role."""
    with unit_of_work() as session:
        if if_empty and session.scalar(select(Village.id).limit(1)) is not None:
            click.echo("Database already has data; demo not loaded.")
            return
        accounts = demo.load(session, scale=scale, progress=click.echo)
        tour = demo.tour_card(session)
    click.echo(f"Demo data ready. Accounts (password: {demo.DEMO_PASSWORD}):")
    for username, role, village in accounts:
        click.echo(f"  {username:<14} {role:<8} {village}")
    if tour:
        household, number, token = tour
        click.echo(f"Tour: 啊道村 {household}户, card {number}; on a phone open /c/{token}")


@lovemart_cli.command("create-village")
@click.argument("code")
@click.option("--name", required=True, help="Village name, e.g. 啊道村.")
@click.option("--township", required=True)
@click.option("--county-code", required=True)
@click.option("--county-name", required=True)
@click.option("--group", "groups", multiple=True, required=True, help="A villager group; repeat for each.")
@click.option("--base-points", type=int, default=100, show_default=True)
@click.option("--yuan-per-point", type=int, default=3, show_default=True)
@click.option("--card-prefix", default="")
def create_village_command(
    code, name, township, county_code, county_name, groups, base_points, yuan_per_point, card_prefix
):
    """Create a village with its groups (and its county and township on first use)."""
    try:
        with unit_of_work() as session:
            village = villages.create_village(
                session,
                actor=None,
                county_code=county_code,
                county_name=county_name,
                township_name=township,
                code=code,
                name=name,
                groups=list(groups),
                settings=VillageSettings(base_points, yuan_per_point, card_prefix),
            )
            click.echo(f"Created village {village.code} ({village.name}) with {len(groups)} groups.")
    except DomainError as error:
        _fail(error)


@lovemart_cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option(
    "--village",
    "village_code",
    help="Village code (for a county or township user: any village of the county or township).",
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@click.option("--groups", default="", help="Grid workers (grid): their villager groups, comma-separated.")
def create_user_command(username, role, village_code, password, display_name, groups):
    """Create a staff account."""
    try:
        with unit_of_work() as session:
            village = villages.by_code(session, village_code) if village_code else None
            user = users.create_user(
                session,
                actor=None,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                village=village,
                group_names=users.parse_group_names(groups),
            )
            click.echo(f"Created {user.role} {user.username}.")
    except DomainError as error:
        _fail(error)


@lovemart_cli.command("verify")
def verify_command():
    """Recompute every balance, stock level and village hash chain; exit 1 naming what disagrees."""
    with unit_of_work() as session:
        ledger = points.verify(session)
        stock = inventory.verify(session)
        monthly = totals.verify(session)
        broken = redemptions.verify(session)
    if not ledger and not stock and not monthly and not broken:
        click.echo(
            "OK: balances equal their entries, stock levels their movements, monthly totals their books, "
            "every redemption is whole, and every chain is intact."
        )
        return
    for problem in ledger:
        where = f"entry {problem.entry_id}" if problem.entry_id else f"account {problem.account_id or '-'}"
        click.echo(f"village {problem.village_id}, {where}: {problem.what}", err=True)
    for problem in stock:
        click.echo(f"village {problem.village_id}, product {problem.product_id}: {problem.what}", err=True)
    for problem in monthly:
        click.echo(f"village {problem.village_id}, month {problem.month:%Y-%m}: {problem.what}", err=True)
    for problem in broken:
        click.echo(f"village {problem.village_id}, redemption {problem.receipt_no}: {problem.what}", err=True)
    raise SystemExit(1)


@lovemart_cli.command("witness")
def witness_command():
    """The county's witness: check every village's current ledger tree against the last one it accepted;
    exit 1 naming the villages whose books were rewritten."""
    with unit_of_work() as session:
        seen = witness.poll(session)
        found = witness.alarms(session, [v.id for v in session.scalars(select(Village))])
    click.echo(f"Checked {len(seen)} new tree heads.")
    if not found:
        click.echo("OK: every village's books extend what the witness saw before.")
        return
    for alarm in found:
        click.echo(
            f"FORK {alarm.village}: the tree at {alarm.seen_size} entries does not extend the "
            f"{alarm.accepted_size} entries witnessed before",
            err=True,
        )
    raise SystemExit(1)


@lovemart_cli.command("export-ledger")
@click.argument("village_code")
@click.argument("year", type=int)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_ledger_command(village_code: str, year: int, path: Path):
    """Write a village's points ledger (积分台账) of YEAR to PATH as .xlsx, with a progress bar."""
    part = path.with_name(path.name + ".part")  # PATH appears only once complete
    session = db.session  # a read, not a unit of work: the counters' writes are not held up meanwhile
    try:
        with part.open("wb") as target:
            village_id = villages.by_code(session, village_code).id
            with click.progressbar(length=1, label="积分台账") as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = max(total, 1)
                    bar.update(done - bar.pos)

                written = ledger_export.export_year(
                    session, village_id=village_id, year=year, target=target, progress=progress
                )
    except DomainError as error:
        part.unlink(missing_ok=True)
        _fail(error)
    part.replace(path)
    click.echo(f"{written} entries written to {path}")


@lovemart_cli.command("import-households")
@click.argument("village_code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_households_command(village_code: str, path: Path):
    """Import a household roster (花名册, .xlsx or .csv) into a village, all or nothing, with a progress bar:
    the way to load a whole county's roster, beyond what the web page takes at once."""
    try:
        with unit_of_work() as session:
            village_id = villages.by_code(session, village_code).id
            with click.progressbar(length=1, label="花名册") as bar:

                def progress(done: int, total: int) -> None:
                    bar.length = total
                    bar.update(done - bar.pos)

                created = spreadsheets.import_roster(
                    session,
                    actor=None,
                    village_id=village_id,
                    filename=path.name,
                    data=path.read_bytes(),
                    max_rows=spreadsheets.LARGE_ROSTER_ROWS,
                    progress=progress,
                )
    except ImportRejected as error:
        for problem in error.problems[:50]:
            click.echo(
                f"  第 {problem.line} 行：{problem.message}" if problem.line else f"  {problem.message}",
                err=True,
            )
        _fail(error)
    except DomainError as error:
        _fail(error)
    click.echo(f"{len(created)} households imported into {village_code}")


@lovemart_cli.command("settle-notices")
def settle_notices_command():
    """公示后入账: credit the held awards of every notice whose objection period is over (for cron)."""
    with unit_of_work() as session:
        settled = notices.settle_due(session)
        names = [f"village {n.village_id} {n.period_start:%Y-%m}" for n in settled]
    click.echo(f"Settled {len(names)} notice(s)." + "".join(f"\n  {name}" for name in names))


@lovemart_cli.command("copy-files")
def copy_files_command():
    """Copy the photos and roster uploads of the instance folder into the database (FILE_STORAGE=database
    on a server that kept them in instance/ before); files already there are skipped, so it can run again."""
    instance = Path(current_app.instance_path)
    for kind in filestore.KINDS:
        with unit_of_work() as session:
            copied = filestore.copy_all(
                filestore.open_store(filestore.DIRECTORY, kind, session=session, instance=instance),
                filestore.open_store(filestore.DATABASE, kind, session=session, instance=instance),
            )
        click.echo(f"{kind}: {copied} file(s) copied into the database.")


@lovemart_cli.command("doctor")
@click.option("--offline", is_flag=True, help="Skip connecting to the public address (its TLS certificate).")
def doctor_command(offline: bool):
    """Check this deployment's configuration; print what is wrong in plain words; exit 1 on a problem."""
    config = current_app.config
    findings = doctor.examine(
        doctor.Deployment(
            instance=Path(current_app.instance_path),
            database_url=db.engine.url.render_as_string(hide_password=False),
            migrations=Path(current_app.root_path).parent / "migrations",
            secret_key=config["SECRET_KEY"],
            secret_source=config["SECRET_KEY_SOURCE"],
            public_base_url=config.get("PUBLIC_BASE_URL"),
            trusted_proxies=config.get("TRUSTED_PROXIES"),
            trusted_hosts=tuple(config["ALLOWED_HOSTS"]),
            ratelimit_storage=config["RATELIMIT_STORAGE_URI"],
            file_storage=config["FILE_STORAGE"],
            backup_dir=Path(config["BACKUP_DIR"]) if config.get("BACKUP_DIR") else None,
            backup_max_age=timedelta(hours=config["BACKUP_MAX_AGE_HOURS"]),
            probe_network=not offline,
        )
    )
    db.engine.dispose()
    labels = {doctor.OK: "ok     ", doctor.WARNING: "WARNING", doctor.PROBLEM: "PROBLEM"}
    for finding in findings:
        click.echo(f"{labels[finding.level]}  {finding.topic}: {finding.message}")
    problems = sum(finding.level == doctor.PROBLEM for finding in findings)
    if problems:
        click.echo(f"{problems} problem(s) to fix.", err=True)
        raise SystemExit(1)
    click.echo("No problem found.")


@lovemart_cli.command("api-token")
@click.argument("username")
def api_token_command(username):
    """Print a new bearer token for the JSON API (shown once; only its digest is stored)."""
    try:
        with unit_of_work() as session:
            user = users.by_username(session, username)
            token = users.create_api_token(session, actor=None, user=user)
    except DomainError as error:
        _fail(error)
    click.echo(token)


@lovemart_cli.command("generate-county")
@click.option(
    "--villages", "village_count", default=generator.VILLAGES, show_default=True, type=click.IntRange(1)
)
@click.option("--households", default=154, show_default=True, type=click.IntRange(1), help="per village")
@click.option(
    "--entries",
    default=100_000,
    show_default=True,
    type=click.IntRange(1),
    help="ledger entries over the county, base entries included",
)
@click.option("--years", default=3, show_default=True, type=click.IntRange(1))
@click.option("--wishes", default=12, show_default=True, type=click.IntRange(0), help="per village")
@click.option("--prefix", default="cv", show_default=True, help="village codes are PREFIX01, PREFIX02, …")
def generate_county_command(village_count, households, entries, years, wishes, prefix):
    """Add a county-sized data set for benchmarks: villages, households, cards, goods, years of books."""
    plan = generator.CountyPlan(
        villages=village_count,
        households=households,
        entries=entries,
        years=years,
        wishes=wishes,
        code_prefix=prefix,
    )
    total = sum(plan.entries_of(i) for i in range(plan.villages))
    with click.progressbar(length=total, label=f"{plan.villages} villages, {total:,} ledger entries") as bar:
        for index in range(plan.villages):
            try:
                with unit_of_work() as session:
                    generator.generate_village(session, plan, index, bar.update)
            except DomainError as error:
                _fail(error)
    click.echo("Done. Check the books with: flask --app wsgi lovemart verify")


@lovemart_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path):
    """Copy the live SQLite database to PATH (online backup API) and check the copy."""
    database = _sqlite_database()
    found = backup.backup(database, path)
    _report(found, f"Backup written to {path} and checked: integrity ok, books verify.")


@lovemart_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the server is stopped, the database may be replaced.")
def restore_command(path: Path, yes: bool):
    """Replace the SQLite database with the checked backup at PATH. Stop the server first."""
    database = _sqlite_database()
    if not yes:
        click.confirm(f"Replace {database} with {path}? The server must be stopped", abort=True)
    found = backup.restore(path, database)
    _report(found, f"Restored {database} from {path}: integrity ok, books verify.")


def _sqlite_database() -> Path:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        click.echo(
            "This database is PostgreSQL: back it up with pg_dump -Fc and restore with pg_restore "
            "(see README, Backup and restore).",
            err=True,
        )
        raise SystemExit(2)
    db.engine.dispose()  # no connection of ours holds a lock while the file is copied
    return Path(url.database)


def _report(found, success: str) -> None:
    if found.ok:
        click.echo(success)
        return
    click.echo(f"integrity_check: {found.integrity}", err=True)
    for problem in found.problems:
        click.echo(problem, err=True)
    raise SystemExit(1)
