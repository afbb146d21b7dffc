"""LoveMart as served (`wsgi:app`) plus one empty view, for a third reference: the price of the request
machinery every page pays (sessions, sign-in, the rate limiter, the locale, the village scope, security
headers) before it does any work of its own. The bench serves `bench.app_floor:serve()` in place of
`wsgi:app`, so every page is measured on the same server as the empty view."""

from flask import Flask

from lovemart import create_app
from lovemart.authz import public

EMPTY = "/bench/empty"


def serve() -> Flask:
    app = create_app()
    app.add_url_rule(EMPTY, "bench_empty", public(lambda: "ok"))
    return app
