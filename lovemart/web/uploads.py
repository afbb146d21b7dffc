"""Rosters kept between the import preview and its confirmation, in the instance folder.

The file is read once, when it is uploaded (`spreadsheets.read_roster`, which bounds the work); what is kept
is the rows it held, as JSON, so that neither the preview nor the confirmation parses the file again. The
rows are named after the village they were uploaded for, so a token from one village is useless in another.
"""

import dataclasses
import json
import os
import secrets
import time
from pathlib import Path

from flask import abort, current_app

from lovemart.services.spreadsheets import RosterRow

_MAX_AGE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(village_id: int, upload: str) -> Path:
    if not (len(upload) == 32 and all(c in "0123456789abcdef" for c in upload)):
        abort(404)
    return _folder() / f"{village_id}-{upload}.json"


def save(village_id: int, filename: str, rows: list[RosterRow]) -> str:
    """Keep the rows read from `filename`; returns the token that names them."""
    _purge_old()
    upload = secrets.token_hex(16)
    kept = {"filename": filename, "rows": [dataclasses.astuple(row) for row in rows]}
    path = _path(village_id, upload)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        json.dump(kept, file, ensure_ascii=False)
    return upload


def load(village_id: int, upload: str) -> tuple[str, list[RosterRow]]:
    """The uploaded file's name and rows. :raise 404: for an unknown, expired or other village's upload."""
    path = _path(village_id, upload)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        abort(404)
    return kept["filename"], [RosterRow(*values) for values in kept["rows"]]


def discard(village_id: int, upload: str) -> None:
    _path(village_id, upload).unlink(missing_ok=True)


def _purge_old() -> None:
    cutoff = time.time() - _MAX_AGE_SECONDS
    for path in _folder().iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
