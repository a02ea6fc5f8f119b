"""Streams bytes into one S3 object by multipart upload, hashing and counting what it writes.
Nothing is visible under the key until `close()` (or `complete()`) completes the upload, which
S3 does atomically; an exception aborts it, so a failed publish never leaves a partial object
behind. `finish()` uploads the last part without completing, for a caller that has something
to do between "every byte is uploaded" and "the object replaces the one under the key"."""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

PART_BYTES = 16 * 1024 * 1024  # S3's minimum part is 5 MiB; fewer, larger parts upload faster


class MultipartWriter:
    def __init__(self, s3: Any, bucket: str, key: str, *, gzip: bool = False, content_type: str = "application/sql",
                 tagging: str | None = None):
        self.s3, self.bucket, self.key = s3, bucket, key
        self.sha256 = hashlib.sha256()
        self.bytes_written = 0
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []
        extra = {"Tagging": tagging} if tagging else {}
        self._upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type,
                                                     **extra)["UploadId"]
        self._done = False
        self._finished = False

    def write(self, data: bytes) -> None:
        if self._gzip is not None:
            data = self._gzip.compress(data)
        self._append(data)

    def _append(self, data: bytes) -> None:
        if not data:
            return
        self.sha256.update(data)
        self.bytes_written += len(data)
        self._buffer += data
        while len(self._buffer) >= PART_BYTES:
            self._flush_part(bytes(self._buffer[:PART_BYTES]))
            del self._buffer[:PART_BYTES]

    def _flush_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        response = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                       PartNumber=number, Body=data)
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def finish(self) -> None:
        if self._finished:
            return
        if self._gzip is not None:
            self._append(self._gzip.flush())
        if self._buffer or not self._parts:
            self._flush_part(bytes(self._buffer))
            self._buffer.clear()
        self._finished = True

    def close(self) -> None:
        self.complete()

    def complete(self) -> None:
        self.finish()
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                          MultipartUpload={"Parts": self._parts})
        self._done = True

    def abort(self) -> None:
        if not self._done:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._done = True

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()

    def __enter__(self) -> "MultipartWriter":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
