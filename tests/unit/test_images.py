"""Photos are re-encoded: upright as the camera meant, in their own format, and nothing else accepted."""

import io

import pytest
from PIL import ExifTags, Image

from infra.images import BadImage, clean_photo


def _encoded(image: Image.Image, kind: str, **options) -> bytes:
    output = io.BytesIO()
    image.save(output, kind, **options)
    return output.getvalue()


def test_a_photo_taken_sideways_is_stored_upright_once_its_exif_is_gone():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to view"
    content, kind = clean_photo(_encoded(Image.new("RGB", (60, 40)), "JPEG", exif=exif))
    stored = Image.open(io.BytesIO(content))
    assert kind == "image/jpeg" and stored.size == (40, 60) and not stored.getexif()


@pytest.mark.parametrize(("kind", "media_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_png_and_webp_keep_their_format_and_transparency(kind, media_type):
    content, stored_type = clean_photo(_encoded(Image.new("RGBA", (20, 10), (1, 2, 3, 0)), kind))
    assert stored_type == media_type and Image.open(io.BytesIO(content)).mode == "RGBA"


@pytest.mark.parametrize(
    "content",
    [b"", b"not an image", _encoded(Image.new("RGB", (4, 4)), "GIF"), b"\xff\xd8\xff" + b"\x00" * 64],
)
def test_anything_else_is_refused(content):
    with pytest.raises(BadImage):
        clean_photo(content)


@pytest.mark.parametrize(
    "size",
    [(9_000, 9_000), (12_001, 1)],
    ids=["more-pixels-than-a-phone-camera-yet-under-pillows-own-limit", "one-side-too-long"],
)
def test_an_image_larger_than_any_phone_photo_is_refused_before_it_is_decoded(size):
    small_file = _encoded(Image.new("1", size), "PNG")  # a few kilobytes that would unpack to megabytes
    with pytest.raises(BadImage, match="too many pixels"):
        clean_photo(small_file)
