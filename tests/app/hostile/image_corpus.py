"""Malformed and bomb images, made here: truncated data, lying headers and chunk bombs, in six formats."""

import io
import struct
import zlib
from collections.abc import Callable

from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def ihdr(width: int, height: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def idat(width: int, height: int) -> bytes:
    rows = b"".join(b"\0" + bytes([255 * (row % 2)]) * width for row in range(height))
    return chunk(b"IDAT", zlib.compress(rows))


def png(*ancillary: bytes, width: int = 28, height: int = 28, header: bytes | None = None) -> bytes:
    """A grayscale PNG with these chunks between IHDR and IDAT."""
    return (
        PNG_SIGNATURE
        + (header if header is not None else ihdr(width, height))
        + b"".join(ancillary)
        + idat(min(width, 64), min(height, 64))
        + chunk(b"IEND", b"")
    )


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def digit_image() -> Image.Image:
    image = Image.new("L", (64, 64), 0)
    image.paste(255, (28, 8, 36, 56))
    return image


def lying_jpeg(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header claims width x height."""
    data = bytearray(encoded(Image.new("L", (8, 8), 128), "JPEG"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def deflate_bomb(size: int) -> bytes:
    return zlib.compress(b"\0" * size, 9)


# Each maker returns the file's bytes; "ancillary" ones damage only a chunk an image can do without.
MALFORMED: dict[str, Callable[[], bytes]] = {
    "png truncated IHDR": lambda: PNG_SIGNATURE + chunk(b"IHDR", b"\0\0\0\x1c\0\0"),
    "png cut in IDAT": lambda: png()[:-30],
    "png IDAT cut and zero-filled": lambda: png()[:-20] + b"\0" * 20,
    "png 1x16777216": lambda: png(width=1, height=16_777_216),
    "png 4096x4096": lambda: encoded(Image.new("L", (4096, 4096)), "PNG"),
    "png 100000x100000 header": lambda: png(width=100_000, height=100_000),
    "png zero size": lambda: png(width=0, height=0),
    "png zTXt bomb": lambda: png(chunk(b"zTXt", b"k\0\0" + deflate_bomb(50_000_000))),
    "png iCCP bomb": lambda: png(chunk(b"iCCP", b"p\0\0" + deflate_bomb(50_000_000))),
    "png too many text chunks": lambda: png(*[chunk(b"zTXt", b"k\0\0" + deflate_bomb(1_000_000))] * 80),
    "jpeg cut in half": lambda: encoded(digit_image(), "JPEG")[:300],
    "jpeg header only": lambda: encoded(digit_image(), "JPEG")[:20],
    "jpeg frame claims 4096x4096": lambda: lying_jpeg(4096, 4096),
    "jpeg frame claims 2048x2048": lambda: lying_jpeg(2048, 2048),
    "jpeg frame claims 0x0": lambda: lying_jpeg(0, 0),
    "gif": lambda: encoded(digit_image(), "GIF"),
    "gif truncated": lambda: encoded(digit_image(), "GIF")[:30],
    "bmp": lambda: encoded(digit_image(), "BMP"),
    "bmp claims 30000x30000": lambda: encoded(digit_image(), "BMP")[:18] + struct.pack("<ii", 30000, 30000),
    "tiff": lambda: encoded(digit_image(), "TIFF"),
    "tiff truncated": lambda: encoded(digit_image(), "TIFF")[:50],
    "webp": lambda: encoded(digit_image(), "WEBP"),
    "webp truncated": lambda: encoded(digit_image(), "WEBP")[:40],
    "empty file": lambda: b"",
}
ANCILLARY: dict[str, Callable[[], bytes]] = {
    f"png short {kind.decode()}": (lambda kind=kind: png(chunk(kind, b"\1")))
    for kind in (b"gAMA", b"pHYs", b"tRNS", b"cHRM", b"sRGB", b"tIME")
} | {"png bad IEND CRC": lambda: png()[:-1] + b"\0"}
