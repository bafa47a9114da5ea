"""Where the portal keeps files (citizens' photos, their thumbnails, PDF receipts): one small interface,
local disk by default, any S3-compatible store in production. Which one is configuration only.

The database keeps each file's key (domain/attachments.py), so every web and worker process finds a file
whichever of them wrote it: on one machine they share the local folder, on several an S3 bucket. Keys are
checked here, the same way for both stores, so no key reaches outside the folder or prefix it names.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from infra.settings import Settings, get_settings

# Segments of letters, digits, dot, dash and underscore, each starting with a letter or a digit: no "..",
# no absolute path, no hidden file (the local store's unfinished writes start with a dot).
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_LENGTH = 200  # what Document.storage_key holds


class BadKey(ValueError):
    """A key the stores refuse: it could name a file outside the store, or could not be kept in a row."""


class FileMissing(LookupError):
    """No file under that key (never written, swept, or deleted)."""


class StorageUnavailable(RuntimeError):
    """The store did not answer (a bucket's service down or unreachable): nothing was read or written."""


def checked(key: str) -> str:
    if len(key) > MAX_KEY_LENGTH or not KEY.fullmatch(key):
        raise BadKey(f"not a storage key: {key!r}")
    return key


@runtime_checkable  # Litestar checks each dependency against its declared type
class Storage(Protocol):
    async def put(self, key: str, content: bytes, content_type: str) -> None:
        """Writes the whole file at once: a reader sees the old file or the new one, never a part."""

    async def get(self, key: str) -> bytes:
        """The file's content; FileMissing if there is none."""

    async def delete(self, key: str) -> None:
        """Removes the file; nothing happens if there is none."""

    async def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        """Keys under `prefix` (a folder, ending in "/") of files last written before `cutoff`."""


class LocalStorage:
    """Files under `root`, a key's slashes as folders. Each write goes to a hidden file in the same folder
    first and is renamed into place, so a crash mid-write never leaves half a photo under its key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = self.root / checked(key)
        # The pattern already keeps keys inside; a symbolic link planted in the folder must not lead out.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise BadKey(f"not a storage key: {key!r}")
        return path

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), content)

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(content)
                output.flush()
                os.fsync(output.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileMissing(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        folder = self._path(prefix.rstrip("/"))
        return await asyncio.to_thread(self._older, folder, cutoff.timestamp())

    def _older(self, folder: Path, before: float) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".") and path.stat().st_mtime < before
        )


class S3Storage:
    """Objects in one bucket of an S3-compatible store (AWS S3, MinIO, Ceph, Garage, a provider's).

    boto3 is imported at the first file, not with the web process: most pages never touch a file. Its
    calls block, so they run in threads; one client serves them all (boto3 clients are thread-safe). With
    no access key the client finds credentials the usual AWS ways (environment, instance role)."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._client: Any = None
        self._lock = threading.Lock()

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                access_key_id, secret_access_key = self._credentials
                self._client = boto3.client(
                    "s3",
                    endpoint_url=self.endpoint_url or None,
                    region_name=self.region,
                    aws_access_key_id=access_key_id or None,
                    aws_secret_access_key=secret_access_key or None,
                    # Stores other than AWS's answer on one host name, the bucket in the path.
                    # A store that does not answer is said in seconds, not after a minute of retries.
                    config=Config(
                        s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                        connect_timeout=5,
                        read_timeout=30,
                        retries={"max_attempts": 3, "mode": "standard"},
                    ),
                )
            return self._client

    async def _call(self, work: Any, *arguments: Any) -> Any:
        """`work` in a thread; the store's own failures (no answer, refused, throttled) as
        StorageUnavailable, so a page can say so instead of failing."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(work, *arguments)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(str(error)) from None

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        key = checked(key)
        await self._call(
            lambda: self._s3().put_object(Bucket=self.bucket, Key=key, Body=content, ContentType=content_type)
        )

    async def get(self, key: str) -> bytes:
        return await self._call(self._read, checked(key))

    def _read(self, key: str) -> bytes:
        client = self._s3()
        try:
            answer = client.get_object(Bucket=self.bucket, Key=key)
        except client.exceptions.NoSuchKey:
            raise FileMissing(key) from None
        return answer["Body"].read()

    async def delete(self, key: str) -> None:
        key = checked(key)
        await self._call(lambda: self._s3().delete_object(Bucket=self.bucket, Key=key))

    async def keys_older_than(self, prefix: str, cutoff: datetime) -> list[str]:
        checked(prefix.rstrip("/"))
        return await self._call(self._older, prefix, cutoff)

    def _older(self, prefix: str, cutoff: datetime) -> list[str]:
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(
            item["Key"]
            for page in pages
            for item in page.get("Contents", ())
            if item["LastModified"].astimezone(UTC) < cutoff
        )


def storage_from_settings(settings: Settings) -> Storage:
    if settings.file_storage == "s3":
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalStorage(settings.file_storage_root)


@functools.cache
def configured_storage() -> Storage:
    """The store this process's settings name, for code that is handed none."""
    return storage_from_settings(get_settings())
