"""`register_blueprints(app)`: every blueprint and its URL prefix in one place, plus the request context."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from lovemart.web import (
        admin,
        audit,
        auth,
        cards,
        counter,
        county,
        donations,
        goods,
        households,
        inspections,
        main,
        notices,
        offline,
        photos,
        points,
        public,
        round,
        rules,
        statements,
        stocktakes,
        walls,
    )
    from lovemart.web.api import register_api
    from lovemart.web.context import register_request_context

    register_request_context(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(households.bp, url_prefix="/households")
    app.register_blueprint(inspections.bp, url_prefix="/inspections")
    app.register_blueprint(cards.bp, url_prefix="/cards")
    app.register_blueprint(photos.bp, url_prefix="/photos")
    app.register_blueprint(points.bp, url_prefix="/points")
    app.register_blueprint(rules.bp, url_prefix="/rules")
    app.register_blueprint(statements.bp, url_prefix="/statements")
    app.register_blueprint(goods.bp, url_prefix="/goods")
    app.register_blueprint(donations.bp, url_prefix="/donations")
    app.register_blueprint(stocktakes.bp, url_prefix="/stocktakes")
    app.register_blueprint(counter.bp, url_prefix="/counter")
    app.register_blueprint(offline.bp, url_prefix="/counter")  # devices, offline page, its worker and sync
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(county.bp, url_prefix="/county")
    app.register_blueprint(audit.bp, url_prefix="/audit")
    app.register_blueprint(round.bp, url_prefix="/round")
    app.register_blueprint(public.bp)  # /c/<token> → /me: the villager's QR pages, no sign-in
    app.register_blueprint(notices.bp)  # /notices (staff), /n/<token> (public), /me/notices, /me/objections
    app.register_blueprint(walls.bp)  # /walls (staff), /wall/<code> (public), /me/wishes
    register_api(app)
