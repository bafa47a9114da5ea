"""Citizens' photos, re-encoded with Pillow before they are stored.

A phone's photo carries EXIF metadata, its GPS position among it; the portal keeps the pixels only. The
size is judged from the header before anything is decoded, so a small file that unpacks into a huge image
(a "decompression bomb") is refused without spending the memory.
"""

from __future__ import annotations

import io

# What the portal accepts, by Pillow's format name, with the media type it is served as.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# A 50-megapixel phone camera fits; anything larger is refused before it is decoded.
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
# Stored photos are scaled down to this longest side: enough to see a pothole, small to serve.
STORED_SIDE = 4_000
# Of what Pillow read from the file, the only thing written back: which palette entry is transparent.
KEEP_INFO = ("transparency",)


class BadImage(ValueError):
    """Not a photo the portal accepts: another format, unreadable, or too many pixels."""


def clean_photo(content: bytes, side: int = STORED_SIDE) -> tuple[bytes, str]:
    """The photo re-encoded in its own format without metadata, at most `side` pixels a side, and its
    media type."""
    from PIL import Image, ImageOps  # at the first photo: a web process that never gets one holds no Pillow

    try:
        # Pillow itself refuses at open anything over twice its own pixel limit (DecompressionBombError).
        with Image.open(io.BytesIO(content), formats=list(FORMATS)) as image:
            width, height = image.size  # read from the header; nothing decoded yet
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise BadImage("too many pixels")
            kind = str(image.format)  # one of FORMATS: the only readers Pillow was given
            image.draft(image.mode, (side, side))  # a JPEG decodes straight to a smaller scale
            upright = ImageOps.exif_transpose(image)  # the camera's rotation, before EXIF goes
            upright.thumbnail((side, side))
            if kind == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
            # Pillow writes back some metadata it read (a JPEG's comment): keep what draws pixels.
            upright.info = {key: upright.info[key] for key in KEEP_INFO if key in upright.info}
            output = io.BytesIO()
            upright.save(output, format=kind, quality=85)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise BadImage(str(error)) from None
    return output.getvalue(), FORMATS[kind]
