import io

import pytest
from PIL import Image

from lovemart.services import photos
from lovemart.services.errors import InvalidInput


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (3000, 2000), "red")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_photo_is_reencoded_shrunk_and_stripped(tmp_path):
    name = photos.store(tmp_path, village_id=7, data=jpeg_with_gps())
    stored = photos.path(tmp_path, village_id=7, name=name)
    with Image.open(stored) as image:
        assert image.format == "JPEG"
        assert max(image.size) == photos.LONG_SIDE
        assert not image.getexif()
    assert photos.path(tmp_path, village_id=8, name=name) is None


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"\xff\xd8\xff\xe0" + b"<html>" * 100,  # HTML behind JPEG magic bytes
    ],
)
def test_non_images_are_refused(tmp_path, data):
    with pytest.raises(InvalidInput):
        photos.store(tmp_path, village_id=1, data=data)
    assert not any(tmp_path.rglob("*.jpg"))


def test_names_outside_the_pattern_are_refused(tmp_path):
    assert photos.path(tmp_path, village_id=1, name="../../etc/passwd") is None
