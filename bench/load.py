"""Closed-loop load: `clients` processes, each with one keep-alive HTTP connection, send requests back to
back for `seconds` and record every latency. The clients run on the same 2 cores as the server."""

import http.client
import json
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict
    body: bytes | None = None
    #: Redemptions need a fresh Idempotency-Key per request: "{client}-{n}" is filled in.
    unique_header: str | None = None


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict
    #: Every request's latency in seconds, sorted (for `combine`; not in the JSON).
    latencies: list = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
            "statuses": self.statuses,
        }


_TIMEOUT = 30  # seconds a request may take before it counts as failed (status 0)


def _client(port: int, request: Request, seconds: float, index: int, start_at: float, queue) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=_TIMEOUT)
    latencies, statuses, n = [], {}, 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        headers = dict(request.headers)
        if request.unique_header:
            headers[request.unique_header] = f"bench-{start_at}-{index}-{n}"
        began = time.perf_counter()
        try:
            connection.request(request.method, request.path, body=request.body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=_TIMEOUT)
            status = 0
        latencies.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
        n += 1
    queue.put((latencies, statuses))


def run(
    port: int | list[int], request: Request, *, clients: int = 8, seconds: float = 20.0, ok=(200,)
) -> Result:
    """`clients` clients against the server on `port`, or spread over several (client i → port i mod n)."""
    ports = [port] if isinstance(port, int) else list(port)
    queue = multiprocessing.get_context("fork").Queue()
    start_at = time.time() + 0.5
    workers = [
        multiprocessing.get_context("fork").Process(
            target=_client, args=(ports[i % len(ports)], request, seconds, i, start_at, queue)
        )
        for i in range(clients)
    ]
    for worker in workers:
        worker.start()
    latencies, statuses = [], {}
    for _ in workers:
        # a client that died never reports: wait out its requests' timeouts, then fail rather than hang
        part, seen = queue.get(timeout=seconds + 2 * _TIMEOUT)
        latencies.extend(part)
        for status, n in seen.items():
            statuses[status] = statuses.get(status, 0) + n
    for worker in workers:
        worker.join()
    errors = sum(n for status, n in statuses.items() if status not in ok)
    return _result(latencies, seconds, errors, {str(k): v for k, v in statuses.items()})


def combine(parts: list[Result]) -> Result:
    """One result from runs of the same request taken in slices."""
    statuses: dict[str, int] = {}
    for part in parts:
        for status, n in part.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return _result(
        [t for part in parts for t in part.latencies],
        sum(part.seconds for part in parts),
        sum(part.errors for part in parts),
        statuses,
    )


def _result(latencies: list, seconds: float, errors: int, statuses: dict) -> Result:
    latencies = sorted(latencies)
    return Result(
        requests=len(latencies),
        seconds=seconds,
        errors=errors,
        statuses=statuses,
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
        latencies=latencies,
    )


def fetch(port: int, request: Request) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=_TIMEOUT)
    headers = dict(request.headers)
    if request.unique_header:
        headers[request.unique_header] = f"bench-fetch-{time.time()}"
    connection.request(request.method, request.path, body=request.body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def json_body(value) -> bytes:
    return json.dumps(value).encode()
