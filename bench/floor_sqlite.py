"""The floor for redemptions: the redemption's own transaction in plain sqlite3, no web layer, no ORM.

The same statements the service runs (lock the book, look up card, account and product, advance the
receipt counter, write the receipt, its line, the stock movement and the hash-chained ledger entry, move
the stock and the balance with conditional UPDATEs, advance the month's totals) on a copy of the bench
database, with the same durability: WAL, synchronous=FULL, BEGIN IMMEDIATE, busy timeout. `clients`
processes run it back to back; what they reach together is the physical limit of this work on this disk.
"""

import hashlib
import multiprocessing
import sqlite3
import time
from datetime import UTC, datetime

from bench.load import Result


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, timeout=10)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=10000"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _redeem(db: sqlite3.Connection, ids: dict, key: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    month = now[:7] + "-01"
    db.execute("BEGIN IMMEDIATE")
    try:
        count, head, receipts = db.execute(
            "SELECT entry_count, head_hash, receipt_count FROM ledger_books WHERE village_id = ?",
            (ids["village"],),
        ).fetchone()
        assert db.execute("SELECT id FROM redemptions WHERE idempotency_key = ?", (key,)).fetchone() is None
        db.execute(
            "SELECT id, account_id, status FROM cards WHERE village_id = ? AND number = ?",
            (ids["village"], ids["card_number"]),
        ).fetchone()
        db.execute(
            "SELECT id, balance, status FROM points_accounts WHERE id = ?", (ids["account"],)
        ).fetchone()
        price = db.execute("SELECT points_price FROM products WHERE id = ?", (ids["product"],)).fetchone()[0]
        receipts += 1
        db.execute(
            "UPDATE ledger_books SET receipt_count = ? WHERE village_id = ?", (receipts, ids["village"])
        )
        stock = db.execute(
            "UPDATE products SET stock = stock - 1 WHERE id = ? AND stock >= 1 RETURNING stock",
            (ids["product"],),
        ).fetchone()[0]
        balance = db.execute(
            "UPDATE points_accounts SET balance = balance - ?"
            " WHERE id = ? AND balance >= ? AND status = 'active'"
            " RETURNING balance",
            (price, ids["account"], price),
        ).fetchone()[0]
        redemption = db.execute(
            "INSERT INTO redemptions (village_id, receipt_no, account_id, household_id, card_id,"
            " total_points,"
            " balance_after, status, idempotency_key, request_digest, created_at, cancel_reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'completed', ?, ?, ?, '')",
            (
                ids["village"],
                f"FLOOR-{receipts:08d}",
                ids["account"],
                ids["household"],
                ids["card"],
                price,
                balance,
                key,
                hashlib.sha256(key.encode()).hexdigest(),
                now,
            ),
        ).lastrowid
        db.execute(
            "INSERT INTO redemption_lines (redemption_id, product_id, product_name, unit, quantity,"
            " unit_points,"
            " points) VALUES (?, ?, 'bench', '袋', 1, ?, ?)",
            (redemption, ids["product"], price, price),
        )
        db.execute(
            "INSERT INTO stock_movements (village_id, product_id, kind, quantity, stock_after,"
            " redemption_id, note,"
            " created_at) VALUES (?, ?, 'redemption', -1, ?, ?, '', ?)",
            (ids["village"], ids["product"], stock, redemption, now),
        )
        digest = hashlib.sha256(
            f"{head}\n{ids['village']}{count + 1}{price}{balance}{now}".encode()
        ).hexdigest()
        db.execute(
            "INSERT INTO ledger_entries (seq, account_id, points, balance_after, kind, rule_name, note,"
            " redemption_id, created_at, prev_hash, hash, village_id)"
            " VALUES (?, ?, ?, ?, 'redemption', '', '', ?, ?, ?, ?, ?)",
            (count + 1, ids["account"], -price, balance, redemption, now, head, digest, ids["village"]),
        )
        db.execute(
            "UPDATE ledger_books SET entry_count = ?, head_hash = ? WHERE village_id = ?",
            (count + 1, digest, ids["village"]),
        )
        updated = db.execute(
            "UPDATE village_months SET entry_count = entry_count + 1,"
            " redemption_points = redemption_points - ?,"
            " redemption_count = redemption_count + 1 WHERE village_id = ? AND month = ?",
            (price, ids["village"], month),
        ).rowcount
        if not updated:
            db.execute(
                "INSERT INTO village_months (village_id, month, entry_count, base_points, award_points,"
                " deduction_points, redemption_points, reversal_points, redemption_count, donation_count,"
                " donation_fen) VALUES (?, ?, 1, 0, 0, 0, ?, 0, 1, 0, 0)",
                (ids["village"], month, -price),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _client(path: str, ids: dict, seconds: float, index: int, start_at: float, queue) -> None:
    db = _connect(path)
    latencies, errors, n = [], 0, 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        began = time.perf_counter()
        try:
            _redeem(db, ids, f"floor-{start_at}-{index}-{n}")
        except sqlite3.Error:
            errors += 1
        latencies.append(time.perf_counter() - began)
        n += 1
    queue.put((latencies, errors))


def run(path: str, ids: dict, *, clients: int = 8, seconds: float = 10.0) -> Result:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.3
    workers = [
        context.Process(target=_client, args=(path, ids, seconds, i, start_at, queue)) for i in range(clients)
    ]
    for worker in workers:
        worker.start()
    latencies, errors = [], 0
    for _ in workers:
        part, failed = queue.get()
        latencies.extend(part)
        errors += failed
    for worker in workers:
        worker.join()
    latencies.sort()
    return Result(
        requests=len(latencies) - errors,
        seconds=seconds,
        errors=errors,
        statuses={},
        p50_ms=latencies[len(latencies) // 2] * 1000 if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
    )
