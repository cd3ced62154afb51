"""PNG signature and IHDR parsing: the image's size without decoding it (no Pillow on the hot path)."""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Signature (8), IHDR length (4) and type (4), then width and height (4 + 4): the 24 bytes that
# give the size; through the IHDR CRC (13 bytes of data, 4 of CRC) it is 33 bytes.
PNG_HEADER_BYTES = 33
_IHDR_LENGTH = 13
_MAX_DIMENSION = 2**31 - 1  # the PNG spec's limit for width and height


class NotPng(ValueError):
    """The bytes do not start like a PNG file."""


def parse_png_header(head: bytes) -> tuple[int, int]:
    """(width, height) from the first PNG_HEADER_BYTES bytes of a file; NotPng if they are not a PNG.

    Checks the signature, that the first chunk is a 13-byte IHDR whose CRC matches (so random
    bytes after a correct signature are refused too), and that both dimensions are in range.
    """
    if len(head) < PNG_HEADER_BYTES:
        raise NotPng(f"too short for a PNG header: {len(head)} bytes")
    if head[:8] != PNG_SIGNATURE:
        raise NotPng("missing PNG signature")
    length, chunk_type, width, height = struct.unpack(">I4sII", head[8:24])
    if length != _IHDR_LENGTH or chunk_type != b"IHDR":
        raise NotPng("the first chunk is not IHDR")
    (crc,) = struct.unpack(">I", head[29:33])
    if zlib.crc32(head[12:29]) != crc:
        raise NotPng("IHDR checksum mismatch")
    if not (0 < width <= _MAX_DIMENSION and 0 < height <= _MAX_DIMENSION):
        raise NotPng(f"invalid dimensions {width}x{height}")
    return width, height
