"""LoveMart (爱心超市积分管理系统): `create_app` builds the Flask application; nothing runs at import."""

import os
from pathlib import Path

from flask import Flask


class LoveMart(Flask):
    """Flask, remembering which hooks and views are plain functions: Flask asks `inspect` whether each is a
    coroutine function every time it calls it (a dozen times for an empty page, issue #20), and the answer
    never changes. Async ones (LoveMart has none) are still wrapped each time, as Flask does."""

    #: Enough for every view, hook and error handler; past it, functions are checked as Flask does.
    SYNC_CACHE_SIZE = 4096

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: set = set()

    def ensure_sync(self, func):
        try:
            if func in self._sync_functions:
                return func
        except TypeError:  # unhashable: Flask's own answer
            return super().ensure_sync(func)
        synced = super().ensure_sync(func)
        if synced is func and len(self._sync_functions) < self.SYNC_CACHE_SIZE:
            self._sync_functions.add(func)
        return synced


def create_app(config: type | dict | None = None) -> Flask:
    app = LoveMart(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
        instance_path=_instance_path(),
    )
    _load_config(app, config)
    _redact_logs()
    _register_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_cli(app)
    return app


def _instance_path() -> str | None:
    """LOVEMART_INSTANCE_PATH: this server's own instance folder (default: instance/ beside the code)."""
    path = os.environ.get("LOVEMART_INSTANCE_PATH")
    return str(Path(path).resolve()) if path else None


def _load_config(app: Flask, config: type | dict | None) -> None:
    from lovemart.config import Config, load_environment

    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)
    load_environment(app)


def _redact_logs() -> None:
    from lovemart import logs

    logs.install()


def _register_extensions(app: Flask) -> None:
    """Database (with SQLite durability settings), migrations, sessions, CSRF, i18n, throttling."""
    from lovemart import (
        models,  # noqa: F401 - the whole metadata, for Alembic
        scope,  # noqa: F401 - installs the village filter on every ORM session
    )
    from lovemart.db import configure_engine, db
    from lovemart.extensions import babel, csrf, limiter, login_manager, migrate
    from lovemart.web.i18n import install_template_translations, select_locale

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_translations(app)
    limiter.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from lovemart.web import register_blueprints
    from lovemart.web.converters import AnyTextConverter, BoundedIntConverter, PlainTextConverter
    from lovemart.web.hooks import run_hooks_only_when_needed
    from lovemart.web.security import register_security_headers

    app.url_map.converters["int"] = BoundedIntConverter  # before any rule is added
    app.url_map.converters["default"] = app.url_map.converters["string"] = PlainTextConverter
    app.url_map.converters["any_text"] = AnyTextConverter
    register_blueprints(app)
    register_security_headers(app)
    run_hooks_only_when_needed(app)


def _register_error_handlers(app: Flask) -> None:
    from lovemart.web.errors import register_error_handlers

    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from lovemart.cli import lovemart_cli

    app.cli.add_command(lovemart_cli)
