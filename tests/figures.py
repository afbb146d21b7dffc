"""The figures of the proof tests (attempts, successes, refusals, 5xx, kills, inputs tried), printed at the
end of the run. Under xdist the tests run in worker processes, so each appends its lines to one file that
the controlling process named in `pytest_configure` (tests/conftest.py) and prints in the summary."""

import json
import os
from pathlib import Path

ENV = "LOVEMART_TEST_FIGURES"


def record(name: str, figures: dict) -> None:
    """Append one line of figures (a single short write: O_APPEND keeps lines of processes apart)."""
    if path := os.environ.get(ENV):
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps([name, figures], ensure_ascii=False) + "\n")


def lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()) for name, figures in found]
