"""Rosters kept between the import preview and its confirmation, in the configured file store (the
database or the instance folder, lovemart.web.photos.file_store), so the confirmation may reach another
app server than the preview did.

The file is read once, when it is uploaded (`spreadsheets.read_roster`, which bounds the work); what is kept
is the rows it held, as JSON, so that neither the preview nor the confirmation parses the file again. The
rows are kept under the village they were uploaded for, so a token from one village is useless in another.
"""

import dataclasses
import json
import secrets
from datetime import timedelta

from flask import abort

from lovemart.db import utcnow
from lovemart.services.spreadsheets import RosterRow
from lovemart.web.photos import file_store, writing_store

_MAX_AGE = timedelta(hours=24)
_KIND = "roster"


def save(village_id: int, filename: str, rows: list[RosterRow]) -> str:
    """Keep the rows read from `filename`; returns the token that names them."""
    upload = secrets.token_hex(16)
    kept = {"filename": filename, "rows": [dataclasses.astuple(row) for row in rows]}
    _keep(village_id, upload, json.dumps(kept, ensure_ascii=False).encode())
    return upload


def load(village_id: int, upload: str) -> tuple[str, list[RosterRow]]:
    """The uploaded file's name and rows. :raise 404: for an unknown, expired or other village's upload."""
    kept = json.loads(_kept(village_id, upload))
    return kept["filename"], [RosterRow(*values) for values in kept["rows"]]


def discard(village_id: int, upload: str) -> None:
    with writing_store(_KIND) as files:
        files.delete(village_id, _checked(upload))


def _checked(upload: str) -> str:
    if not (len(upload) == 32 and all(c in "0123456789abcdef" for c in upload)):
        abort(404)
    return upload


def _keep(village_id: int, upload: str, data: bytes) -> None:
    """Store `data` under the name `upload`, removing what is older than a day on the way."""
    with writing_store(_KIND) as files:
        files.purge(utcnow() - _MAX_AGE)
        files.put(village_id, _checked(upload), data)


def _kept(village_id: int, upload: str) -> bytes:
    data = file_store(_KIND).get(village_id, _checked(upload))
    if data is None:
        abort(404)
    return data
