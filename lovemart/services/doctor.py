"""`lovemart doctor`: a deployment's configuration checked, each finding in plain words.

`examine(deployment)` returns findings; a "problem" is what must be fixed before the site is safe or
correct (the command then exits non-zero), a "warning" what is worth a look, "ok" what was checked and is
right. Everything it needs comes in as a `Deployment` (the CLI builds it from the app's configuration), so
the checks know no Flask and each can be tried on a broken deployment in a test.
"""

import socket
import ssl
import stat
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

OK, WARNING, PROBLEM = "ok", "warning", "problem"
#: Values people paste from examples; a key anyone can guess signs anyone's session.
_WEAK_KEYS = {"dev", "secret", "changeme", "change-me", "test", "lovemart", "make-check"}
_MIN_KEY_LENGTH = 32
_CERTIFICATE_WARNING_DAYS = 14
NOTICE_KEY = "notice_signing_key"


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    message: str


@dataclass(frozen=True)
class Deployment:
    instance: Path
    database_url: str
    migrations: Path
    secret_key: str
    #: "environment", "configuration" or "instance" (generated into instance/secret_key)
    secret_source: str
    public_base_url: str | None
    trusted_proxies: int | None
    trusted_hosts: tuple[str, ...]
    ratelimit_storage: str
    file_storage: str
    backup_dir: Path | None
    backup_max_age: timedelta
    probe_network: bool = True


def examine(deployment: Deployment) -> list[Finding]:
    findings: list[Finding] = []
    for check in (
        _secret_key,
        _public_url,
        _hosts_and_proxies,
        _database,
        _shared_state,
        _backups,
        _notice_key,
        _file_modes,
    ):
        findings.extend(check(deployment))
    return findings


def _secret_key(d: Deployment) -> list[Finding]:
    topic = "secret key"
    if d.secret_source == "instance":  # noqa: S105 - the name of a source, not a key
        if d.public_base_url:
            return [
                Finding(
                    PROBLEM, topic, "generated into instance/secret_key on a public site: set SECRET_KEY."
                )
            ]
        return [
            Finding(
                WARNING,
                topic,
                "generated into instance/secret_key: right for one server only; with more than one, set the "
                "same SECRET_KEY in the environment of each.",
            )
        ]
    if d.secret_key.lower() in _WEAK_KEYS or len(d.secret_key) < _MIN_KEY_LENGTH:
        return [
            Finding(
                PROBLEM,
                topic,
                f"SECRET_KEY is too short or a well-known value (at least {_MIN_KEY_LENGTH} random "
                "characters: python3 -c 'import secrets; print(secrets.token_hex(32))').",
            )
        ]
    return [Finding(OK, topic, f"SECRET_KEY comes from the {d.secret_source} and is long enough.")]


def _public_url(d: Deployment) -> list[Finding]:
    topic = "public address"
    if not d.public_base_url:
        return [
            Finding(
                PROBLEM,
                topic,
                "PUBLIC_BASE_URL is not set: card QR codes would print whatever host the administrator uses.",
            )
        ]
    parts = urlsplit(d.public_base_url)
    if parts.scheme != "https" or not parts.hostname:
        return [
            Finding(
                PROBLEM,
                topic,
                f"PUBLIC_BASE_URL {d.public_base_url} is not an https:// address: passwords and session "
                "cookies would cross the network in the clear.",
            )
        ]
    findings = [Finding(OK, topic, f"PUBLIC_BASE_URL is {d.public_base_url} (HTTPS, secure cookies).")]
    if d.probe_network:
        findings.append(_certificate(parts.hostname, parts.port or 443))
    return findings


def _certificate(host: str, port: int) -> Finding:
    """Connect to the public address and check its TLS certificate as a phone's browser would."""
    topic = "TLS certificate"
    context = ssl.create_default_context()
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            certificate = tls.getpeercert()
    except ssl.SSLCertVerificationError as error:
        return Finding(
            PROBLEM,
            topic,
            f"{host}:{port} presents a certificate phones will refuse: {error.verify_message}.",
        )
    except (OSError, ssl.SSLError) as error:
        return Finding(WARNING, topic, f"could not reach {host}:{port} from here to check it ({error}).")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate["notAfter"]), UTC)
    left = expires - datetime.now(UTC)
    if left < timedelta(days=_CERTIFICATE_WARNING_DAYS):
        return Finding(PROBLEM, topic, f"the certificate of {host} expires on {expires:%Y-%m-%d}: renew it.")
    return Finding(OK, topic, f"{host} presents a trusted certificate valid until {expires:%Y-%m-%d}.")


def _hosts_and_proxies(d: Deployment) -> list[Finding]:
    findings = []
    host = urlsplit(d.public_base_url or "").hostname
    # The app answers only these (lovemart.web.security); the public address's host is always one of them.
    answered = tuple(dict.fromkeys((*d.trusted_hosts, *((host,) if host else ()))))
    findings.append(Finding(OK, "trusted hosts", f"only {', '.join(answered)} answered."))
    if d.trusted_proxies is None:
        if d.public_base_url:
            findings.append(
                Finding(
                    PROBLEM,
                    "proxies",
                    "TRUSTED_PROXIES is not set, but gunicorn does not speak TLS, so nginx is in front: "
                    "every villager would share nginx's address in the rate limit and the sign-in "
                    "throttle. Set TRUSTED_PROXIES=1 (one nginx).",
                )
            )
    elif not 1 <= d.trusted_proxies <= 3:
        findings.append(
            Finding(
                PROBLEM, "proxies", f"TRUSTED_PROXIES={d.trusted_proxies}: the number of proxies is 1 to 3."
            )
        )
    else:
        findings.append(
            Finding(
                OK, "proxies", f"the client's address comes from the last {d.trusted_proxies} proxy hop(s)."
            )
        )
    return findings


def _database(d: Deployment) -> list[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    topic = "database"
    url = make_url(d.database_url)
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        # connecting would create an empty file
        return [Finding(PROBLEM, topic, f"there is no database at {url.database}: check DATABASE_URL.")]
    engine = create_engine(d.database_url, connect_args=_connect_timeout(d.database_url))
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return [Finding(PROBLEM, topic, f"cannot connect to {where}: {str(error).splitlines()[0]}")]
    finally:
        engine.dispose()
    heads = set(ScriptDirectory(str(d.migrations)).get_heads())
    if current != heads:
        return [
            Finding(
                PROBLEM,
                topic,
                f"{where} is at migration {', '.join(sorted(current)) or 'none'}, the code needs "
                f"{', '.join(sorted(heads))}: run `flask --app wsgi db upgrade` (docs/deploy.md, Upgrades).",
            )
        ]
    return [Finding(OK, topic, f"{where} is reachable and migrated ({', '.join(sorted(heads))}).")]


def _connect_timeout(url: str) -> dict:
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}


def _shared_state(d: Deployment) -> list[Finding]:
    findings = []
    on_postgres = d.database_url.startswith("postgresql")
    storage = d.ratelimit_storage
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        findings.append(_redis(storage))
    elif on_postgres:
        findings.append(
            Finding(
                WARNING,
                "rate limit",
                f"RATELIMIT_STORAGE_URI is {storage}: each worker of each server counts on its own; with "
                "more than one server use redis://.",
            )
        )
    if on_postgres and d.file_storage != "database":
        findings.append(
            Finding(
                WARNING,
                "photos",
                "FILE_STORAGE is 'directory' on PostgreSQL: a photo is seen only by servers sharing this "
                f"folder ({d.instance / 'photos'}).",
            )
        )
    else:
        findings.append(Finding(OK, "photos", f"photos and roster uploads are kept in the {d.file_storage}."))
    return findings


def _redis(url: str) -> Finding:
    import redis

    where = make_url(url.replace("rediss://", "redis://", 1)).render_as_string(hide_password=True)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as error:
        return Finding(PROBLEM, "rate limit", f"Redis at {where} does not answer: {error}.")
    return Finding(OK, "rate limit", f"kept in Redis at {where}, shared by every server.")


def _backups(d: Deployment) -> list[Finding]:
    topic = "backups"
    if d.backup_dir is None:
        return [
            Finding(PROBLEM, topic, "BACKUP_DIR is not set, so nobody can tell whether backups are made.")
        ]
    if not d.backup_dir.is_dir():
        return [Finding(PROBLEM, topic, f"BACKUP_DIR {d.backup_dir} is not a folder.")]
    files = [path for path in d.backup_dir.iterdir() if path.is_file() and path.stat().st_size > 0]
    if not files:
        return [Finding(PROBLEM, topic, f"there is no backup in {d.backup_dir}.")]
    newest = max(files, key=lambda path: path.stat().st_mtime)
    age = timedelta(seconds=time.time() - newest.stat().st_mtime)
    hours = age.total_seconds() / 3600
    if age > d.backup_max_age:
        return [
            Finding(
                PROBLEM,
                topic,
                f"the newest backup, {newest.name}, is {hours:.0f} hours old (at most "
                f"{d.backup_max_age.total_seconds() / 3600:.0f} expected): is the backup timer running?",
            )
        ]
    return [Finding(OK, topic, f"the newest backup, {newest.name}, is {hours:.1f} hours old.")]


def _notice_key(d: Deployment) -> list[Finding]:
    topic = "notice signing key"
    path = d.instance / NOTICE_KEY
    if not path.exists():
        return [Finding(OK, topic, f"not yet created ({path}).")]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return [Finding(PROBLEM, topic, f"{path} is readable by others (mode {mode:o}): chmod 600 {path}")]
    return [Finding(OK, topic, f"{path} is present and private (mode {mode:o}).")]


def _file_modes(d: Deployment) -> list[Finding]:
    """The instance folder and the SQLite database (with its WAL) open to their owner alone."""
    topic = "file modes"
    wanted = [(d.instance, "the instance folder")]
    url = make_url(d.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database)
        wanted += [
            (database, "the database"),
            *((Path(f"{database}{s}"), "its journal") for s in ("-wal", "-shm")),
        ]
    findings = [
        Finding(
            PROBLEM,
            topic,
            f"{what} {path} is open to others (mode {mode:o}): chmod {700 if path.is_dir() else 600} {path}",
        )
        for path, what in wanted
        if path.exists() and (mode := stat.S_IMODE(path.stat().st_mode)) & 0o077
    ]
    return findings or [Finding(OK, topic, "the instance folder and its files are the owner's alone.")]
