"""Images attached to a query: read, checked, and made ready for the model.

An attachment is base64 ``data`` with its ``mediaType``, or a ``path`` in the workspace.
A path goes through the same rules as the agent's tools (confined to the workspace roots,
secret files refused unless ``solver.tools.allowSecretFiles``). The bytes must be a PNG,
JPEG, GIF or WebP image of the type claimed (read from their header) and at most
``MAX_BYTES``; the router later fits each image to the limits of the provider that answers
(``providers.images``). Any problem is :class:`InvalidAttachment` naming the field, and the
turn does not start.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from pathlib import Path

from daemon.errors import DaemonError
from daemon.solver.focus import editor_path
from daemon.tools.base import ToolContext, ToolError
from daemon.tools.paths import check_readable, confine
from protocol import errors as codes
from protocol.query import Attachment
from providers.base import ImagePart
from providers.images import ImageError, sniff

# The largest image accepted from the editor (decoded), before any downscaling.
MAX_BYTES = 20 * 1024 * 1024


class InvalidAttachment(DaemonError):
    code = codes.INVALID_PARAMS


class ImagesNotSupported(DaemonError):
    code = codes.INVALID_PARAMS


async def load_images(items: Sequence[Attachment], ctx: ToolContext) -> tuple[ImagePart, ...]:
    return tuple([await _load(i, item, ctx) for i, item in enumerate(items)])


async def _load(index: int, item: Attachment, ctx: ToolContext) -> ImagePart:
    where = f"attachments[{index}]"
    if item.path is not None:
        data = await asyncio.to_thread(_read, where, item.path, ctx)
    else:
        assert item.data is not None
        if len(item.data) > MAX_BYTES * 4 // 3 + 4:
            raise _too_large(where, len(item.data) * 3 // 4)
        try:
            data = base64.b64decode(item.data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidAttachment(
                f"{where}.data is not valid base64", field=f"{where}.data"
            ) from None
    if len(data) > MAX_BYTES:
        raise _too_large(where, len(data))
    try:
        info = sniff(data)
    except ImageError as exc:
        field = f"{where}.path" if item.path is not None else f"{where}.data"
        raise InvalidAttachment(f"{field}: {exc}", field=field) from None
    if item.media_type is not None and item.media_type != info.media_type:
        raise InvalidAttachment(
            f"{where}.mediaType says {item.media_type} but the image is {info.media_type}",
            field=f"{where}.mediaType",
        )
    return ImagePart(info.media_type, base64.b64encode(data).decode("ascii"))


def _read(where: str, raw: str, ctx: ToolContext) -> bytes:
    field = f"{where}.path"
    try:
        path = confine(ctx.roots, editor_path(ctx.roots, raw))
        check_readable(ctx.roots, path, ctx.settings)
    except ToolError as exc:
        raise InvalidAttachment(f"{field}: {exc}", field=field) from None
    if not path.is_file():
        raise InvalidAttachment(f"{field}: {raw} is not a file", field=field)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _too_large(where, size)
    return Path(path).read_bytes()


def _too_large(where: str, size: int) -> InvalidAttachment:
    return InvalidAttachment(
        f"{where} is {size / 1e6:.1f} MB; images up to {MAX_BYTES // (1024 * 1024)} MB are "
        "accepted (larger ones are downscaled to each provider's limit)",
        field=where,
        limit=MAX_BYTES,
    )
