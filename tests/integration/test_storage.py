"""Files through one storage interface: the local folder and a real S3-compatible server (moto's, on
loopback) keep the same promises; and the photo pipeline on top of them: what a citizen sends is stored
re-encoded without its GPS position, with a thumbnail and the words they wrote for it, held across a
re-rendered form and attached once however often the form is posted, and never reachable from another
town. Receipts are kept there too, with the photos' thumbnails drawn in them."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from pypdf import PdfReader

from apps.web import create_app
from domain import attachments, submissions
from domain import requests as request_service
from domain.intake import Submission
from domain.tables import Document, RequestEvent
from infra import images
from infra.mail import Mailer
from infra.settings import PROJECT_ROOT, Settings, SettingsError, get_settings
from infra.storage import BadKey, FileMissing, LocalStorage, S3Storage, storage_from_settings
from infra.temporal_dev import free_port, port_open
from tests.integration.test_photos_and_flooding import jpeg_with_gps, png
from tests.support.factories import make_town, valid_form
from tests.support.portal import PortalClient, status_path
from tests.support.services import PATIENCE, offline_settings
from workflows.service_request.activities import RequestActivities
from workflows.service_request.models import ReceiptInput

OFFLINE = offline_settings()
HELD = re.compile(r'name="held_photo-(\d+)" value="([^"]+)"')
ESCAPING_KEYS = [
    "../outside",
    "a/../../outside",
    "/etc/passwd",
    ".hidden",
    "a//b",
    "a/./b",
    "a\\b",
    "",
    "a" * 201,
]


# --- the stores ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-compatible server, a process of its own on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + PATIENCE
    while not port_open(port):
        assert process.poll() is None, "the S3 server exited"
        assert time.monotonic() < deadline, "the S3 server did not listen in time"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


def _bucket(endpoint: str) -> S3Storage:
    store = S3Storage(
        f"portal-{uuid.uuid4().hex[:12]}",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="portal-test",
        secret_access_key="portal-test-secret",
    )
    store._s3().create_bucket(Bucket=store.bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return _bucket(request.getfixturevalue("s3_server"))


async def test_a_file_goes_in_comes_back_is_replaced_whole_and_is_deleted(store):
    key = "7/photos/0123abcd.jpg"
    with pytest.raises(FileMissing):
        await store.get(key)
    await store.put(key, b"first", "image/jpeg")
    assert await store.get(key) == b"first"
    await store.put(key, b"second, longer", "image/jpeg")
    assert await store.get(key) == b"second, longer"
    await store.delete(key)
    await store.delete(key)  # a second time: nothing there, no error
    with pytest.raises(FileMissing):
        await store.get(key)


async def test_the_files_under_a_folder_are_listed_by_age(store):
    await store.put("held/1/a.jpg", b"a", "image/jpeg")
    await store.put("held/2/b.jpg", b"b", "image/jpeg")
    await store.put("1/photos/c.jpg", b"c", "image/jpeg")
    later, earlier = datetime.now(UTC) + timedelta(minutes=5), datetime.now(UTC) - timedelta(hours=1)
    assert await store.keys_older_than("held/", later) == ["held/1/a.jpg", "held/2/b.jpg"]
    assert await store.keys_older_than("held/", earlier) == []
    assert await store.keys_older_than("nothing/", later) == []


@pytest.mark.parametrize("key", ESCAPING_KEYS)
async def test_a_key_that_could_leave_the_store_is_refused_before_anything_is_done(store, key):
    for attempt in (store.put(key, b"x", "image/jpeg"), store.get(key), store.delete(key)):
        with pytest.raises(BadKey):
            await attempt


async def test_a_link_planted_in_the_folder_does_not_lead_out_of_it(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "files"
    root.mkdir()
    (root / "escape").symlink_to(outside)
    store = LocalStorage(root)
    with pytest.raises(BadKey):
        await store.get("escape/secret.txt")
    with pytest.raises(BadKey):
        await store.put("escape/planted.txt", b"x", "text/plain")
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]


async def test_a_write_that_fails_leaves_the_file_as_it_was_and_nothing_half_written(tmp_path):
    store = LocalStorage(tmp_path / "files")
    await store.put("1/documents/receipt.pdf", b"%PDF whole", "application/pdf")
    with pytest.raises(TypeError):
        await store.put("1/documents/receipt.pdf", "not bytes", "application/pdf")  # type: ignore[arg-type]
    assert await store.get("1/documents/receipt.pdf") == b"%PDF whole"
    assert [path.name for path in (tmp_path / "files" / "1" / "documents").iterdir()] == ["receipt.pdf"]


async def test_the_s3_store_keeps_the_media_type_and_answers_missing_for_an_unknown_key(s3_server):
    store = _bucket(s3_server)
    await store.put("3/photos/x.webp", b"RIFF", "image/webp")
    head = store._s3().head_object(Bucket=store.bucket, Key="3/photos/x.webp")
    assert head["ContentType"] == "image/webp"
    with pytest.raises(FileMissing):
        await store.get("3/photos/missing.webp")


# --- configuration ------------------------------------------------------------------------------------------


def test_the_settings_pick_the_store_and_refuse_combinations_that_cannot_work(tmp_path):
    base = Settings()
    local = storage_from_settings(base)
    assert isinstance(local, LocalStorage) and local.root == base.var_dir / "files"
    chosen = storage_from_settings(dataclasses.replace(base, file_storage_dir=str(tmp_path)))
    assert isinstance(chosen, LocalStorage) and chosen.root == tmp_path
    s3 = storage_from_settings(
        dataclasses.replace(base, file_storage="s3", s3_bucket="photos", s3_endpoint_url="https://s3.example")
    )
    assert isinstance(s3, S3Storage) and (s3.bucket, s3.endpoint_url) == ("photos", "https://s3.example")
    wrong = {
        "FILE_STORAGE must be local or s3": {"file_storage": "ftp"},
        "needs S3_BUCKET": {"file_storage": "s3"},
        "FILE_STORAGE is local": {"s3_bucket": "photos"},
        "FILE_STORAGE_DIR is for": {"file_storage": "s3", "s3_bucket": "b", "file_storage_dir": "/srv"},
        "together, or neither": {"file_storage": "s3", "s3_bucket": "b", "s3_access_key_id": "AKIA"},
        "http:// or https://": {"file_storage": "s3", "s3_bucket": "b", "s3_endpoint_url": "s3.example"},
    }
    for message, values in wrong.items():
        with pytest.raises(SettingsError, match=message):
            dataclasses.replace(base, **values)


def test_a_web_process_loads_neither_the_s3_client_nor_the_heic_reader_as_it_starts():
    """Both come at the first file that needs them; the web process's memory target counts on it."""
    script = (
        "import sys, apps.web\napps.web.create_app()\n"
        "print(','.join(name for name in ('boto3', 'botocore', 'pillow_heif') if name in sys.modules))\n"
    )
    environment = {"FILE_STORAGE": "s3", "S3_BUCKET": "photos", "S3_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **environment},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# --- the photo pipeline -------------------------------------------------------------------------------------


def heic_with_gps() -> bytes:
    """An iPhone-like HEIC: its GPS position and the camera's make in EXIF."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 30.0, 12.5)
    output = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 60)).save(output, format="HEIF", exif=exif.tobytes())
    return output.getvalue()


def test_a_thumbnail_is_a_small_jpeg_made_behind_the_same_guard_as_the_photo():
    transparent = io.BytesIO()
    Image.new("RGBA", (800, 400), (10, 20, 30, 0)).save(transparent, "PNG")
    small = Image.open(io.BytesIO(images.thumbnail(transparent.getvalue())))
    assert small.format == "JPEG" and small.size == (320, 160) and small.getpixel((5, 5)) == (255, 255, 255)
    for bomb in (png(12_001, 1), png(30_000, 30_000)):
        with pytest.raises(images.BadImage):
            images.thumbnail(bomb)


def files(*photos: tuple[str, bytes]) -> dict:
    """The form's photo places, filled in order."""
    return {
        f"photo-{n}": (name, content, "application/octet-stream")
        for n, (name, content) in enumerate(photos, 1)
    }


def storage() -> LocalStorage:
    """The store the app under test writes to."""
    store = storage_from_settings(OFFLINE)
    assert isinstance(store, LocalStorage)
    return store


async def _post(citizen: PortalClient, form: dict, photos: dict | None = None):
    return await citizen.post("/requests", form, files=photos or None)


async def _documents(town, path: str) -> list[dict]:
    async with town.scope.transaction():
        item = await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])
        assert item is not None
        return (
            await town.scope.select(Document)
            .where((Document.request == item.id) & (Document.kind == "photo"))
            .order_by(Document.id)
        )


async def _photo_lines(town, path: str) -> int:
    async with town.scope.transaction():
        item = await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])
        return await town.scope.count(RequestEvent).where(
            (RequestEvent.request == item.id) & (RequestEvent.kind == "photo")
        )


def _held_files(town) -> list[Path]:
    folder = storage().root / "held" / str(town.id)
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_a_heic_photo_is_stored_as_a_jpeg_without_its_gps_with_a_thumbnail_and_its_description():
    town = await make_town()
    original = heic_with_gps()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        sent = await _post(
            citizen,
            valid_form(**{"photo_alt-1": "Pothole by the curb"}),
            files(("IMG_0001.HEIC", original)),
        )
        path = status_path(sent)
        (row,) = await _documents(town, path)
        assert (row["content_type"], row["alt_text"], bytes(row["content"])) == (
            "image/jpeg",
            "Pothole by the curb",
            b"",
        )
        assert row["storage_key"].startswith(f"{town.id}/photos/")
        stored = await storage().get(row["storage_key"])
        image = Image.open(io.BytesIO(stored))
        assert image.format == "JPEG" and image.size == (640, 480)
        assert not image.getexif() and b"PhoneMaker" not in stored and b"Exif" not in stored
        thumbnail = Image.open(io.BytesIO(await storage().get(row["thumbnail_key"])))
        assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320 and not thumbnail.getexif()
        page = (await citizen.get(path)).text
        assert f'srcset="{path}/photos/{row["id"]}/thumbnail 320w"' in page and "Pothole by the curb" in page
        served = await citizen.get(f"{path}/photos/{row['id']}")
        assert served.content == stored and served.headers["content-type"] == "image/jpeg"
        small = await citizen.get(f"{path}/photos/{row['id']}/thumbnail")
        assert small.headers["content-type"] == "image/jpeg" and len(small.content) < len(stored)
    assert await _photo_lines(town, path) == 1
    assert _held_files(town) == []  # moved to the request


async def test_held_photos_survive_a_re_render_and_attach_once_however_often_the_form_is_posted():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        form = valid_form(contact_name="")
        shown = await _post(
            citizen, {**form, "photo_alt-1": "Cracked kerb"}, files(("a.jpg", jpeg_with_gps()))
        )
        assert shown.status_code == 422 and "Enter your name." in shown.text
        ((number, token),) = HELD.findall(shown.text)
        assert 'value="Cracked kerb"' in shown.text and 'src="data:image/jpeg;base64,' in shown.text
        assert len(_held_files(town)) == 2  # the photo and its thumbnail
        fixed = {**form, "contact_name": "Ned", f"held_photo-{number}": token}
        fixed[f"held_photo_alt-{number}"] = "Cracked kerb, about a metre long"
        first = status_path(await citizen.post("/requests", fixed))
        again = status_path(await citizen.post("/requests", fixed))  # the answer was lost: sent again
    assert again == first
    (row,) = await _documents(town, first)
    assert row["alt_text"] == "Cracked kerb, about a metre long"
    assert await _photo_lines(town, first) == 1
    assert _held_files(town) == []


async def test_a_form_posted_twice_with_its_photos_chosen_attaches_them_once():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        form = valid_form()
        photo = files(("a.jpg", jpeg_with_gps()))
        first = status_path(await _post(citizen, form, photo))
        again = status_path(await citizen.post("/requests", form, files=photo))
    assert again == first and len(await _documents(town, first)) == 1


async def test_a_removed_held_photo_is_forgotten_and_the_others_kept():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        form = valid_form(contact_email="")
        shown = await _post(citizen, form, files(("a.jpg", jpeg_with_gps()), ("b.png", png(40, 30))))
        held = dict(HELD.findall(shown.text))
        assert len(held) == 2
        fixed = {**form, "contact_email": "ned@example.com", "held_photo_remove-1": "1"}
        fixed |= {f"held_photo-{number}": token for number, token in held.items()}
        path = status_path(await citizen.post("/requests", fixed))
    (row,) = await _documents(town, path)
    assert row["content_type"] == "image/png"


async def test_a_bad_photo_or_a_bomb_is_refused_by_the_photo_field_and_the_good_one_is_held():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        bomb = png(30_000, 30_000)
        answer = await _post(
            citizen,
            valid_form(),
            files(("ok.jpg", jpeg_with_gps()), ("bomb.png", bomb), ("x.gif", b"GIF89a")),
        )
    assert answer.status_code == 422
    assert 'id="photo-error"' in answer.text
    assert "JPEG, PNG or WebP format (or HEIC), up to 5 MB." in answer.text
    assert '<a href="#photo">' in answer.text  # the error summary leads to the photo fields
    assert len(HELD.findall(answer.text)) == 1 and len(_held_files(town)) == 2


async def test_more_photos_than_a_request_takes_are_refused_with_a_message_and_the_first_kept():
    town = await make_town()
    app = create_app(dataclasses.replace(OFFLINE, photos_per_request=2))
    async with PortalClient(app, town.host) as citizen:
        assert (await citizen.get("/")).text.count('type="file"') == 2  # one place per photo it may take
        photo = jpeg_with_gps()
        three = files(("a.jpg", photo), ("b.jpg", photo + b"1"), ("c.jpg", photo + b"2"))
        answer = await _post(citizen, valid_form(), three)
        assert answer.status_code == 422 and "more photos than a request can take" in answer.text
        held = HELD.findall(answer.text)
        assert len(held) == 2 and 'type="file"' not in answer.text  # full: no place for another
        form = {**valid_form(), **{f"held_photo-{number}": token for number, token in held}}
        path = status_path(await citizen.post("/requests", form))
    assert len(await _documents(town, path)) == 2


async def test_a_description_too_long_is_refused_and_kept_as_typed():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        words = "a very long description " * 20
        answer = await _post(citizen, valid_form(**{"photo_alt-1": words}), files(("a.jpg", jpeg_with_gps())))
    assert answer.status_code == 422 and "300 characters or fewer" in answer.text
    assert words.strip() in answer.text


async def test_another_town_reaches_no_photo_by_its_id_its_token_or_its_key():
    town, other = await make_town(), await make_town("Shelbyville")
    app = create_app(OFFLINE)
    async with PortalClient(app, town.host) as citizen:
        shown = await _post(citizen, valid_form(contact_name=""), files(("a.jpg", jpeg_with_gps())))
        ((_, token),) = HELD.findall(shown.text)
        path = status_path(await _post(citizen, valid_form(), files(("b.jpg", jpeg_with_gps()))))
    (photo,) = await _documents(town, path)
    async with PortalClient(app, other.host) as neighbour:
        assert (await neighbour.get(f"{path}/photos/{photo['id']}")).status_code == 404
        own = status_path(await _post(neighbour, valid_form()))
        for suffix in ("", "/thumbnail"):
            assert (await neighbour.get(f"{own}/photos/{photo['id']}{suffix}")).status_code == 404
        # The first town's held token, posted with the other town's form: no file of theirs is found.
        taken = await neighbour.post("/requests", {**valid_form(), "held_photo-1": token})
        assert taken.status_code == 422 and "no longer kept" in taken.text
        # A row of the other town naming the first town's file (only a bug or a hand could write it).
        async with other.scope.transaction():
            item = await request_service.get_by_token(other.scope, own.rsplit("/", 1)[1])
            planted = other.scope.new(
                Document,
                request=item.id,
                kind="photo",
                filename="p.jpg",
                content_type="image/jpeg",
                content=b"",
                storage_key=photo["storage_key"],
                thumbnail_key=photo["thumbnail_key"],
            )
            await planted.save()
        for suffix in ("", "/thumbnail"):
            assert (await neighbour.get(f"{own}/photos/{planted.id}{suffix}")).status_code == 404


async def test_photos_kept_in_the_database_before_storage_are_still_served():
    town = await make_town()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        path = status_path(await _post(citizen, valid_form()))
        async with town.scope.transaction():
            item = await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])
            old = town.scope.new(
                Document, request=item.id, kind="photo", filename="photo-1.jpg", content_type="image/jpeg"
            )
            old.content = jpeg_with_gps()
            await old.save()
        full = await citizen.get(f"{path}/photos/{old.id}")
        small = await citizen.get(f"{path}/photos/{old.id}/thumbnail")
    assert full.content == old.content
    assert Image.open(io.BytesIO(small.content)).format == "JPEG"


async def test_held_photos_of_forms_never_sent_are_swept_and_attached_ones_stay():
    town = await make_town()
    store = storage()
    async with PortalClient(create_app(OFFLINE), town.host) as citizen:
        await _post(citizen, valid_form(contact_name=""), files(("a.jpg", jpeg_with_gps())))
        path = status_path(await _post(citizen, valid_form(), files(("b.jpg", jpeg_with_gps()))))
    assert len(_held_files(town)) == 2
    await attachments.sweep_held(store, older_than=timedelta(hours=1))
    assert len(_held_files(town)) == 2  # a form that may still be sent
    assert await attachments.sweep_held(store, older_than=timedelta(0)) >= 2
    assert _held_files(town) == []
    (row,) = await _documents(town, path)
    assert await store.get(row["storage_key"]) and await store.get(row["thumbnail_key"])


# --- receipts -----------------------------------------------------------------------------------------------


async def _request_with_photo(town, alt_text: str) -> int:
    async with town.scope.transaction():
        result = await submissions.submit(
            town.scope,
            town.prefix,
            Submission(
                "pothole", "A deep pothole.", "Ned", "ned@example.com", uuid.uuid4().hex, address="1 Main"
            ),
            "en",
        )
        await attachments.add_photo(town.scope, result.request_id, jpeg_with_gps(), 10, alt_text)
    return result.request_id


async def test_the_receipt_is_kept_in_storage_and_draws_each_photos_thumbnail_with_its_description():
    town = await make_town()
    request_id = await _request_with_photo(town, "Pothole next to the drain")
    settings = get_settings()
    activities = RequestActivities(
        settings, Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    )
    try:
        await activities.render_receipt(ReceiptInput(town.id, request_id))
        again = await activities.render_receipt(ReceiptInput(town.id, request_id))  # a retried render
    finally:
        await activities.pdf.close()
    async with town.scope.transaction():
        rows = await town.scope.select(Document).where(
            (Document.request == request_id) & (Document.kind == "receipt")
        )
        receipt = await attachments.get_document(town.scope, activities.storage, request_id, "receipt")
    assert [row["id"] for row in rows] == [again]  # one receipt, whatever the retries
    assert bytes(rows[0]["content"]) == b"" and rows[0]["storage_key"].startswith(f"{town.id}/documents/")
    assert receipt is not None and receipt.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(receipt.content))
    sizes = [(image.image.width, image.image.height) for page in reader.pages for image in page.images]
    assert (64, 48) in sizes  # the photo's thumbnail (a small photo is not enlarged), beside the QR code
    assert "Pothole next to the drain" in "".join(page.extract_text() for page in reader.pages)


async def test_a_receipt_kept_in_the_database_before_storage_is_still_served():
    town = await make_town()
    request_id = await _request_with_photo(town, "")
    async with town.scope.transaction():
        await town.scope.new(
            Document, request=request_id, kind="receipt", filename="old.pdf", content=b"%PDF-1.7 old"
        ).save()
        found = await attachments.get_document(town.scope, storage(), request_id, "receipt")
    assert found is not None and (found.filename, found.content) == ("old.pdf", b"%PDF-1.7 old")


async def test_a_row_from_another_town_is_not_found_by_this_towns_scope():
    """The scope, not the key, decides: the same id read as another town is no photo at all."""
    town, other = await make_town(), await make_town("Shelbyville")
    request_id = await _request_with_photo(town, "")
    async with town.scope.transaction():
        (photo,) = await attachments.photos(town.scope, request_id)
    async with other.scope.transaction():
        assert await attachments.photo(other.scope, storage(), request_id, photo.id) is None
        assert await attachments.photos(other.scope, request_id) == []
    async with town.scope.transaction():
        assert await attachments.photo(town.scope, storage(), request_id, photo.id) is not None


async def test_a_store_that_does_not_answer_keeps_the_form_and_says_so():
    """A bucket's service down: the form comes back with everything typed and a message by the photos, and
    a photo's address answers 503, not a server error."""
    down = dataclasses.replace(
        offline_settings(), file_storage="s3", s3_bucket="photos", s3_endpoint_url="http://127.0.0.1:9"
    )
    town = await make_town()
    app = create_app(down)
    async with PortalClient(app, town.host) as citizen:
        await citizen.get("/")
        form = valid_form(description="A pothole, with a photo the store cannot take.")
        answer = await citizen.http.post(
            "/requests",
            data={"_csrf_token": citizen._csrf, **form, "photo_alt-1": "The hole"},
            files={"photo-1": ("hole.jpg", jpeg_with_gps(), "image/jpeg")},
        )
        assert answer.status_code == 422
        assert 'id="photo-error"' in answer.text and "Photos cannot be kept just now" in answer.text
        assert "A pothole, with a photo the store cannot take.</textarea>" in answer.text
        path = status_path(await citizen.submit(valid_form()))
        async with town.scope.transaction():
            row = await request_service.get_by_token(town.scope, path.rsplit("/", 1)[1])
            await town.scope.new(
                Document, request=row.id, kind="photo", content_type="image/jpeg", content=b"",
                filename="photo-1.jpg", storage_key=f"{town.id}/photos/missing.jpg",
            ).save()  # fmt: skip
            photo_id = (
                await town.scope.select(Document, Document.id).where(Document.request == row.id).first()
            )["id"]
        gone = await citizen.get(f"{path}/photos/{photo_id}")
        assert gone.status_code == 503 and "Photos and receipts cannot be shown just now" in gone.text
