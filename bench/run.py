"""`make bench` (`python -m bench`): LoveMart against this machine's floors, at two ledger sizes.

For each database (SQLite; PostgreSQL when reachable) and each size (10,000 and 1,000,000 ledger entries;
`--quick`: 2,000 and 20,000), on a generated county of 47 villages served by gunicorn with the production
settings (gunicorn.conf.py):

- floors: a minimal Flask view under the same server settings, and the redemption's own transaction in
  plain sqlite3 (bench/floor_sqlite.py); and, as a reading aid, an empty view served by LoveMart itself
  (bench/app_floor.py), which pays the request machinery every page pays;
- the redemption API (8 clients), the villager QR page, the counter's card page, a household statement,
  the county dashboard, and compiling a month's notice (in-process, one at a time);
- on PostgreSQL, the redemption and the QR page through two app servers against one (bench/servers.py).

It prints req/s, p50, p99, the ratio to the floor, the growth from the small to the large ledger, the peak
RSS of a worker and the gzipped page size, checks the targets of issue #7, and writes the figures to
bench/results/<date>-<commit>.json. The 8 clients share the 2 cores with the server: the ratios, measured
in one run, are what to compare, not the absolute figures. The sizes of a database are served at once and
measured in alternating slices, so that a shared machine's drift does not pass for growth.
"""

import argparse
import gzip
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import app_floor, floor_sqlite, load, servers
from bench.load import Request
from bench.setup import BENCH_PASSWORD, ROOT, Target, postgres_reachable, prepare

RESULTS = Path(os.environ.get("LOVEMART_BENCH_RESULTS", ROOT / "bench" / "results"))
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]

#: Issue #7's targets, as ratios measured in one run.
REDEMPTION_VS_FLOOR = 0.60
REDEMPTION_P99_VS_MINIMAL = 5.0
QR_VS_MINIMAL = 0.60
QR_MAX_GZIP = 15 * 1024
FLAT_GROWTH = 1.2  # redemption, QR page, card lookup
PAGED_GROWTH = 2.0  # statement, county dashboard, notice


class Server:
    """gunicorn on a free port with the production settings, stopped on exit."""

    def __init__(self, app: str, env: dict):
        self.port = _free_port()
        # A file, not a pipe: a pipe nobody reads fills with the error log and then blocks the workers.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [*GUNICORN, app],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={
                **os.environ,
                **env,
                "PORT": str(self.port),
                "ACCESS_LOG": "",
                "WORKERS": env.get("WORKERS", "2"),
            },
        )
        self._wait()

    def _wait(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.errors()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def peak_rss_mb(self) -> float:
        """The largest VmHWM among the workers (children of the master)."""
        peaks = []
        for child in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split():
            status = Path(f"/proc/{child}/status").read_text()
            if found := re.search(r"VmHWM:\s+(\d+) kB", status):
                peaks.append(int(found.group(1)) / 1024)
        return max(peaks, default=0.0)

    def errors(self) -> str:
        """What the server has written to its error log so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sign_in(port: int, username: str) -> str:
    """The session cookie of a signed-in browser (one sign-in, shared by the clients)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = _cookies(response)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    body = urllib.parse.urlencode(
        {"username": username, "password": BENCH_PASSWORD, "csrf_token": token.group(1) if token else ""}
    )
    connection.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"bench sign-in as {username} answered {response.status}")
    return _cookies(response) or cookie


def _cookies(response) -> str:
    return "; ".join(h.split(";", 1)[0] for k, h in response.getheaders() if k.lower() == "set-cookie")


def _card_cookie(port: int, token: str) -> str:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", f"/c/{token}")
    response = connection.getresponse()
    response.read()
    return _cookies(response)


def _notice(target: Target) -> dict:
    """Compiling last month's notice of village cv01, in-process: the median of 5, and the lines it lists.

    A notice lists every entry, redemption, donation, stock-in and fund movement of its month, and a month
    of the 1M county holds about 100 times the activity of a month of the 10k county. So its cost must
    follow the lines it lists, not the size of the books: the growth target is checked per line listed.
    """
    from lovemart import create_app
    from lovemart.db import unit_of_work
    from lovemart.services import notices

    os.environ["DATABASE_URL"] = target.url
    app = create_app()
    last = date.today().replace(day=1) - timedelta(days=1)
    times = []
    with app.app_context():
        for _ in range(5):
            began = time.perf_counter()
            with unit_of_work() as session:
                notice = notices.compile(
                    session,
                    actor=None,
                    village_id=target.village_id,
                    period_start=last.replace(day=1),
                    period_end=last,
                )
                content = json.loads(notice.content)
                session.rollback()
            times.append(time.perf_counter() - began)
    listed = sum(len(s["lines"]) + len(s["held"]) for s in content["households"]) + sum(
        len(content[part]) for part in ("redemptions", "donations", "stock_ins", "funds")
    )
    seconds = statistics.median(times)
    return {
        "seconds": round(seconds, 4),
        "per_second": round(1 / seconds, 2),
        "lines": listed,
        "ms_per_line": round(seconds * 1000 / max(listed, 1), 4),
    }


def measure(targets: list[Target], seconds: float) -> dict[int, dict]:
    """Every page at every ledger size of one database, with a server per size up at once.

    Each page's time is cut into `ROUNDS` slices taken in turn at each size (alternating which goes first),
    so that the drift of a shared machine falls on the sizes alike: the growth between them (the median of
    the rounds' ratios, see `_growth`) is the data's, not the minute's.
    """
    servers = {
        target.entries: Server(
            "bench.app_floor:serve()",
            {"DATABASE_URL": target.url, "SECRET_KEY": "bench", "CARD_PAGE_RATE_LIMIT": "1000000 per minute"},
        )
        for target in targets
    }
    results: dict[int, dict] = {target.entries: {} for target in targets}
    try:
        pages = {target.entries: _pages(target, servers[target.entries].port) for target in targets}
        for name in PAGES:
            ok = (201,) if name == "redemption" else (200,)
            slice_seconds = seconds * (2 if name == "redemption" else 1) / ROUNDS
            slices: dict[int, list] = {size: [] for size in servers}
            for size, server in servers.items():
                _status, body = load.fetch(server.port, pages[size][name])
                results[size][name] = {"gzip_bytes": len(gzip.compress(body, 6))}
            for turn in range(ROUNDS):
                for size in list(servers)[:: 1 if turn % 2 == 0 else -1]:
                    slices[size].append(
                        load.run(servers[size].port, pages[size][name], seconds=slice_seconds, ok=ok)
                    )
            for size, taken in slices.items():
                results[size][name] = (
                    load.combine(taken).as_dict()
                    | results[size][name]
                    | {"slices": [round(part.per_second, 1) for part in taken]}
                )
        for size, server in servers.items():
            results[size]["peak_rss_mb"] = round(server.peak_rss_mb(), 1)
    finally:
        for server in servers.values():
            server.stop()
    for target in targets:
        results[target.entries]["notice"] = _notice(target)
        results[target.entries]["profiles"] = _profiles(target)
    return results


PROFILED = ("card_lookup", "statement", "county")
PROFILE_REQUESTS = 30
PROFILE_TOP = 8


def _profiles(target: Target) -> dict[str, list[dict]]:
    """Where each profiled page's time goes, taken in this run: cProfile over `PROFILE_REQUESTS` requests of
    the page in-process (test client, signed in as the bench's users), the top `PROFILE_TOP` of LoveMart's
    own functions and templates by cumulative time (issue #20: find per-row queries, templates rendering
    more than is shown, formatting repeated per row)."""
    import cProfile
    import pstats

    from lovemart import create_app

    os.environ["DATABASE_URL"] = target.url
    app = create_app()
    paths = {
        "card_lookup": (target.admin, f"/counter/cards/{_card_id(target)}"),
        "statement": (target.admin, f"/statements/{target.statement_household_id}"),
        "county": (target.county, "/county/"),
    }
    profiles = {}
    for name, (username, path) in paths.items():
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        client.post(
            "/login",
            data={
                "username": username,
                "password": BENCH_PASSWORD,
                "csrf_token": token.group(1) if token else "",
            },
        )
        client.get(path)  # warm: templates compiled, caches filled
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(PROFILE_REQUESTS):
            client.get(path)
        profiler.disable()
        stats = pstats.Stats(profiler).stats
        own = [
            (where, figures)
            for where, figures in stats.items()
            if "/lovemart/" in where[0] or where[0].endswith(".html")
        ]
        own.sort(key=lambda item: item[1][3], reverse=True)
        profiles[name] = [
            {
                "function": f"{Path(where[0]).name}:{where[1]}({where[2]})",
                "calls_per_request": round(figures[1] / PROFILE_REQUESTS, 1),
                "cumulative_ms": round(figures[3] * 1000 / PROFILE_REQUESTS, 2),
            }
            for where, figures in own[:PROFILE_TOP]
        ]
    with app.app_context():
        from lovemart.db import db

        db.engine.dispose()
    return profiles


PAGES = ("empty_view", "redemption", "qr_page", "card_lookup", "statement", "county")
ROUNDS = 5


def _pages(target: Target, port: int) -> dict[str, Request]:
    """The requests of each page, as the signed-in administrator, county officer or villager sends them."""
    admin = _sign_in(port, target.admin)
    county = _sign_in(port, target.county)
    villager = _card_cookie(port, target.card_token)
    return {
        "empty_view": Request("GET", app_floor.EMPTY, {}),
        "redemption": Request(
            "POST",
            "/api/v1/redemptions/",
            {"Authorization": f"Bearer {target.api_token}", "Content-Type": "application/json"},
            load.json_body(
                {
                    "card_number": target.card_number,
                    "lines": [{"product_id": target.product_id, "quantity": 1}],
                }
            ),
            unique_header="Idempotency-Key",
        ),
        "qr_page": Request("GET", "/me", {"Cookie": villager}),
        "card_lookup": Request("GET", f"/counter/cards/{_card_id(target)}", {"Cookie": admin}),
        "statement": Request("GET", f"/statements/{target.statement_household_id}", {"Cookie": admin}),
        "county": Request("GET", "/county/", {"Cookie": county}),
    }


def _card_id(target: Target) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM cards WHERE village_id = :v AND number = :n"),
            {"v": target.village_id, "n": target.card_number},
        ).scalar()
    engine.dispose()
    return found


def sqlite_floor(target: Target, seconds: float) -> dict:
    path = target.url.removeprefix("sqlite:///")
    copy = Path(path).with_suffix(".floor.db")
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as destination:
        source.backup(destination)
    ids = _floor_ids(copy, target)
    try:
        return floor_sqlite.run(str(copy), ids, seconds=seconds).as_dict()
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)


def _floor_ids(path: Path, target: Target) -> dict:
    with sqlite3.connect(path) as db:
        card, account = db.execute(
            "SELECT id, account_id FROM cards WHERE village_id = ? AND number = ?",
            (target.village_id, target.card_number),
        ).fetchone()
    return {
        "village": target.village_id,
        "card": card,
        "card_number": target.card_number,
        "account": account,
        "household": target.household_id,
        "product": target.product_id,
    }


def minimal_floor(seconds: float) -> dict:
    server = Server("bench.minimal:app", {})
    try:
        result = load.run(server.port, Request("GET", "/", {}), seconds=seconds)
    finally:
        server.stop()
    return result.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small ledgers and short runs, to try the bench")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per page (redemption: twice)")
    parser.add_argument("--sizes", default=None, help="comma-separated ledger sizes, e.g. 10000,1000000")
    parser.add_argument("--villages", type=int, default=47)
    parser.add_argument("--databases", default=None, help="sqlite,postgresql (default: both when reachable)")
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("2000,20000" if args.quick else "10000,1000000")).split(",")]
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    kinds = (args.databases or "sqlite,postgresql").split(",")
    if "postgresql" in kinds and not postgres_reachable():
        print("PostgreSQL not reachable: SQLite only")
        kinds.remove("postgresql")
    run = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": _machine(),
        "seconds": seconds,
        "sizes": sizes,
        "floors": {},
        "results": {},
    }
    run["floors"]["minimal_view"] = minimal_floor(seconds)
    for kind in kinds:
        targets = [prepare(kind, size, args.villages) for size in sizes]
        if kind == "sqlite":
            for target in targets:
                run["floors"][f"sqlite_redemption_{target.entries}"] = sqlite_floor(target, seconds)
        print(f"measuring {kind} at {', '.join(f'{size:,}' for size in sizes)} entries …", flush=True)
        for size, results in measure(targets, seconds).items():
            run["results"][f"{kind}/{size}"] = results
        if kind == "postgresql":
            print(f"two servers against one on {kind} at {targets[-1].entries:,} entries …", flush=True)
            run["two_servers"] = servers.compare(targets[-1], seconds * 2)
    report = table(run)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{run['date'][:10]}-{run['commit'][:8]}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
    print(f"\nfigures written to {path}")


def table(run: dict) -> str:
    """The figures as a Markdown table, with each target's verdict."""
    minimal = run["floors"]["minimal_view"]
    small, large = run["sizes"][0], run["sizes"][-1]
    lines = [
        f"minimal Flask view: {minimal['per_second']:,.0f} req/s, p50 {minimal['p50_ms']} ms, "
        f"p99 {minimal['p99_ms']} ms (8 clients)",
    ]
    for key, floor in run["floors"].items():
        if key.startswith("sqlite_redemption_"):
            lines.append(
                f"plain sqlite3 redemption at {int(key.rsplit('_', 1)[1]):,} entries: "
                f"{floor['per_second']:,.0f} tx/s, p50 {floor['p50_ms']} ms, p99 {floor['p99_ms']} ms"
            )
    lines += [
        "",
        "| bench | db | entries | req/s | p50 ms | p99 ms | ratio to floor | growth | worker RSS MB "
        "| gzip KB | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    for key, results in run["results"].items():
        kind, size = key.split("/")
        for name, figures in results.items():
            if not isinstance(figures, dict) or name == "profiles":
                continue
            floor, ratio = _floor_of(run, name, kind, int(size))
            growth = _growth(run, kind, name, small, large) if int(size) == large else None
            if "requests" in figures:
                lines.append(
                    f"| {name} | {kind} | {int(size):,} | {figures['per_second']:,.0f} | {figures['p50_ms']} "
                    f"| {figures['p99_ms']} | {ratio if ratio is not None else '–'} "
                    f"| {growth if growth is not None else '–'} | {results.get('peak_rss_mb', '–')} "
                    f"| {figures['gzip_bytes'] / 1024:.1f} | {figures['errors']} |"
                )
            else:
                lines.append(
                    f"| {name} ({figures['lines']} lines, {figures['ms_per_line']} ms/line) | {kind} "
                    f"| {int(size):,} | {figures['per_second']} | {figures['seconds'] * 1000:.1f} | – | – "
                    f"| {growth or '–'} | – | – | 0 |"
                )
            verdicts += _verdicts(name, kind, int(size), figures, ratio, growth, minimal, large)
    lines += ["", *verdicts, "", *_against_the_app(run), *_profile_lines(run)]
    if "two_servers" in run:
        lines += ["", *servers.lines(run["two_servers"])]
    return "\n".join(lines)


def _against_the_app(run: dict) -> list[str]:
    """How each page compares with LoveMart's own empty view (not a target: a reading aid). The minimal
    view is a bare Flask app; the empty view pays LoveMart's request machinery too, so what lies between
    a page and the empty view is the page's own work."""
    lines = []
    for key, results in run["results"].items():
        empty = results.get("empty_view")
        if not empty or not empty["per_second"]:
            continue
        minimal = run["floors"]["minimal_view"]["per_second"]
        pages = ", ".join(
            f"{name} {results[name]['per_second'] / empty['per_second']:.0%}"
            for name in PAGES
            if name != "empty_view" and name in results
        )
        lines.append(
            f"- {key}: LoveMart's empty view {empty['per_second']:,.0f} req/s "
            f"({empty['per_second'] / minimal:.0%} of the minimal view); against it: {pages}"
        )
    return lines


def _profile_lines(run: dict) -> list[str]:
    """Per profiled page, its top functions (cProfile, this run): ms per request, calls per request."""
    lines = []
    for key, results in run["results"].items():
        for name, top in results.get("profiles", {}).items():
            lines += ["", f"profile of {name} ({key}), ms per request cumulative (calls per request):"]
            lines += [
                f"  {f['cumulative_ms']:8.2f}  ({f['calls_per_request']:g})  {f['function']}" for f in top
            ]
    return lines


def _floor_of(run, name, kind, size):
    if name == "redemption" and kind == "sqlite":
        floor = run["floors"].get(f"sqlite_redemption_{size}")
        return floor, round(run["results"][f"{kind}/{size}"][name]["per_second"] / floor["per_second"], 2)
    if name in ("empty_view", "qr_page", "card_lookup", "statement", "county"):
        minimal = run["floors"]["minimal_view"]
        return minimal, round(run["results"][f"{kind}/{size}"][name]["per_second"] / minimal["per_second"], 2)
    return None, None


def _growth(run, kind, name, small, large):
    """How much slower the large ledger is: throughput at the small size ÷ at the large (the notice: its
    time per line listed at the large size ÷ at the small)."""
    before = run["results"].get(f"{kind}/{small}", {}).get(name)
    after = run["results"].get(f"{kind}/{large}", {}).get(name)
    if not before or not after or small == large:
        return None
    if name == "notice":
        return round(after["ms_per_line"] / before["ms_per_line"], 2)
    rounds = list(zip(before.get("slices", []), after.get("slices", []), strict=False))
    if rounds and all(rate_after for _rate_before, rate_after in rounds):
        # Each round measured both sizes back to back: the median of the rounds' ratios lets neither the
        # drift between rounds nor one disturbed slice pass for growth.
        return round(statistics.median(rate_before / rate_after for rate_before, rate_after in rounds), 2)
    return round(before["per_second"] / after["per_second"], 2) if after["per_second"] else None


def _verdicts(name, kind, size, figures, ratio, growth, minimal, large) -> list[str]:
    checks = []
    if name == "redemption" and kind == "sqlite" and ratio is not None:
        checks.append(
            (
                f"redemption ≥ {REDEMPTION_VS_FLOOR:.0%} of the sqlite3 floor ({size:,})",
                ratio >= REDEMPTION_VS_FLOOR,
                f"{ratio:.0%}",
            )
        )
        p99 = figures["p99_ms"] / minimal["p99_ms"]
        checks.append(
            (
                f"redemption p99 ≤ {REDEMPTION_P99_VS_MINIMAL:g}× minimal view p99 ({kind}, {size:,})",
                p99 <= REDEMPTION_P99_VS_MINIMAL,
                f"{p99:.1f}×",
            )
        )
    if name == "redemption":
        checks.append(
            (f"redemption without errors ({kind}, {size:,})", figures["errors"] == 0, figures["errors"])
        )
    if name == "qr_page":
        checks.append(
            (
                f"QR page ≥ {QR_VS_MINIMAL:.0%} of the minimal view ({kind}, {size:,})",
                ratio >= QR_VS_MINIMAL,
                f"{ratio:.0%}",
            )
        )
        checks.append(
            (
                f"QR page ≤ 15 KB gzipped ({kind}, {size:,})",
                figures["gzip_bytes"] <= QR_MAX_GZIP,
                f"{figures['gzip_bytes']} B",
            )
        )
    if growth is not None and size == large and name != "empty_view":
        bound = FLAT_GROWTH if name in ("redemption", "qr_page", "card_lookup") else PAGED_GROWTH
        checks.append((f"{name} growth ≤ {bound}× ({kind})", growth <= bound, f"{growth}×"))
    return [f"- [{'x' if passed else ' '}] {what}: {value}" for what, passed, value in checks]


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
