"""Images for the models: what each provider accepts, and fitting an image to it.

Every provider takes PNG, JPEG, GIF and WebP, but each has its own limits on one image's
size in bytes and pixels (:data:`LIMITS`, from each API's documentation). :func:`sniff`
reads an image's format and dimensions from its first bytes (no decoding, no dependency);
:func:`fit` returns the image unchanged when it is within the limits, else downscales it
(Pillow, imported only then) to the longest edge allowed and re-encodes it, as JPEG at
falling quality when a lossless format is still too large. An animated GIF keeps its first
frame.

    part = fit(ImagePart("image/png", data), LIMITS["anthropic"])
"""

from __future__ import annotations

import base64
import io
import struct
from dataclasses import dataclass
from typing import Literal

from providers.base import ImagePart

MediaType = Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
MEDIA_TYPES: tuple[MediaType, ...] = ("image/png", "image/jpeg", "image/gif", "image/webp")
_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int  # one image, decoded
    max_edge: int  # its longest side, in pixels


# Anthropic: 5 MB and 8000 px per image, and it resizes anything over 1568 px on the long
# edge itself, so larger only costs upload time. Bedrock: 3.75 MB. OpenAI: 20 MB; "high"
# detail is scaled to fit 2048 px. Gemini: 20 MB for the whole inline request; 3072 px is
# its largest tile layout.
LIMITS: dict[str, ImageLimits] = {
    "anthropic": ImageLimits(5 * _MB, 1568),
    "bedrock": ImageLimits(3_750_000, 1568),
    "vertex": ImageLimits(5 * _MB, 1568),
    "openai": ImageLimits(20 * _MB, 2048),
    "compatible": ImageLimits(5 * _MB, 2048),
    "openrouter": ImageLimits(5 * _MB, 2048),
    "gemini": ImageLimits(7 * _MB, 3072),
}
DEFAULT_LIMITS = ImageLimits(5 * _MB, 1568)
JPEG_QUALITIES = (85, 75, 60, 45)


class ImageError(ValueError):
    """Not an image we can send: not PNG, JPEG, GIF or WebP, or unreadable."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    media_type: MediaType
    width: int
    height: int


def sniff(data: bytes) -> ImageInfo:
    """The format and size of an image, from its header alone."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return ImageInfo("image/png", width, height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return ImageInfo("image/gif", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return ImageInfo("image/webp", *_webp_size(data))
    if data.startswith(b"\xff\xd8"):
        return ImageInfo("image/jpeg", *_jpeg_size(data))
    raise ImageError("not a PNG, JPEG, GIF or WebP image")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ImageError("a WebP image of an unknown kind")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            at += 1
            continue
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            at += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        # Start-of-frame markers (not DHT 0xC4, JPG 0xC8, DAC 0xCC) carry the size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise ImageError("a JPEG image without a frame header")


def within(info: ImageInfo, size: int, limits: ImageLimits) -> bool:
    return size <= limits.max_bytes and max(info.width, info.height) <= limits.max_edge


def fit(image: ImagePart, limits: ImageLimits) -> ImagePart:
    """``image`` unchanged when within ``limits``, else downscaled and re-encoded to fit."""
    data = base64.b64decode(image.data_base64)
    try:
        info = sniff(data)
    except ImageError:
        if len(data) <= limits.max_bytes:
            return image  # unmeasurable here: sent as it is, for the provider to judge
    else:
        if within(info, len(data), limits):
            return image
    media_type, out = shrink(data, limits)
    return ImagePart(media_type, base64.b64encode(out).decode("ascii"))


def shrink(data: bytes, limits: ImageLimits) -> tuple[MediaType, bytes]:
    """Re-encode ``data`` within ``limits``: longest edge first, then bytes."""
    from PIL import Image  # ~20 ms, and only for an image over a limit

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.seek(0)  # an animated GIF or WebP: its first frame
            fmt = opened.format or "PNG"
            if fmt == "JPEG":
                # libjpeg decodes straight to 1/2, 1/4 or 1/8 of the size: far less work.
                edge = limits.max_edge
                wide = opened.width >= opened.height
                opened.draft(
                    "RGB",
                    (edge, opened.height * edge // opened.width)
                    if wide
                    else (opened.width * edge // opened.height, edge),
                )
            source = opened.copy()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"the image cannot be decoded ({exc})") from None
    scale = min(1.0, limits.max_edge / max(source.size))
    lossless = fmt in ("PNG", "GIF") or (fmt == "WEBP" and source.mode == "RGBA")
    for _ in range(8):
        size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
        frame = (
            source
            if size == source.size
            # reducing_gap: a fast box reduction first, Lanczos for the last factor of 3
            else source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
        if lossless:
            out = _encode(frame, "PNG")
            if len(out) <= limits.max_bytes:
                return "image/png", out
        for quality in JPEG_QUALITIES:
            out = _encode(frame, "JPEG", quality)
            if len(out) <= limits.max_bytes:
                return "image/jpeg", out
        scale *= 0.75
    raise ImageError("the image cannot be made small enough")


def _encode(frame: object, fmt: str, quality: int = 0) -> bytes:
    from PIL import Image

    assert isinstance(frame, Image.Image)
    buffer = io.BytesIO()
    if fmt == "JPEG":
        if frame.mode in ("RGBA", "LA", "P"):
            rgba = frame.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            frame = flat
        elif frame.mode != "RGB":
            frame = frame.convert("RGB")
        assert isinstance(frame, Image.Image)
        frame.save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        if frame.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            frame = frame.convert("RGBA")
        assert isinstance(frame, Image.Image)
        frame.save(buffer, "PNG")  # optimize=True costs seconds on a screenshot
    return buffer.getvalue()
