"""Concurrent redemptions through gunicorn (4 worker processes × 2 threads) and the redeem API, from 8 client
processes, on SQLite (WAL, BEGIN IMMEDIATE, busy timeout) and PostgreSQL.

Balance 1000 points, price 7: with stock 100 exactly 100 redemptions succeed (the stock runs out first);
with stock 10,000 exactly 142 succeed and the balance ends at 6 (the points run out). Every other answer is
a declared refusal (409 out_of_stock / insufficient_points); no 5xx and no "database is locked" reaches a
client; afterwards the books verify.

How these tests were shown to fail against a broken guard (2026-11-22, both changes reverted after):
1. In lovemart/services/points.py the balance was read, checked in Python and written back as
   `<read value> - points` (no conditional UPDATE), with the per-book lock removed. On PostgreSQL the run
   failed: requests hung past the clients' 60 s timeout and gunicorn had to be killed at teardown. On SQLite
   it still passed, because BEGIN IMMEDIATE serialises the whole transaction — which is why both run.
2. Additionally lovemart/db.py began plain BEGIN (deferred) and skipped the writer queue: SQLite then failed
   too, with requests timing out behind the read-to-write lock upgrade.
"""

import pytest

from tests.figures import record
from tests.load.clients import hammer, tally
from tests.load.conftest import SOAK, books

pytestmark = pytest.mark.load

PROCESSES = 8
ATTEMPTS = 500 if SOAK else 40
ROUNDS = 10 if SOAK else 1


#: (stock, redemptions that succeed, balance after) with balance 1000 and price 7 (the module's docstring)
CASES = [(100, 100, 300), (10_000, 142, 6)]
BALANCE, PRICE = 1000, 7


def race(*servers, stock: int, expected: int, balance_after: int, label: str, round_: int = 0) -> None:
    """The race against one server or several over one database, and its exact outcome."""
    answers = hammer(*servers, processes=PROCESSES, attempts=ATTEMPTS, round_=round_)
    figures = tally(answers)
    record(label, figures)
    assert figures["5xx"] == 0, answers
    assert figures["201"] == expected
    assert set(figures["refusals"]) <= {"out_of_stock", "insufficient_points"}
    assert not any("locked" in code for _, code in answers)
    found = books(servers[0])
    assert found["problems"] == []
    assert (found["balance"], found["redemptions"]) == (balance_after, expected)
    assert found["stock"] == stock - expected


@pytest.mark.parametrize(("stock", "expected", "balance_after"), CASES)
def test_exactly_what_the_books_allow_succeeds(serve, stock, expected, balance_after):
    for round_ in range(ROUNDS):
        served = serve(balance=BALANCE, price=PRICE, stock=stock)
        label = f"redeem race {served.kind} stock {stock} round {round_ + 1}"
        race(served, stock=stock, expected=expected, balance_after=balance_after, label=label, round_=round_)
        served.stop()
