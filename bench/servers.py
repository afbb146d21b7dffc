"""Two app servers against one, on one PostgreSQL, on this machine, in one run (docs/deploy.md's county).

The redemption API and the villager QR page are measured through one gunicorn of `WORKERS` workers and
through two of `WORKERS / 2` each (the same processes on the same cores, the 8 clients split between the
servers as nginx would), in alternating slices; the figure is the median of the rounds' ratios (two ÷ one).
A ratio near 1 says that splitting the site over servers costs nothing and serialises nothing: each server
on a machine of its own then adds its cores, and what bounds the site is PostgreSQL. The rate limit is kept
in Redis when one answers (as in a county), in memory otherwise; the figure says which.

`python -m bench.servers [--quick]` runs it alone; `make bench` runs it on its largest PostgreSQL county.
"""

import argparse
import json
import statistics

from bench import load
from bench.setup import postgres_reachable, prepare

PAGES = ("redemption", "qr_page")
ROUNDS = 5
REDIS_URL = "redis://127.0.0.1:6379/0"


def compare(target, seconds: float, *, workers: int = 2) -> dict:
    """{page: {"one": figures, "two": figures, "ratio": two ÷ one}} and how the rate limit was kept."""
    from bench.run import Server, _pages

    storage = REDIS_URL if _redis_answers() else "memory://"
    env = {
        "DATABASE_URL": target.url,
        "SECRET_KEY": "bench",
        "CARD_PAGE_RATE_LIMIT": "1000000 per minute",
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_KEY_PREFIX": "lovemart-bench",
        "FILE_STORAGE": "database",
    }
    one = [Server("bench.app_floor:serve()", {**env, "WORKERS": str(workers)})]
    two = [Server("bench.app_floor:serve()", {**env, "WORKERS": str(max(workers // 2, 1))}) for _ in range(2)]
    found: dict = {"rate_limit_storage": storage.split(":", 1)[0], "workers": workers}
    try:
        pages = _pages(target, one[0].port)  # cookies and tokens hold on every server: one key, one database
        for name in PAGES:
            ok = (201,) if name == "redemption" else (200,)
            slices: dict[str, list] = {"one": [], "two": []}
            for turn in range(ROUNDS):
                for setup in ("one", "two")[:: 1 if turn % 2 == 0 else -1]:
                    ports = [server.port for server in (one if setup == "one" else two)]
                    slices[setup].append(load.run(ports, pages[name], seconds=seconds / ROUNDS, ok=ok))
            ratios = [b.per_second / a.per_second for a, b in zip(slices["one"], slices["two"], strict=True)]
            found[name] = {
                setup: load.combine(taken).as_dict() | {"slices": [round(t.per_second, 1) for t in taken]}
                for setup, taken in slices.items()
            } | {"ratio": round(statistics.median(ratios), 2)}
    finally:
        for server in one + two:
            server.stop()
    return found


def lines(found: dict) -> list[str]:
    """The comparison as lines of the bench's report."""
    out = [
        f"two servers × {max(found['workers'] // 2, 1)} workers against one × {found['workers']}, "
        f"one PostgreSQL (rate limit in {found['rate_limit_storage']}):"
    ]
    for name in PAGES:
        figures = found[name]
        out.append(
            f"- {name}: one {figures['one']['per_second']:,.0f} req/s (p99 {figures['one']['p99_ms']} ms), "
            f"two {figures['two']['per_second']:,.0f} req/s (p99 {figures['two']['p99_ms']} ms): "
            f"ratio {figures['ratio']} (errors {figures['one']['errors']} / {figures['two']['errors']})"
        )
    return out


def _redis_answers() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except redis.RedisError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a 20,000-entry county and short slices")
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--villages", type=int, default=47)
    parser.add_argument("--seconds", type=float, default=None, help="seconds per page and setup")
    args = parser.parse_args()
    if not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable: the comparison needs it")
    target = prepare("postgresql", args.entries or (20_000 if args.quick else 1_000_000), args.villages)
    found = compare(target, args.seconds or (5.0 if args.quick else 20.0))
    print("\n".join(lines(found)))
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
