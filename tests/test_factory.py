"""`create_app`: configuration from a dict or the environment, nothing connecting at import or build time,
friendly error pages, and the health check."""

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from lovemart import create_app
from lovemart.config import Config, ConfigurationError, TestConfig, load_environment
from lovemart.db import db

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing"


@pytest.fixture
def clean_environment(monkeypatch):
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "RATELIMIT_STORAGE_URI",
        "PUBLIC_BASE_URL",
        "FILE_STORAGE",
        "LOVEMART_INSTANCE_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_create_app_takes_a_dict_config_over_the_defaults(clean_environment, tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k" * 32, "PAGE_SIZE": 7}
    )
    assert app.config["PAGE_SIZE"] == 7
    assert app.config["SECRET_KEY"] == "k" * 32
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'x.db'}"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["LOGIN_RATE_LIMIT"] == Config.LOGIN_RATE_LIMIT  # untouched defaults stay
    assert app.config.get("WTF_CSRF_ENABLED", True) is True  # CSRF is on unless a test config turns it off
    assert {"auth.login", "households.index", "admin.users_index", "main.health"} <= {
        rule.endpoint for rule in app.url_map.iter_rules()
    }


def test_create_app_takes_a_config_class(clean_environment, tmp_path):
    app = create_app(TestConfig)
    assert app.config["TESTING"] is True and app.config["WTF_CSRF_ENABLED"] is False


def test_building_the_app_never_connects_to_the_database(clean_environment):
    """An unreachable server does not stop the app from being built, or from serving the sign-in page."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE, "SECRET_KEY": "k" * 32, "TESTING": True})
    with app.app_context():
        pool = db.engine.pool
        assert (pool.checkedout(), pool.checkedin()) == (0, 0)  # no connection was ever opened
    response = app.test_client().get("/login")
    assert response.status_code == 200 and "登录" in response.get_data(as_text=True)


def test_importing_the_package_and_wsgi_runs_nothing(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/nothing",
        "SECRET_KEY": "from-the-environment",
    }
    script = (
        "import sys\n"
        "import lovemart\n"
        "assert 'lovemart.db' not in sys.modules, 'database code imported'\n"
        "assert 'flask_sqlalchemy' not in sys.modules, 'extensions imported'\n"
        "import wsgi\n"
        "print(wsgi.app.config['SQLALCHEMY_DATABASE_URI'])\n"
        "print(wsgi.app.config['SECRET_KEY'])\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing",
        "from-the-environment",
    ]


@pytest.mark.parametrize(
    "given, used",
    [
        ("postgres://u:p@db/lovemart", "postgresql+psycopg://u:p@db/lovemart"),
        ("postgresql://u:p@db/lovemart", "postgresql+psycopg://u:p@db/lovemart"),
        ("postgresql+psycopg://u:p@db/lovemart", "postgresql+psycopg://u:p@db/lovemart"),
        ("sqlite:////srv/lovemart.db", "sqlite:////srv/lovemart.db"),
    ],
)
def test_database_url_from_the_environment_uses_psycopg_3(clean_environment, tmp_path, given, used):
    clean_environment.setenv("DATABASE_URL", given)
    app = SimpleNamespace(
        config={"SQLALCHEMY_DATABASE_URI": "sqlite:///other.db"}, instance_path=str(tmp_path)
    )
    load_environment(app)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == used


def test_defaults_are_an_instance_database_and_a_private_per_instance_secret(clean_environment, tmp_path):
    first = SimpleNamespace(config={}, instance_path=str(tmp_path / "one"))
    load_environment(first)
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'one' / 'lovemart.db'}"
    secret_file = tmp_path / "one" / "secret_key"
    assert (
        first.config["SECRET_KEY"] == secret_file.read_text().strip()
        and len(first.config["SECRET_KEY"]) >= 32
    )
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600

    again = SimpleNamespace(config={}, instance_path=str(tmp_path / "one"))
    load_environment(again)
    assert again.config["SECRET_KEY"] == first.config["SECRET_KEY"]  # kept across restarts

    other = SimpleNamespace(config={}, instance_path=str(tmp_path / "two"))
    load_environment(other)
    assert other.config["SECRET_KEY"] != first.config["SECRET_KEY"]  # no two installations share one

    clean_environment.setenv("SECRET_KEY", "operator-chosen")
    chosen = SimpleNamespace(config={}, instance_path=str(tmp_path / "three"))
    load_environment(chosen)
    assert chosen.config["SECRET_KEY"] == "operator-chosen"
    assert not (tmp_path / "three" / "secret_key").exists()


def test_a_public_site_refuses_to_start_with_a_generated_key(clean_environment, tmp_path):
    clean_environment.setenv("PUBLIC_BASE_URL", "https://lovemart.example.cn")
    public = SimpleNamespace(config={}, instance_path=str(tmp_path / "one"))
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set.*same on every server"):
        load_environment(public)
    assert not (tmp_path / "one" / "secret_key").exists()

    clean_environment.setenv("SECRET_KEY", "shared-by-every-server")
    given = SimpleNamespace(config={}, instance_path=str(tmp_path / "one"))
    load_environment(given)
    assert given.config["SECRET_KEY"] == "shared-by-every-server"


def test_gunicorn_is_refused_the_same_way_with_the_message_on_its_log(clean_environment, tmp_path):
    env = {
        **os.environ,
        "PUBLIC_BASE_URL": "https://lovemart.example.cn",
        "LOVEMART_INSTANCE_PATH": str(tmp_path),
    }
    env.pop("SECRET_KEY", None)
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode != 0 and "SECRET_KEY is not set" in started.stderr


@pytest.mark.parametrize(
    ("url", "given", "expected"),
    [
        ("sqlite:///x.db", None, "directory"),
        ("postgresql+psycopg://u:p@h/db", None, "database"),
        ("sqlite:///x.db", "database", "database"),
        ("postgresql+psycopg://u:p@h/db", "directory", "directory"),
    ],
)
def test_files_are_kept_in_the_database_on_postgresql_unless_told(clean_environment, url, given, expected):
    if given:
        clean_environment.setenv("FILE_STORAGE", given)
    app = SimpleNamespace(
        config={"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "k"}, instance_path="/nowhere"
    )
    load_environment(app)
    assert app.config["FILE_STORAGE"] == expected


def test_an_unknown_file_storage_is_refused(clean_environment):
    clean_environment.setenv("FILE_STORAGE", "s3")
    app = SimpleNamespace(
        config={"SQLALCHEMY_DATABASE_URI": "sqlite:///x", "SECRET_KEY": "k"}, instance_path="/x"
    )
    with pytest.raises(ConfigurationError, match="FILE_STORAGE must be"):
        load_environment(app)


def test_each_server_may_have_its_own_instance_folder(clean_environment, tmp_path):
    clean_environment.setenv("LOVEMART_INSTANCE_PATH", str(tmp_path / "server-b"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k" * 32})
    assert app.instance_path == str(tmp_path / "server-b")


def test_error_pages_are_friendly_and_chinese_and_the_health_check_answers(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    text = missing.get_data(as_text=True)
    assert "找不到该页面或记录。" in text and "返回首页" in text and 'lang="zh-CN"' in text

    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405
    assert "不支持该请求方式。" in wrong_method.get_data(as_text=True)

    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == "not_found"

    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_a_database_error_still_gets_the_friendly_500_page(app, login):
    """On PostgreSQL a failed statement aborts the transaction; the error page must not trip over it."""
    from sqlalchemy import text

    from tests.factories import make_two_villages

    def broken():
        db.session.execute(text("SELECT no_such_column FROM no_such_table"))

    app.add_url_rule("/broken-for-test", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with app.app_context():
        make_two_villages()
    client = login("a-admin")  # a signed-in page shows the most: menus, name, village
    response = client.get("/broken-for-test")
    assert response.status_code == 500
    text_ = response.get_data(as_text=True)
    assert "服务器出错了，请稍后再试。" in text_ and "返回首页" in text_
    assert client.get("/households/").status_code == 200  # the next request is fine


def test_https_and_proxies_make_cookies_secure_and_addresses_real(clean_environment, tmp_path):
    clean_environment.setenv("PUBLIC_BASE_URL", "https://lovemart.example.cn")
    clean_environment.setenv("TRUSTED_PROXIES", "1")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k" * 32})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]

    @app.get("/where")
    def where():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    answer = app.test_client().get(
        "/where", headers={"X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https"}
    )
    assert answer.get_data(as_text=True) == "10.1.2.3 https"
