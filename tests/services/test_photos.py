import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lovemart.services import photos
from lovemart.services.errors import InvalidInput
from lovemart.services.filestore import DirectoryStore


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (3000, 2000), "red")
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_photo_is_reencoded_shrunk_and_stripped(tmp_path):
    name = photos.store(DirectoryStore(tmp_path, ".jpg"), village_id=7, data=jpeg_with_gps())
    stored = photos.read(DirectoryStore(tmp_path, ".jpg"), village_id=7, name=name)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == photos.LONG_SIDE
        assert not image.getexif()
    assert photos.read(DirectoryStore(tmp_path, ".jpg"), village_id=8, name=name) is None


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
        photos.store(DirectoryStore(tmp_path, ".jpg"), village_id=1, data=data)
    assert not any(tmp_path.rglob("*.jpg"))


def test_names_outside_the_pattern_are_refused(tmp_path):
    assert photos.read(DirectoryStore(tmp_path, ".jpg"), village_id=1, name="../../etc/passwd") is None


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims a width × height image (a decompression bomb's shape)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_huge_pixel_counts_are_refused_before_decoding(tmp_path):
    for width, height in ((60_000, 60_000), (8_000, 6_000)):  # above Pillow's bomb limit, and above ours
        with pytest.raises(InvalidInput) as refused:
            photos.store(DirectoryStore(tmp_path, ".jpg"), village_id=1, data=png_claiming(width, height))
        assert str(refused.value.message) == "照片像素过大。"
    assert not any(tmp_path.rglob("*.jpg"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=4000) | st.builds(lambda tail: b"\xff\xd8\xff" + tail, st.binary(max_size=2000))
)
def test_any_bytes_are_refused_or_stored_as_a_clean_jpeg(tmp_path, data):
    try:
        name = photos.store(DirectoryStore(tmp_path, ".jpg"), village_id=1, data=data)
    except InvalidInput:
        return
    stored = photos.read(DirectoryStore(tmp_path, ".jpg"), village_id=1, name=name)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif()
