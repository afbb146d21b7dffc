"""Helpers shared by the shop's page tests (goods, donations, stocktakes): the two villages with their users,
a few products, reading refusals off a page, and a fresh unrestricted session."""

import re
from contextlib import contextmanager

from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent
from lovemart.services import donations, inventory
from tests.factories import make_two_villages
from tests.shop_helpers import make_product

READ_ONLY = ("a-supervisor", "a-leader", "county")


@contextmanager
def fresh_session(app):
    """A session of its own, unrestricted, like the CLI (never the one a request restricted)."""
    with app.app_context():
        yield db.session
        db.session.remove()


def shop_villages(app) -> dict:
    """Villages a and b with their users (make_two_villages), rice and soap in a's shop, rice in b's,
    a donor and a fund in each."""
    with app.app_context():
        ids = make_two_villages()
        ids["rice"] = make_product(ids["a"], "大米", 30, stock=4)
        ids["soap"] = make_product(ids["a"], "肥皂", 5, stock=10, zone="洗化区", unit="块")
        ids["b_rice"] = make_product(ids["b"], "大米", 30, stock=7)
        for village in ("a", "b"):
            with unit_of_work() as session:
                ids[f"{village}_donor"] = donations.save_donor(
                    session,
                    actor=None,
                    village_id=ids[village],
                    name=f"{village}村爱心企业",
                    kind="enterprise",
                ).id
                ids[f"{village}_fund"] = donations.create_fund(
                    session, actor=None, village_id=ids[village], name="扶贫局资助", kind="poverty_office"
                ).id
        with unit_of_work() as session:
            ids["grain_zone"] = next(
                z.id for z in inventory.zones(session, village_id=ids["a"]) if z.name == "粮油区"
            )
            ids["b_zone"] = inventory.zones(session, village_id=ids["b"])[0].id
        return ids


def errors(html: str) -> list[str]:
    """The refusals shown on a page: field errors and form-wide or flashed errors."""
    return [e.strip() for e in re.findall(r'class="(?:error|flash flash-error)"[^>]*>([^<]*)<', html)]


def request_key(html: str) -> str:
    match = re.search(r'name="request_key" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="request_key" name="request_key" type="hidden" value="([^"]+)"', html
    )
    assert match, "no request key on the page"
    return match.group(1)


def audit_count(app, tag: str | None = None) -> int:
    with fresh_session(app) as session:
        stmt = select(AuditEvent)
        if tag:
            stmt = stmt.where(AuditEvent.tag == tag)
        return len(session.scalars(stmt).all())


def stock(app, product_id: int) -> int:
    from lovemart.models import Product

    with fresh_session(app) as session:
        return session.get(Product, product_id).stock


def books_balance(app) -> bool:
    with fresh_session(app) as session:
        return inventory.verify(session) == []
