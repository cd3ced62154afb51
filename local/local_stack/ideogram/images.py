"""Deterministic PNG rendering: the same (prompt, seed, resolution) always gives the same bytes."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageOps

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = len(PNG_SIGNATURE) + 4 + 4 + 13 + 4  # signature, then IHDR's length, type, data, CRC
# Ancillary, private, reserved-bit-clear, safe-to-copy: decoders must skip it without complaint.
_PADDING_CHUNK_TYPE = b"paDd"
_CHUNK_OVERHEAD = 12  # length (4) + type (4) + CRC (4)
_MAX_CHUNK_DATA = 2**31 - 1  # PNG's limit on a chunk's length
_ZEROS = bytes(1024 * 1024)


class _Entropy:
    """Numbers drawn from SHAKE-256 of the inputs: stable across Python versions, unlike `random`."""

    def __init__(self, *parts: str) -> None:
        self._stream = hashlib.shake_256("\x00".join(parts).encode("utf-8")).digest(4096)
        self._offset = 0

    def below(self, bound: int) -> int:
        chunk = self._stream[self._offset : self._offset + 4]
        self._offset = (self._offset + 4) % (len(self._stream) - 4)
        return int.from_bytes(chunk, "big") % bound

    def colour(self, alpha: int | None = None) -> tuple[int, ...]:
        rgb = (self.below(256), self.below(256), self.below(256))
        return rgb if alpha is None else (*rgb, alpha)


def render_png(prompt: str, seed: int, width: int, height: int) -> bytes:
    """A gradient with translucent shapes whose colours and places come from a hash of the inputs."""
    entropy = _Entropy(prompt, str(seed), f"{width}x{height}")
    # Pillow's 256x256 gradient, stretched and coloured, is much faster than drawing it line by line.
    gradient = Image.linear_gradient("L")
    gradient = gradient.rotate(90 * entropy.below(4)).resize((width, height), Image.Resampling.BILINEAR)
    image = ImageOps.colorize(gradient, entropy.colour(), entropy.colour()).convert("RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(6 + entropy.below(7)):
        x0, y0 = entropy.below(width), entropy.below(height)
        x1 = min(width - 1, x0 + width // 10 + entropy.below(width // 2))
        y1 = min(height - 1, y0 + height // 10 + entropy.below(height // 2))
        fill = entropy.colour(alpha=96 + entropy.below(128))
        shape = entropy.below(3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=fill)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def padded_png(png: bytes, target_size: int) -> tuple[int, Iterator[bytes]]:
    """A valid PNG of `target_size` bytes: `png` with a zero-filled ancillary chunk after IHDR.

    Returns the total size and an iterator of pieces, so a large image is streamed without being
    built in memory. When the target is not larger than the image plus one chunk header, the image
    is returned unchanged.
    """
    data_size = min(target_size - len(png) - _CHUNK_OVERHEAD, _MAX_CHUNK_DATA)
    if not png.startswith(PNG_SIGNATURE) or data_size < 0:
        return len(png), iter((png,))
    return len(png) + _CHUNK_OVERHEAD + data_size, _padded_pieces(png, data_size)


def _padded_pieces(png: bytes, data_size: int) -> Iterator[bytes]:
    yield png[:_IHDR_END]
    yield struct.pack(">I", data_size) + _PADDING_CHUNK_TYPE
    crc = zlib.crc32(_PADDING_CHUNK_TYPE)
    remaining = data_size
    while remaining > 0:
        piece = _ZEROS if remaining >= len(_ZEROS) else _ZEROS[:remaining]
        crc = zlib.crc32(piece, crc)
        remaining -= len(piece)
        yield piece
    yield struct.pack(">I", crc)
    yield png[_IHDR_END:]
