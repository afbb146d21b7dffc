"""Stored photos (inspection records, evidence) of the working village, for signed-in staff who may read it.

Photos live in the instance folder (`<instance>/photos/<village id>/<name>.jpg`), never under static/: a
photo of a villager's home is not public, and another village's name answers 404 like an unknown one.
"""

from pathlib import Path

from flask import Blueprint, abort, current_app, send_file

from lovemart.authz import Permission, require
from lovemart.services import photos
from lovemart.web.context import working_village_id

bp = Blueprint("photos", __name__)


def photo_root() -> Path:
    """The folder `services.photos` stores into and reads from."""
    return Path(current_app.instance_path) / "photos"


def store_upload(village_id: int, upload) -> str | None:
    """The stored name of an uploaded photo, or None when none was chosen. :raise InvalidInput:"""
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return photos.store(photo_root(), village_id=village_id, data=upload.read())


@bp.get("/<name>")
@require(Permission.HOUSEHOLD_READ)
def show(name: str):
    found = photos.path(photo_root(), village_id=working_village_id(), name=name)
    if found is None:
        abort(404)
    response = send_file(found, mimetype="image/jpeg", max_age=86400, conditional=True)
    response.cache_control.private = True  # never kept by a shared proxy
    response.cache_control.public = False
    return response
