"""A card's QR token never reaches a log, and the instance folder and the database are private to their owner.

The log test serves the app with gunicorn as `make run` does (gunicorn.conf.py, access log on), scans a card
link and a notice link, and reads the log files.
"""

import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import flask
import pytest
from sqlalchemy import text

from lovemart import create_app
from lovemart.db import db, unit_of_work
from lovemart.logs import REDACTED, redact
from tests.conftest import _config, _migrate
from tests.factories import make_village
from tests.points_helpers import carded_household

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: A phone: follows the redirect to /me and keeps the cookie the scan sets.
_PHONE = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())


def _get(url: str) -> int:
    try:
        with _PHONE.open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def card_token(tmp_path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    _migrate(url, tmp_path / "instance")
    app = create_app(_config(url, tmp_path / "instance"))
    with app.app_context():
        village_id = make_village("logs", groups=("一组",))
        _household, token = carded_household(village_id)
        db.engine.dispose()
    return url, token


def test_gunicorn_logs_a_scanned_card_link_without_its_token(tmp_path, card_token):
    url, token = card_token
    port, access_log, error_log = _free_port(), tmp_path / "access.log", tmp_path / "error.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "log-test",
        "PORT": str(port),
        "WORKERS": "1",
        "THREADS": "1",
        "ACCESS_LOG": str(access_log),
    }
    with open(error_log, "wb") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, error_log.read_text()[-3000:]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/c/{token}") == 200  # the scan: 303 to /me, which shows the household
        _get(f"{base}/n/{token}")
        _get(f"{base}/me/notices/{token}/objection")
        _get(f"{base}/%63/{token}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    logged = access_log.read_text()
    assert token not in logged
    assert f"GET /c/{REDACTED} HTTP/1.1" in logged
    assert f"/n/{REDACTED}" in logged and f"/me/notices/{REDACTED}/objection" in logged
    assert logged.count(REDACTED) >= 4
    assert "GET /me" in logged  # the rest of the log is intact
    assert token not in error_log.read_text()


def test_application_logs_are_redacted_too(app, caplog):
    token = "Zx9_tok-en1234567890abcdefghijklmn"
    with caplog.at_level(logging.INFO):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /c/%s HTTP/1.1" 303 -', token)
        app.logger.error("Exception on /n/%s/content.json [GET]", token)
        logging.getLogger("lovemart.anything").warning("referer http://example.cn/c/%s", token)
        logging.getLogger("other").info("%d%% of /counter/ done", 50)
    messages = [record.getMessage() for record in caplog.records]
    assert all(token not in message for message in messages)
    assert messages == [
        f'127.0.0.1 - - "GET /c/{REDACTED} HTTP/1.1" 303 -',
        f"Exception on /n/{REDACTED}/content.json [GET]",
        f"referer http://example.cn/c/{REDACTED}",
        "50% of /counter/ done",
    ]


@pytest.mark.parametrize(
    "line",
    ["GET /static/c/site.css", "GET /counter/", "GET /households/export.xlsx", "GET /county/ranking.xlsx"],
)
def test_other_paths_are_left_alone(line):
    assert redact(line) == line


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_instance_folder_database_and_key_are_created_private(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    previous = os.umask(0o022)  # the usual umask, which gives 0644 files and 0755 folders
    try:
        app = create_app({"TESTING": True})
        with app.app_context():
            with unit_of_work() as session:
                session.execute(text("CREATE TABLE probe (x INTEGER)"))
                session.execute(text("INSERT INTO probe VALUES (1)"))
            db.session.execute(text("SELECT x FROM probe")).all()  # keeps the WAL open
            files = {
                path.name: _mode(path)
                for path in instance.iterdir()
                if path.name.startswith(("lovemart.db", "secret_key"))
            }
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(previous)
    assert _mode(instance) == "0o700"
    assert files == {
        "secret_key": "0o600",
        "lovemart.db": "0o600",
        "lovemart.db-wal": "0o600",
        "lovemart.db-shm": "0o600",
        "lovemart.db-writer.lock": "0o600",
    }
