"""Stored photos (inspection records, evidence) of the working village, for signed-in staff who may read it.

Photos live in the store `FILE_STORAGE` names (the database, or the instance folder:
`<instance>/photos/<village id>/<name>.jpg`), never under static/: a photo of a villager's home is not
public, and another village's name answers 404 like an unknown one.
"""

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from lovemart.authz import Permission, require
from lovemart.db import db, unit_of_work
from lovemart.services import filestore, photos
from lovemart.web.context import working_village_id

bp = Blueprint("photos", __name__)


def file_store(kind: str, session=None) -> filestore.FileStore:
    """The configured store of files of `kind` ("photo" or "roster"), reading through `session`."""
    return filestore.open_store(
        current_app.config["FILE_STORAGE"],
        kind,
        session=db.session if session is None else session,
        instance=Path(current_app.instance_path),
    )


@contextmanager
def writing_store(kind: str) -> Iterator[filestore.FileStore]:
    """The store to write a file into: in a unit of work of its own when it is the database."""
    if current_app.config["FILE_STORAGE"] == filestore.DATABASE:
        with unit_of_work() as session:
            yield file_store(kind, session)
    else:
        yield file_store(kind)


def store_upload(village_id: int, upload) -> str | None:
    """The stored name of an uploaded photo, or None when none was chosen. :raise InvalidInput:"""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    data = upload.read()
    with writing_store("photo") as files:
        return photos.store(files, village_id=village_id, data=data)


@bp.get("/<name>")
@require(Permission.HOUSEHOLD_READ)
def show(name: str):
    data = photos.read(file_store("photo"), village_id=working_village_id(), name=name)
    if data is None:
        abort(404)
    response = send_file(
        io.BytesIO(data),
        mimetype="image/jpeg",
        max_age=86400,
        conditional=True,
        etag=hashlib.sha256(data).hexdigest()[:32],
    )
    response.cache_control.private = True  # never kept by a shared proxy
    response.cache_control.public = False
    return response
