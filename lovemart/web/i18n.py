"""Locale choice: Chinese unless the person picked English (kept in their session). And the templates'
`_()` / `gettext()`, bound to the page's translations once instead of once per string."""

from flask import Flask, current_app, has_request_context, session
from flask_babel import get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

LOCALE_KEY = "locale"


def select_locale() -> str:
    chosen = session.get(LOCALE_KEY) if has_request_context() else None
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def install_template_translations(app: Flask) -> None:
    """Every rendered page gets translation functions bound to its catalogue, looked up once as the page
    starts. Flask-Babel's own (which stay in the environment's globals, for templates imported without
    context) resolve the locale and its catalogue again for every string, through three calls each: that
    came to about 50 µs per string, a tenth of the villager page. Same catalogues, same newstyle behaviour
    (always %-formatted, values escaped under autoescape), and a page rendered under `force_locale` is
    translated into the forced locale."""
    app.context_processor(_translation_functions)


def _translation_functions() -> dict:
    translations = get_translations()

    @pass_eval_context
    def gettext(eval_ctx, string: str, **variables) -> str:
        return _format(eval_ctx, translations.ugettext(string), variables)

    return {"_": gettext, "gettext": gettext}


def _format(eval_ctx, text: str, variables: dict) -> str:
    """Newstyle formatting: always %-formatted (so "%%" reads "%"), the values escaped under autoescape.
    A string with no "%" and no values skips it: Markup's % is the slow part."""
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our own catalogue, as jinja's i18n extension trusts it
    return text % variables if variables or "%" in text else text
