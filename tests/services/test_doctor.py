"""`lovemart doctor`: a correct deployment passes with no problem and no warning; each fault of a broken one
is named (its topic, in plain words) and makes the command exit non-zero."""

import dataclasses
import os
import socket
import ssl
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from lovemart.services import doctor
from lovemart.services.doctor import PROBLEM, Deployment
from tests.test_factory import UNREACHABLE
from tests.tls import self_signed

ROOT = Path(__file__).resolve().parents[2]
HOST = "lovemart.example.cn"


@pytest.fixture
def deployment(app, tmp_path) -> Deployment:
    """What docs/deploy.md sets up: key from the environment, HTTPS behind one nginx, a fresh backup."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    instance.chmod(0o700)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        database = Path(url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists():
                path.chmod(0o600)
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "lovemart-2026-12-01.dump").write_bytes(b"PGDMP")
    return Deployment(
        instance=instance,
        database_url=url,
        migrations=ROOT / "migrations",
        secret_key="0123456789abcdef" * 4,
        secret_source="environment",
        public_base_url=f"https://{HOST}",
        trusted_proxies=1,
        trusted_hosts=(HOST,),
        ratelimit_storage="memory://" if url.startswith("sqlite") else _redis_url(),
        file_storage="directory" if url.startswith("sqlite") else "database",
        backup_dir=backups,
        backup_max_age=timedelta(hours=26),
        probe_network=False,
    )


def _redis_url() -> str:
    """The test Redis (as for tests/load): a correct PostgreSQL deployment shares its rate limit there."""
    from tests.shared_state import REDIS_URL, redis_or_skip

    redis_or_skip()
    return REDIS_URL


def problems(found) -> list[tuple[str, str]]:
    return [(f.topic, f.message) for f in found if f.level == PROBLEM]


def test_a_correct_deployment_has_no_problem_and_no_warning(deployment):
    found = doctor.examine(deployment)
    assert [f for f in found if f.level != doctor.OK] == []
    topics = {f.topic for f in found}
    assert {"secret key", "public address", "trusted hosts", "proxies", "database", "backups"} <= topics
    assert any(f.topic == "notice signing key" and "not yet created" in f.message for f in found)
    (hosts,) = (f.message for f in found if f.topic == "trusted hosts")
    assert HOST in hosts  # the public address's host is always answered


def _old_backup(d: Deployment) -> Deployment:
    for path in d.backup_dir.iterdir():
        old = time.time() - 30 * 3600
        os.utime(path, (old, old))
    return d


def _empty_backups(d: Deployment) -> Deployment:
    for path in d.backup_dir.iterdir():
        path.unlink()
    return d


def _open_notice_key(d: Deployment) -> Deployment:
    key = d.instance / doctor.NOTICE_KEY
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    return d


def _open_instance(d: Deployment) -> Deployment:
    d.instance.chmod(0o755)
    return d


def _unmigrated(d: Deployment) -> Deployment:
    empty = d.instance / "empty.db"
    empty.touch(mode=0o600)
    return dataclasses.replace(d, database_url=f"sqlite:///{empty}")


def _no_database_file(d: Deployment) -> Deployment:
    return dataclasses.replace(d, database_url=f"sqlite:///{d.instance / 'typo.db'}")


FAULTS = {
    "generated key on a public site": (
        lambda d: dataclasses.replace(d, secret_source="instance"),
        "secret key",
        "set SECRET_KEY",
    ),
    "weak key": (lambda d: dataclasses.replace(d, secret_key="changeme"), "secret key", "too short"),
    "no public address": (
        lambda d: dataclasses.replace(d, public_base_url=None),
        "public address",
        "not set",
    ),
    "plain http": (
        lambda d: dataclasses.replace(d, public_base_url=f"http://{HOST}"),
        "public address",
        "not an https:// address",
    ),
    "no proxies behind nginx": (
        lambda d: dataclasses.replace(d, trusted_proxies=None),
        "proxies",
        "TRUSTED_PROXIES is not set",
    ),
    "absurd proxies": (lambda d: dataclasses.replace(d, trusted_proxies=7), "proxies", "1 to 3"),
    "database unreachable": (
        lambda d: dataclasses.replace(d, database_url=UNREACHABLE),
        "database",
        "cannot connect",
    ),
    "database not migrated": (_unmigrated, "database", "db upgrade"),
    "database file missing": (_no_database_file, "database", "there is no database"),
    "redis unreachable": (
        lambda d: dataclasses.replace(d, ratelimit_storage="redis://127.0.0.1:1/0"),
        "rate limit",
        "does not answer",
    ),
    "no backup folder": (
        lambda d: dataclasses.replace(d, backup_dir=None),
        "backups",
        "BACKUP_DIR is not set",
    ),
    "backup folder missing": (
        lambda d: dataclasses.replace(d, backup_dir=d.instance / "nowhere"),
        "backups",
        "is not a folder",
    ),
    "no backup yet": (_empty_backups, "backups", "there is no backup"),
    "backup too old": (_old_backup, "backups", "30 hours old"),
    "notice key readable by others": (_open_notice_key, "notice signing key", "chmod 600"),
    "instance folder open": (_open_instance, "file modes", "chmod 700"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_named(deployment, fault):
    break_it, topic, words = FAULTS[fault]
    found = problems(doctor.examine(break_it(deployment)))
    assert len(found) == 1 and found[0][0] == topic and words in found[0][1], found


def test_a_database_file_open_to_others_is_named(deployment):
    if not deployment.database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL database has no file of ours")
    Path(deployment.database_url.removeprefix("sqlite:///")).chmod(0o644)
    (found,) = problems(doctor.examine(deployment))
    assert found[0] == "file modes" and "the database" in found[1] and "chmod 600" in found[1]


def test_a_private_notice_key_is_accepted(deployment):
    key = deployment.instance / doctor.NOTICE_KEY
    key.write_bytes(b"k" * 32)
    key.chmod(0o600)
    assert problems(doctor.examine(deployment)) == []


def test_memory_rate_limit_on_postgresql_is_a_warning(deployment):
    found = doctor.examine(
        dataclasses.replace(deployment, ratelimit_storage="memory://", database_url=UNREACHABLE)
    )
    assert any(f.level == doctor.WARNING and f.topic == "rate limit" for f in found)


@pytest.fixture
def self_signed_https(tmp_path):
    """A TLS server on localhost with a self-signed certificate: what a phone's browser refuses."""
    key, cert = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        try:
            connection, _ = listener.accept()
            with context.wrap_socket(connection, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass  # the client hung up on the certificate: what the test wants

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    listener.close()


def test_a_certificate_phones_refuse_is_named(deployment, self_signed_https):
    found = problems(
        doctor.examine(
            dataclasses.replace(
                deployment,
                public_base_url=f"https://localhost:{self_signed_https}",
                trusted_hosts=("localhost",),
                probe_network=True,
            )
        )
    )
    assert len(found) == 1 and found[0][0] == "TLS certificate" and "refuse" in found[0][1], found


def test_the_command_prints_plain_words_and_exits_non_zero_on_a_problem(app, runner, tmp_path, monkeypatch):
    broken = runner.invoke(args=["lovemart", "doctor", "--offline"])
    assert broken.exit_code == 1
    assert "PROBLEM  public address: PUBLIC_BASE_URL is not set" in broken.output
    assert "PROBLEM  backups: BACKUP_DIR is not set" in broken.output

    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "lovemart.dump").write_bytes(b"PGDMP")
    app.config.update(
        SECRET_KEY="f" * 64,
        PUBLIC_BASE_URL=f"https://{HOST}",
        ALLOWED_HOSTS=(HOST,),
        TRUSTED_PROXIES=1,
        BACKUP_DIR=str(backups),
        RATELIMIT_STORAGE_URI="memory://" if app.config["FILE_STORAGE"] == "directory" else _redis_url(),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.instance_path).chmod(0o700)
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite"):
        Path(database.removeprefix("sqlite:///")).chmod(0o600)
    fixed = runner.invoke(args=["lovemart", "doctor", "--offline"])
    assert fixed.exit_code == 0, fixed.output
    assert "PROBLEM" not in fixed.output and "No problem found." in fixed.output
