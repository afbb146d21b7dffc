"""The deployment files of docs/deploy.md: the systemd units and the environment file parse, name files
that exist, and do what they say when run without systemd (ExecStart read from the unit, paths taken to
this checkout); nginx's configuration is well-formed and sets the headers TRUSTED_PROXIES believes."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from lovemart.config import Config
from tests.conftest import _migrate
from tests.tls import self_signed

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
ENV_EXAMPLE = DEPLOY / "lovemart.env.example"
NGINX = DEPLOY / "nginx" / "lovemart.conf"
#: where docs/deploy.md installs things → where they are in this checkout
INSTALLED = {"/srv/lovemart": str(ROOT), "/etc/lovemart/lovemart.env": str(ENV_EXAMPLE)}
SECTIONS = {".service": {"Unit", "Service", "Install"}, ".timer": {"Unit", "Timer", "Install"}}
KEYS = {
    "Unit": {"Description", "Documentation", "After", "Wants", "Requires"},
    "Install": {"WantedBy"},
    "Timer": {"OnCalendar", "RandomizedDelaySec", "Persistent", "Unit"},
    "Service": {
        "Type", "User", "Group", "WorkingDirectory", "EnvironmentFile", "Environment", "ExecStart",
        "ExecReload", "KillMode", "TimeoutStopSec", "Restart", "RestartSec", "StateDirectory",
        "StateDirectoryMode", "UMask", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
        "PrivateDevices", "ReadWritePaths",
    },
}  # fmt: skip


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as {section: [(key, value), …]} (keys may repeat); anything else is an error."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if header := re.fullmatch(r"\[([A-Za-z]+)\]", line):
            current = sections.setdefault(header.group(1), [])
            continue
        key, equals, value = line.partition("=")
        assert current is not None and equals and re.fullmatch(r"[A-Za-z]+", key), f"{path.name}:{number}"
        current.append((key, value.strip()))
    return sections


def values(unit, section: str, key: str) -> list[str]:
    return [value for k, value in unit.get(section, []) if k == key]


def installed(text: str) -> str:
    for where, here in INSTALLED.items():
        text = text.replace(where, here)
    return text


def read_env(path: Path) -> dict[str, str]:
    pairs = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            key, equals, value = line.partition("=")
            assert equals and re.fullmatch(r"[A-Z_]+", key), f"{path.name}:{number}: {line}"
            pairs[key] = value
    return pairs


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_parses_and_names_files_that_exist(path):
    unit = parse_unit(path)
    assert set(unit) <= SECTIONS[path.suffix] and "Unit" in unit, path.name
    for section, pairs in unit.items():
        unknown = {key for key, _ in pairs} - KEYS[section]
        assert not unknown, f"{path.name} [{section}]: {unknown}"
    for target in values(unit, "Timer", "Unit"):
        assert (path.parent / target).is_file(), target
    for key in ("WorkingDirectory", "EnvironmentFile", "ExecStart", "Documentation"):
        for value in values(unit, "Service" if key != "Documentation" else "Unit", key):
            for word in shlex.split(value.removeprefix("file://")):
                if word.startswith(tuple(INSTALLED)):
                    assert Path(installed(word)).exists(), f"{path.name}: {key} names {word}"


def test_the_environment_file_names_only_settings_the_app_reads():
    readers = "".join(
        p.read_text()
        for p in (ROOT / "lovemart/config.py", ROOT / "gunicorn.conf.py", DEPLOY / "bin/lovemart-backup")
    )
    for key in set(read_env(ENV_EXAMPLE)):
        assert any(f"{q}{key}{q}" in readers for q in "\"'") or f"${key}" in readers, key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unit_environment(unit, tmp_path: Path, instance_name: str, **overrides) -> dict[str, str]:
    """The environment systemd would give the unit's command: its EnvironmentFile, then Environment=."""
    env = dict(os.environ)
    for path in values(unit, "Service", "EnvironmentFile"):
        env.update(read_env(Path(installed(path))))
    for assignment in values(unit, "Service", "Environment"):
        for pair in shlex.split(assignment):
            key, _, value = pair.partition("=")
            env[key] = value.replace("%i", instance_name).replace(
                "/var/lib/lovemart", str(tmp_path / "state")
            )
    return {**env, **overrides}


def unit_command(unit, instance_name: str = "") -> tuple[list[str], str]:
    (command,) = values(unit, "Service", "ExecStart")
    (directory,) = values(unit, "Service", "WorkingDirectory")
    return shlex.split(installed(command).replace("%i", instance_name)), installed(directory)


@pytest.fixture
def site(tmp_path) -> dict[str, str]:
    """What a site's database and secrets would be, here: a migrated SQLite file and a random key."""
    database = f"sqlite:///{tmp_path / 'site.db'}"
    _migrate(database, tmp_path / "migrate")
    return {
        "DATABASE_URL": database,
        "SECRET_KEY": os.urandom(32).hex(),
        "RATELIMIT_STORAGE_URI": "memory://",
        "FILE_STORAGE": "directory",
        "HOST": "127.0.0.1",
        "BACKUP_DIR": str(tmp_path / "backups"),
    }


def test_the_app_server_unit_starts_the_app(tmp_path, site):
    unit = parse_unit(DEPLOY / "systemd" / "lovemart@.service")
    port = str(_free_port())
    command, directory = unit_command(unit, port)
    env = unit_environment(unit, tmp_path, port, **site)
    assert env["PORT"] == port and env["LOVEMART_INSTANCE_PATH"] == str(tmp_path / "state" / port)
    (tmp_path / "state" / port).mkdir(parents=True)  # StateDirectory=
    server = subprocess.Popen(
        command,
        cwd=directory,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for(int(port), server)
        host = urllib.parse.urlsplit(env["PUBLIC_BASE_URL"]).hostname
        as_nginx = {
            "Host": host,
            "X-Forwarded-For": "10.9.8.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": host,
        }
        assert _get(int(port), "/healthz", as_nginx)[0] == 200
        status, body = _get(int(port), "/login", as_nginx)
        assert status == 200 and "登录" in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode()[-3000:]) from None
            time.sleep(0.1)
    raise AssertionError("the app server did not start")


def _get(port: int, path: str, headers: dict) -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    found = response.status, response.read().decode("utf-8", "replace")
    connection.close()
    return found


def test_the_settle_unit_settles(tmp_path, site):
    unit = parse_unit(DEPLOY / "systemd" / "lovemart-settle.service")
    command, directory = unit_command(unit)
    env = unit_environment(unit, tmp_path, "", **site)
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Settled 0 notice(s)." in done.stdout, done.stderr


def test_the_backup_unit_writes_a_backup_the_doctor_accepts(app, tmp_path, site):
    from datetime import timedelta

    from lovemart.services import doctor

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (Debian: postgresql-client)")
    unit = parse_unit(DEPLOY / "systemd" / "lovemart-backup.service")
    command, directory = unit_command(unit)
    env = unit_environment(unit, tmp_path, "", **{**site, "DATABASE_URL": url})
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (backup,) = Path(site["BACKUP_DIR"]).iterdir()
    assert backup.name.startswith("lovemart-") and backup.stat().st_size > 0 and ".partial" not in backup.name
    deployment = {"backup_dir": backup.parent, "backup_max_age": timedelta(hours=26)}
    assert doctor._backups(type("D", (), deployment))[0].level == doctor.OK


def nginx_statements(text: str) -> list[str]:
    """The configuration's statements (a directive up to ';', '{' or '}'), failing on unbalanced braces."""
    code = re.sub(r"#[^\n]*", "", text)
    statements, depth, current = [], 0, ""
    for char in code:
        current += char
        if char in ";{}":
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, "a '}' closes nothing"
            statements.append(" ".join(current.split()))
            current = ""
    assert depth == 0 and not current.strip(), f"unterminated: {current.strip()!r}"
    return statements


def test_nginx_is_well_formed_and_sends_what_trusted_proxies_expects():
    statements = nginx_statements(NGINX.read_text())
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert any(s.startswith(f"proxy_set_header {header} ") for s in statements), header
    assert "proxy_set_header Host $host;" in statements
    host = urllib.parse.urlsplit(read_env(ENV_EXAMPLE)["PUBLIC_BASE_URL"]).hostname
    assert f"server_name {host};" in statements
    assert read_env(ENV_EXAMPLE)["TRUSTED_PROXIES"] == "1"  # this nginx is the one proxy
    (body_limit,) = [s for s in statements if s.startswith("client_max_body_size")]
    assert int(re.search(r"(\d+)m", body_limit).group(1)) * 1024 * 1024 > Config.MAX_CONTENT_LENGTH
    assert any(s.startswith("ssl_certificate ") for s in statements)


def test_nginx_accepts_it_when_installed(tmp_path):
    nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed here; the well-formedness test above still ran")
    key, cert = self_signed(tmp_path)
    site = re.sub(r"ssl_certificate_key [^;]+;", f"ssl_certificate_key {key};", NGINX.read_text())
    site = re.sub(r"ssl_certificate [^;]+;", f"ssl_certificate {cert};", site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}} "
        f"http {{ access_log off; include {tmp_path}/site.conf; }}"
    )
    checked = subprocess.run(
        [str(nginx), "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
