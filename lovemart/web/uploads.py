"""Roster files kept between the import preview and its confirmation, in the instance folder.

A file is named after the village it was uploaded for, so a token from one village is useless in another.
"""

import secrets
import time
from pathlib import Path

from flask import abort, current_app
from werkzeug.datastructures import FileStorage

_MAX_AGE_SECONDS = 24 * 3600


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(village_id: int, upload: str) -> Path:
    name, dot, suffix = upload.partition(".")
    if not (dot and suffix in ("xlsx", "csv") and len(name) == 32 and name.isalnum()):
        abort(404)
    return _folder() / f"{village_id}-{upload}"


def save(village_id: int, file: FileStorage) -> str:
    _purge_old()
    suffix = file.filename.rsplit(".", 1)[-1].lower()
    upload = f"{secrets.token_hex(16)}.{suffix}"
    file.save(_path(village_id, upload))
    return upload


def load(village_id: int, upload: str) -> tuple[str, bytes]:
    """The stored file's name and bytes. :raise 404: for an unknown, expired or other village's upload."""
    path = _path(village_id, upload)
    if not path.exists():
        abort(404)
    return upload, path.read_bytes()


def discard(village_id: int, upload: str) -> None:
    _path(village_id, upload).unlink(missing_ok=True)


def _purge_old() -> None:
    cutoff = time.time() - _MAX_AGE_SECONDS
    for path in _folder().iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
