"""Configuration defaults, the test configuration, and the one reader of environment overrides."""

import os
import secrets
from pathlib import Path

from werkzeug.middleware.proxy_fix import ProxyFix


class Config:
    SECRET_KEY: str | None = None  # filled from the environment or the instance folder
    SQLALCHEMY_DATABASE_URI: str | None = None  # defaults to instance/lovemart.db
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # a counter page stays open all day
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_Hans_CN", "en")
    RATELIMIT_STORAGE_URI = "memory://"  # one machine; several servers share redis://… (docs/deploy.md)
    #: Redis unreachable: limit per worker meanwhile instead of failing the villagers' pages.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    CARD_PAGE_RATE_LIMIT = "60 per minute"  # per address, over the QR link and every /me page
    #: How long a scanned card stays open on the phone after the last page viewed (lovemart.web.villager).
    VILLAGER_SESSION_SECONDS = 30 * 60
    PAGE_SIZE = 30
    #: Where villagers' phones reach the site, e.g. "https://lovemart.example.cn", as printed in every card's
    #: QR code. Unset: the host the administrator is using (wrong if that is localhost at the counter PC).
    PUBLIC_BASE_URL: str | None = None
    #: The host names the site answers to, with any port (`lovemart.web.security`); the host of
    #: `PUBLIC_BASE_URL` is always one of them. A request for another host is a 400, so a forged Host header
    #: never reaches a page that prints a link. (Not Flask's own TRUSTED_HOSTS: that one cannot name an IPv6
    #: address such as ::1, and a refused host leaves the request unable to build even its error page.)
    ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    API_TITLE = "LoveMart API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    #: Where photos and roster uploads are kept: "database" (every app server reads them) or "directory"
    #: (the instance folder). Unset: "database" on PostgreSQL, "directory" on SQLite (services/filestore.py).
    FILE_STORAGE: str | None = None
    TRUSTED_PROXIES: int | None = None  # from the environment: the number of reverse proxies in front
    #: Where the backup timer writes (deploy/systemd/lovemart-backup.service); `lovemart doctor` checks that
    #: the newest file there is younger than BACKUP_MAX_AGE_HOURS.
    BACKUP_DIR: str | None = None
    BACKUP_MAX_AGE_HOURS = 26.0


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    WTF_CSRF_ENABLED = False  # tests/web/test_csrf.py proves it is on in production
    LOGIN_RATE_LIMIT = "5 per minute"


class ConfigurationError(RuntimeError):
    """The configuration cannot run safely; the message says what to set."""


def load_environment(app) -> None:
    """Apply environment overrides and fill what must never be a shared default."""
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(url)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        private_folder(Path(app.instance_path))  # SQLite creates the file, not its folder
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'lovemart.db'}"
    if public_url := os.environ.get("PUBLIC_BASE_URL"):
        app.config["PUBLIC_BASE_URL"] = public_url
    app.config["SECRET_KEY_SOURCE"] = "configuration"  # noqa: S105 - where the key came from, for doctor
    if key := os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"], app.config["SECRET_KEY_SOURCE"] = key, "environment"
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"], app.config["SECRET_KEY_SOURCE"] = _generated_secret(app), "instance"
    _load_shared_state(app)
    if hosts := os.environ.get("ALLOWED_HOSTS"):
        app.config["ALLOWED_HOSTS"] = tuple(host.strip() for host in hosts.split(",") if host.strip())
    if (app.config.get("PUBLIC_BASE_URL") or "").startswith("https://"):
        # served over HTTPS: cookies never travel in the clear
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    if proxies := os.environ.get("TRUSTED_PROXIES"):
        # behind N reverse proxies: take the client's address and scheme from their X-Forwarded-* headers
        count = app.config["TRUSTED_PROXIES"] = int(proxies)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    if storage := os.environ.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = storage
    if prefix := os.environ.get("RATELIMIT_KEY_PREFIX"):  # several sites on one Redis
        app.config["RATELIMIT_KEY_PREFIX"] = prefix
    if card_limit := os.environ.get("CARD_PAGE_RATE_LIMIT"):
        app.config["CARD_PAGE_RATE_LIMIT"] = card_limit


def _normalise_db_url(url: str) -> str:
    """Let operators write postgres:// or postgresql:// and still get the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_shared_state(app) -> None:
    """What several app servers must share: where files are kept (the rate limit's storage is above); what
    `lovemart doctor` checks besides: where backups are written."""
    if backups := os.environ.get("BACKUP_DIR"):
        app.config["BACKUP_DIR"] = backups
    if max_age := os.environ.get("BACKUP_MAX_AGE_HOURS"):
        app.config["BACKUP_MAX_AGE_HOURS"] = float(max_age)
    if storage := os.environ.get("FILE_STORAGE"):
        app.config["FILE_STORAGE"] = storage
    if not app.config.get("FILE_STORAGE"):
        on_postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        app.config["FILE_STORAGE"] = "database" if on_postgres else "directory"
    if app.config["FILE_STORAGE"] not in ("database", "directory"):
        raise ConfigurationError(
            f"FILE_STORAGE must be 'database' or 'directory', not {app.config['FILE_STORAGE']!r}."
        )


def _generated_secret(app) -> str:
    """The instance folder's generated key, for one machine only: a public site (PUBLIC_BASE_URL set) may
    run on several servers, which must share one key, so it must be given."""
    if app.config.get("PUBLIC_BASE_URL"):
        raise ConfigurationError(
            "SECRET_KEY is not set. PUBLIC_BASE_URL is set, so this is a public site that may run on more "
            "than one server, and every server must sign sessions with the same key: set SECRET_KEY in the "
            "environment (e.g. in /etc/lovemart/lovemart.env, see docs/deploy.md), the same on every server. "
            "Make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return _instance_secret(Path(app.instance_path))


def _instance_secret(instance: Path) -> str:
    """A per-installation random key kept in the instance folder, so no two sites share one."""
    private_folder(instance)
    path = instance / "secret_key"
    if not path.exists():
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def private_folder(path: Path) -> None:
    """Create the folder (the instance folder: database, key, uploads, photos) readable by its owner only."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
