"""Bounds on an uploaded .xlsx, checked before any XML parser sees it (decompression and XML bombs).

An .xlsx is a zip of XML parts. A small upload can unpack to gigabytes, and one XML token (a comment, an
attribute, a tag) of many megabytes costs the parser time that grows with the square of its length: a 15 KB
file with a 10 MB comment took 8.7 s to preview, a 413 KB one minutes. A document type declaration can
define entities that expand a billion times ("billion laughs"). `check_archive` refuses all of these within
a bounded amount of work, reading the archive once in chunks:

- the number of parts and the total uncompressed size the archive declares;
- the bytes actually produced while decompressing, stopping as soon as they pass the limit;
- in every XML part: no `<!` (DOCTYPE, ENTITY, comment, CDATA) and no `<?` but the XML declaration, which
  no spreadsheet program writes, and no stretch of more than `MAX_TOKEN` bytes without a `<`: XML allows
  no `<` inside a tag, so no tag is longer than that; text between tags is parsed in linear time.

It works whether or not defusedxml is installed (openpyxl uses it when it is).
"""

import io
import re
import zipfile
import zlib

from flask_babel import lazy_gettext as _l

from lovemart.services.errors import UnreadableFile

MAX_PARTS = 1000
MAX_TOKEN = 1024 * 1024
CHUNK = 64 * 1024
_FORBIDDEN = re.compile(rb"<[!?]")
_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^<>]{0,200}\?>")
#: How XML in UTF-16 or UTF-32 begins: a byte-order mark, or "<" next to a zero byte.
_WIDE = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"<\x00", b"\x00<", b"\x00\x00\x00<")


def check_archive(data: bytes, *, max_unpacked: int) -> None:
    """:raise UnreadableFile: when the archive would unpack beyond `max_unpacked` bytes or holds XML that a
    spreadsheet program never writes; a file that is not a zip archive passes (openpyxl refuses it)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise _too_big(max_unpacked)
        if sum(part.file_size for part in parts) > max_unpacked:
            raise _too_big(max_unpacked)
        budget = max_unpacked
        for part in parts:
            budget = _check_part(archive, part, budget, max_unpacked)


def _check_part(archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: int, max_unpacked: int) -> int:
    """Decompress one part in chunks, scanning it if it is XML; returns what is left of the byte budget."""
    try:
        with archive.open(part) as stream:
            first = stream.read(CHUNK)
            budget -= len(first)
            if budget < 0:
                raise _too_big(max_unpacked)
            scan = _XmlScan() if _looks_like_xml(first) else None
            if scan is not None:
                scan.feed(first, start=True)
            while chunk := stream.read(CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    raise _too_big(max_unpacked)
                if scan is not None:
                    scan.feed(chunk)
    except _BROKEN as error:
        raise unreadable() from error
    return budget


#: What zipfile and the decompressors raise for a damaged, encrypted or unsupported part.
_BROKEN = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError, EOFError)


def _looks_like_xml(head: bytes) -> bool:
    """What an XML parser would read: text starting with "<" (a BOM and spaces allowed), or a wide encoding
    (refused: no spreadsheet program writes one and the byte scan could not see through it)."""
    if head.startswith(_WIDE):
        raise _strange()
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


class _XmlScan:
    """The markers of `_FORBIDDEN` and over-long tags, found across chunk boundaries."""

    def __init__(self):
        self.tail = b""  # the last byte of the previous chunk, for a marker split in two
        self.since_open = 0  # bytes since the last "<"

    def feed(self, chunk: bytes, *, start: bool = False) -> None:
        body = chunk
        if start and (declaration := _DECLARATION.match(chunk)):
            body = chunk[declaration.end() :]
        if _FORBIDDEN.search(self.tail + body):
            raise _strange()
        self.tail = chunk[-1:]
        first = chunk.find(b"<")
        if first == -1:
            self.since_open += len(chunk)
        else:
            if self.since_open + first > MAX_TOKEN:
                raise _strange()
            self.since_open = len(chunk) - chunk.rfind(b"<")
        if self.since_open > MAX_TOKEN:
            raise _strange()


def unreadable() -> UnreadableFile:
    """A file that is not an .xlsx workbook, or a damaged one."""
    return UnreadableFile(_l("无法读取该 Excel 文件，请确认它是 .xlsx 格式。"))


def _too_big(max_unpacked: int) -> UnreadableFile:
    return UnreadableFile(
        _l("该 Excel 文件解压后超过 %(mb)d MB，请删除多余内容或分批导入。") % {"mb": max_unpacked // 2**20}
    )


def _strange() -> UnreadableFile:
    return UnreadableFile(
        _l("无法读取该 Excel 文件：其中含有表格软件不会写入的内容，请另存为新的 .xlsx 后重试。")
    )
