"""Everything `lovemart verify` checks, as one list for tests: empty when the books are true."""

from lovemart.services import inventory, points, redemptions, totals


def problems(session) -> list:
    session.expire_all()
    return [
        *points.verify(session),
        *inventory.verify(session),
        *totals.verify(session),
        *redemptions.verify(session),
    ]
