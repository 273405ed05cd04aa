"""Storing a firmware file: its size and SHA-256 are taken while the upload streams to storage,
one pass over the bytes, never by reading the whole file into memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile

from accounts.models import User
from stations.models import FirmwareVersion


class _Hashing(File):
    """Hands the upload's chunks to the storage and hashes them on the way. It has no
    ``temporary_file_path``, so the storage writes the chunks instead of moving the temporary
    file (which would skip the hashing)."""

    def __init__(self, upload: UploadedFile) -> None:
        super().__init__(None, name=upload.name)
        self.upload = upload
        self.size = upload.size
        self.digest = hashlib.sha256()
        self.counted = 0

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        for chunk in self.upload.chunks(chunk_size):
            self.digest.update(chunk)
            self.counted += len(chunk)
            yield chunk

    def open(self, mode=None):  # the storage reopens what it is given; the upload stays open
        return self

    def close(self) -> None:
        pass


def firmware_store_file(*, firmware: FirmwareVersion, upload: UploadedFile, user: User) -> None:
    """Save ``upload`` as the firmware's file with its size, hash and uploader (not saved to the
    database: the caller saves the firmware)."""
    hashing = _Hashing(upload)
    firmware.file.save(upload.name, hashing, save=False)
    firmware.file_size = hashing.counted
    firmware.file_sha256 = hashing.digest.hexdigest()
    firmware.uploaded_by = user if user.is_authenticated else None


class FirmwareSizeCap(FileUploadHandler):
    """First of a request's upload handlers: drops a file the moment it passes ``limit`` bytes
    (the rest of it is read and discarded, never written), so an oversized upload cannot fill
    the disk before the form refuses it."""

    def __init__(self, request=None, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.refused = False

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refused = True
            raise SkipFile
        return raw_data  # on to the handler that stores it

    def file_complete(self, file_size: int) -> None:
        return None

    def message(self) -> str:
        mb = self.limit // (1024 * 1024)
        return f"This file is over {mb} MB; a firmware file may be at most {mb} MB."
