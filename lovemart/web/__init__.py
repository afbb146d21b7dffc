"""`register_blueprints(app)`: every blueprint and its URL prefix in one place, plus the request context."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from lovemart.web import admin, auth, households, main
    from lovemart.web.api import register_api
    from lovemart.web.context import register_request_context

    register_request_context(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(households.bp, url_prefix="/households")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    register_api(app)
