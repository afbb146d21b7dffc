"""Clients for the served app: OS processes, each with its own keep-alive connection, sending redemptions
through the real HTTP stack and recording every answer (status and error code or receipt)."""

import http.client
import json
import multiprocessing
import threading
from collections import Counter


def redeem(connection, served, key: str, quantity: int = 1) -> tuple[int, str]:
    body = json.dumps(
        {
            "card_number": served.card_number,
            "lines": [{"product_id": served.product_id, "quantity": quantity}],
        }
    )
    headers = {
        "Authorization": f"Bearer {served.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    connection.request("POST", "/api/v1/redemptions/", body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read().decode()
    try:
        data = json.loads(payload)
    except ValueError:
        return response.status, payload[:80]
    if response.status == 201:
        return 201, data["receipt_no"]
    return response.status, data.get("error", {}).get("code", payload[:80])


def _attempts(served, prefix: str, count: int) -> list[tuple[int, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    return [redeem(connection, served, f"{prefix}-{n}") for n in range(count)]


def hammer(*servers, processes: int, attempts: int, round_: int = 0) -> list[tuple[int, str]]:
    """`processes` × `attempts` redemptions of one unit each, every one with its own key; with several
    servers (over one database) the processes take turns: process p sends to server p mod n."""
    endpoints = [served.endpoint for served in servers]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(
            _attempts,
            [(endpoints[p % len(endpoints)], f"r{round_}-p{p}", attempts) for p in range(processes)],
        )
    return [answer for part in parts for answer in part]


def _same_key_at_once(endpoints, key: str, copies: int, quantity: int) -> list[tuple[int, str]]:
    """The copies of one key released together, copy i to server i mod n."""
    barrier, answers = threading.Barrier(copies), [None] * copies

    def send(index):
        served = endpoints[index % len(endpoints)]
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        barrier.wait()
        answers[index] = redeem(connection, served, key, quantity)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _keys(endpoints, keys: list[str], copies: int, quantity: int) -> list[tuple[str, list]]:
    return [(key, _same_key_at_once(endpoints, key, copies, quantity)) for key in keys]


def same_keys(*servers, keys: int, copies: int, processes: int, quantity: int = 1) -> dict[str, list]:
    """Each key sent `copies` times at once (threads released together), keys spread over processes; with
    several servers the copies of each key are split between them."""
    names = [f"idem-{n}" for n in range(keys)]
    chunks = [names[p::processes] for p in range(processes)]
    endpoints = [served.endpoint for served in servers]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(_keys, [(endpoints, chunk, copies, quantity) for chunk in chunks])
    return {key: answers for part in parts for key, answers in part}


def tally(answers) -> dict:
    statuses = Counter(status for status, _ in answers)
    codes = Counter(code for status, code in answers if status != 201)
    return {
        "attempts": len(answers),
        "201": statuses[201],
        "5xx": sum(n for s, n in statuses.items() if s >= 500),
        "refusals": dict(codes),
    }
