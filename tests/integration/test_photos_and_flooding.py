"""What a citizen adds to a request: photos are kept without their metadata and within bounds, additions
are limited per author, and looking a request up neither tells who made it nor can be tried without end."""

import dataclasses
import io
import re
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from apps.web import create_app
from domain.tables import Document, ServiceRequest
from infra.storage import storage_from_settings
from tests.integration.test_citizen_accounts import sign_in
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import offline_settings

OFFLINE = offline_settings()


def jpeg_with_gps(colour: tuple[int, int, int] = (120, 90, 60)) -> bytes:
    """A real phone-like JPEG: camera make, the GPS position where it was taken, and a comment; photos of
    different colours are different files."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (73.0, 34.0, 1.25)
    output = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(output, "JPEG", exif=exif, comment=b"Ned's phone")
    return output.getvalue()


def png(width: int, height: int) -> bytes:
    """A valid PNG of black 1-bit pixels, compressed row by row: a 30000×30000 one is about 110 kB, and
    decoding it would take 900 MB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor, row = zlib.compressobj(9), b"\x00" * (1 + (width + 7) // 8)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
async def author(inbox):
    """A town, a request and its author signed in; the app allows two photos per request."""
    app = create_app(dataclasses.replace(OFFLINE, photos_per_request=2))
    town = await make_town()
    email = f"author@{town.slug}.example"
    async with PortalClient(app, town.host) as citizen:
        path = status_path(await citizen.submit(valid_form(contact_email=email)))
        await sign_in(citizen, inbox, email)
        await citizen.get(path)
        yield town, citizen, path


async def _upload(
    citizen: PortalClient, path: str, content: bytes, name: str = "photo.jpg", alt_text: str = ""
):
    return await citizen.http.post(
        path + "/photo",
        data={"_csrf_token": citizen._csrf, "alt_text": alt_text},
        files={"photo": (name, content, "image/jpeg")},
    )


async def _photos(town, path: str, *columns) -> list[dict]:
    """The photos stored for the request at `path`, read as the town."""
    async with town.scope.transaction():
        row = (
            await ServiceRequest.select(ServiceRequest.id)
            .where(ServiceRequest.public_token == path.rsplit("/", 1)[1])
            .first()
        )
        return await Document.select(Document.id, *columns).where(Document.request == row["id"])


async def _reference(town, path: str) -> str:
    async with town.scope.transaction():
        row = (
            await ServiceRequest.select(ServiceRequest.reference)
            .where(ServiceRequest.public_token == path.rsplit("/", 1)[1])
            .first()
        )
    return row["reference"]


async def test_a_photo_is_stored_and_served_without_its_gps_position(author):
    town, citizen, path = author
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's premise
    assert (await _upload(citizen, path, original, alt_text="Pothole by the drain")).status_code == 303
    page = (await citizen.get(path)).text
    link = re.search(r'<a href="([^"]+/photos/\d+)"><img src="[^"]+" srcset="([^" ]+) 320w"', page)
    assert link.group(2) == link.group(1) + "/thumbnail" and "Pothole by the drain" in page
    served = await citizen.get(link.group(1))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["content-disposition"].startswith('inline; filename="photo-')
    (stored,) = await _photos(town, path, Document.content, Document.storage_key, Document.alt_text)
    assert bytes(stored["content"]) == b"" and stored["alt_text"] == "Pothole by the drain"
    kept = await storage_from_settings(OFFLINE).get(stored["storage_key"])  # what storage holds
    for content in (served.content, kept):
        image = Image.open(io.BytesIO(content))
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif() and b"Exif" not in content and b"PhoneMaker" not in content
        assert "comment" not in image.info and b"Ned's phone" not in content


async def test_an_image_too_large_to_decode_is_refused_from_its_header(author):
    town, citizen, path = author
    bomb = png(30_000, 30_000)
    assert len(bomb) < 5 * 1024 * 1024
    refused = await _upload(citizen, path, bomb, "bomb.png")
    assert refused.status_code == 409 and "JPEG, PNG or WebP format (or HEIC)" in refused.text
    assert await _photos(town, path) == []


async def test_a_request_takes_a_bounded_number_of_photos_and_none_once_closed(author):
    town, citizen, path = author
    photo = jpeg_with_gps()
    assert [(await _upload(citizen, path, photo)).status_code for _ in range(2)] == [303, 303]
    full = await _upload(citizen, path, photo)
    assert full.status_code == 409 and "as many photos as it can take" in full.text
    for status in ("closed", "cancelled"):
        async with town.scope.transaction():
            await ServiceRequest.update({ServiceRequest.status: status}).where(
                ServiceRequest.tenant == town.id
            )
        refused = await _upload(citizen, path, photo)
        assert refused.status_code == 409 and "closed or cancelled request" in refused.text
    assert len(await _photos(town, path)) == 2


async def test_comments_and_photos_are_limited_per_author_and_request(author):
    town, citizen, path = author
    # The workflow service is offline here: each comment is refused after it was counted.
    comments = [(await citizen.post(path + "/comment", {"body": f"Note {n}"})).status_code for n in range(11)]
    assert comments == [409] * 10 + [429]
    photos = [(await _upload(citizen, path, b"not a photo")).status_code for _ in range(21)]
    assert photos == [409] * 20 + [429]
    assert "many requests from you" in (await _upload(citizen, path, jpeg_with_gps())).text


async def test_the_lookup_says_the_same_for_an_unknown_reference_and_another_address_and_is_limited():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as visitor:
        path = status_path(await visitor.submit(valid_form(contact_email="ned@example.com")))
        reference = await _reference(town, path)
        await visitor.get("/status")

        async def answer(ref: str, email: str):
            response = await visitor.post("/status", {"reference": ref, "email": email})
            return response.status_code, response.text.replace(ref, "REF").split('name="_csrf_token"')[0]

        unknown = await answer(f"{town.prefix}-2026-999999", "maude@example.com")
        someone_else = await answer(reference, "maude@example.com")
        assert unknown == someone_else and unknown[0] == 422
        guesses = [(await answer(reference, f"guess{n}@example.com"))[0] for n in range(9)]
        assert guesses == [422] * 9
        # Once the reference's attempts are spent, even the right address waits.
        assert (
            await visitor.post("/status", {"reference": reference, "email": "ned@example.com"})
        ).status_code == 429
        other = status_path(await visitor.submit(valid_form(contact_email="rod@example.com")))
        other_reference = await _reference(town, other)
        found = await visitor.post("/status", {"reference": other_reference, "email": "rod@example.com"})
        assert found.status_code == 303 and found.headers["location"] == other
