"""Photos (inspection records, evidence, applications, wishes): checked to be real images, bounded in size,
re-encoded as JPEG without metadata (EXIF location is dropped), and stored under an unguessable name.

The store is passed in by the caller (the web layer opens the configured one: the database or the instance
folder, lovemart.services.filestore), so this module knows no Flask. Photos are kept per village: the
same name in another village is not found.
"""

import io
import secrets

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from lovemart.services.errors import InvalidInput
from lovemart.services.filestore import FileStore

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
LONG_SIDE = 1600
_NAME_LENGTH = 32


def store(files: FileStore, *, village_id: int, data: bytes) -> str:
    """Re-encode and save an uploaded photo; returns its name.

    :raise InvalidInput: for an empty, oversized, non-image or absurdly large image.
    """
    if not data:
        raise InvalidInput(_l("照片是空文件。"), field="photo")
    if len(data) > MAX_BYTES:
        raise InvalidInput(_l("照片不能超过 8 MB。"), field="photo")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in {"JPEG", "PNG", "WEBP", "GIF", "BMP"}:
                raise InvalidInput(_l("只能上传 JPG、PNG 或 WebP 照片。"), field="photo")
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(_l("照片像素过大。"), field="photo")
            image.load()
            clean = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombError as error:
        raise InvalidInput(_l("照片像素过大。"), field="photo") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise InvalidInput(_l("无法识别该照片，请上传 JPG 或 PNG 图片。"), field="photo") from error
    clean.thumbnail((LONG_SIDE, LONG_SIDE))
    name = secrets.token_hex(_NAME_LENGTH // 2)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True)
    files.put(village_id, name, out.getvalue())
    return name


def read(files: FileStore, *, village_id: int, name: str) -> bytes | None:
    """The JPEG bytes of a stored photo of this village, or None for a malformed or unknown name."""
    if len(name) != _NAME_LENGTH or not all(c in "0123456789abcdef" for c in name):
        return None
    return files.get(village_id, name)
