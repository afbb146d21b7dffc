"""`make bench` on a tiny county, so that the benchmarks keep working: the shape of the output, not speed."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_bench_runs_end_to_end_on_a_tiny_county(tmp_path):
    env = {
        **os.environ,
        "LOVEMART_BENCH_DATA": str(tmp_path / "data"),
        "LOVEMART_BENCH_RESULTS": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "200,400",
            "--villages",
            "2",
            "--seconds",
            "0.5",
            "--databases",
            "sqlite",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    (result,) = tmp_path.glob("*.json")
    run = json.loads(result.read_text())
    assert set(run["results"]) == {"sqlite/200", "sqlite/400"}
    for figures in run["results"].values():
        assert {"empty_view", "redemption", "qr_page", "card_lookup", "statement"} <= set(figures)
        assert figures["empty_view"]["requests"] > 0 and figures["empty_view"]["errors"] == 0
        assert figures["redemption"]["requests"] > 0 and figures["redemption"]["errors"] == 0
        assert figures["qr_page"]["gzip_bytes"] > 0
    assert run["floors"]["minimal_view"]["per_second"] > 0
    assert run["floors"]["sqlite_redemption_200"]["per_second"] > 0
    assert "| redemption | sqlite | 400 |" in finished.stdout and "growth" in finished.stdout
    assert "sqlite/400: LoveMart's empty view" in finished.stdout
