"""Citizens' photos, re-encoded with Pillow before they are stored, and their thumbnails.

A phone's photo carries EXIF metadata, its GPS position among it; the portal keeps the pixels only. The
size is judged from the header before anything is decoded, so a small file that unpacks into a huge image
(a "decompression bomb") is refused without spending the memory; the same guard opens every format, and
every thumbnail. An iPhone's HEIC photo is kept as a JPEG: every browser and the PDF receipts show that.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# What the portal accepts, by Pillow's format name, with the format it is stored in ("HEIF" is what the
# pillow-heif reader calls HEIC and HEIF files).
STORED_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# A 50-megapixel phone camera fits; anything larger is refused before it is decoded.
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
# Stored photos are scaled down to this longest side: enough to see a pothole, small to serve.
STORED_SIDE = 4_000
# Thumbnails: the status page, the staff panel and the receipt show them; always a JPEG.
THUMBNAIL_SIDE = 320
# Of what Pillow read from the file, the only thing written back: which palette entry is transparent.
KEEP_INFO = ("transparency",)


class BadImage(ValueError):
    """Not a photo the portal accepts: another format, unreadable, or too many pixels."""


def clean_photo(content: bytes, side: int = STORED_SIDE) -> tuple[bytes, str]:
    """The photo re-encoded without metadata, at most `side` pixels a side, and its media type: in its own
    format, but a HEIC photo as a JPEG."""
    with _opened(content, side) as (image, kind):
        stored = STORED_AS[kind]
        if stored == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
            image = _on_white(image)
        # Pillow writes back some metadata it read (a JPEG's comment): keep what draws pixels.
        image.info = {key: image.info[key] for key in KEEP_INFO if key in image.info}
        return _encoded(image, stored, quality=85), FORMATS[stored]


def thumbnail(content: bytes, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of the photo, at most `side` pixels a side, without metadata."""
    with _opened(content, side) as (image, _):
        if image.mode not in ("RGB", "L"):
            image = _on_white(image)
        image.info = {}
        return _encoded(image, "JPEG", quality=80)


@contextmanager
def _opened(content: bytes, side: int) -> Iterator[tuple[Any, str]]:
    """The image upright as the camera meant, at most `side` pixels a side, and its format; or BadImage
    for anything that is not an accepted photo of a sane size."""
    from PIL import Image, ImageOps  # at the first photo: a web process that never gets one holds no Pillow

    _read_heif()
    try:
        # Pillow itself refuses at open anything over twice its own pixel limit (DecompressionBombError).
        with Image.open(io.BytesIO(content), formats=list(STORED_AS)) as image:
            width, height = image.size  # read from the header; nothing decoded yet
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise BadImage("too many pixels")
            kind = str(image.format)  # one of STORED_AS: the only readers Pillow was given
            image.draft(image.mode, (side, side))  # a JPEG decodes straight to a smaller scale
            upright = ImageOps.exif_transpose(image)  # the camera's rotation, before EXIF goes
            upright.thumbnail((side, side))
            yield upright, kind
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        if isinstance(error, BadImage):
            raise
        raise BadImage(str(error)) from None


@functools.cache
def _read_heif() -> None:
    """Teaches Pillow HEIC and HEIF, once per process, when it first opens a photo."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _on_white(image: Any) -> Any:
    """A picture with transparency (or a palette) as RGB on white: JPEG has no transparency."""
    from PIL import Image

    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, (255, 255, 255))
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _encoded(image: Any, kind: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format=kind, **options)
    return output.getvalue()
