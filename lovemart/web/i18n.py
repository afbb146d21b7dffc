"""Locale choice: Chinese unless the person picked English (kept in their session)."""

from flask import current_app, has_request_context, session

LOCALE_KEY = "locale"


def select_locale() -> str:
    chosen = session.get(LOCALE_KEY) if has_request_context() else None
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]
