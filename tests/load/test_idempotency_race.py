"""Idempotency under concurrency: many keys, each sent 3 times at the same instant through gunicorn; exactly
one redemption per key, all three answers name the same receipt; the same key with a different body is
refused with 422 idempotency_conflict and changes nothing.

Shown to fail against a broken guard (2026-11-22, reverted after): with the idempotency lookup in
lovemart/services/redemptions.py moved before the book lock, copies of one key raced past the lookup on
PostgreSQL and the test failed (answers that were not three identical 201s, and an error at teardown). On
SQLite it still passed, because BEGIN IMMEDIATE serialises whole transactions, which is why it runs on both.
"""

import pytest

from tests.figures import record
from tests.load.clients import same_keys, tally
from tests.load.conftest import SOAK, books

pytestmark = pytest.mark.load

KEYS = 200 if SOAK else 40


BALANCE, PRICE, STOCK = 100_000, 1, 100_000


def each_key_once(*servers, label: str) -> None:
    """The race against one server or several over one database (each key's copies split between them)."""
    first = same_keys(*servers, keys=KEYS, copies=3, processes=8)
    answers = [a for copies in first.values() for a in copies]
    figures = tally(answers)
    record(label, figures)
    assert figures["5xx"] == 0, answers
    for key, copies in first.items():
        assert [status for status, _ in copies] == [201, 201, 201], (key, copies)
        assert len({receipt for _, receipt in copies}) == 1, (key, copies)
    found = books(servers[0])
    assert found["redemptions"] == KEYS and found["problems"] == []

    changed = same_keys(*reversed(servers), keys=KEYS, copies=1, processes=8, quantity=2)
    refused = tally([a for copies in changed.values() for a in copies])
    record(f"{label}, changed body", refused)
    assert refused["refusals"] == {"idempotency_conflict": KEYS} and refused["5xx"] == 0
    assert books(servers[0])["redemptions"] == KEYS


def test_each_key_makes_one_redemption_whoever_sends_it(serve):
    served = serve(balance=BALANCE, price=PRICE, stock=STOCK)
    each_key_once(served, label=f"idempotency {served.kind}")
