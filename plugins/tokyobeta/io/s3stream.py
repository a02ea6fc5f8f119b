"""Streams bytes into one S3 object by multipart upload, hashing and counting what it writes.
Nothing is visible under the key until `close()` (or `complete()`) completes the upload, which
S3 does atomically; an exception aborts it, so a failed publish never leaves a partial object
behind. `finish()` uploads the last part without completing, for a caller that has something
to do between "every byte is uploaded" and "the object replaces the one under the key".

Compressing, hashing and uploading run in a thread of their own, behind a queue, so the
writer's caller (the dump formatting rows) does not wait for them: zlib, hashlib and the socket
release the GIL on large buffers, so the two overlap. The queue is bounded in bytes, so memory
stays a few parts' worth however fast the caller writes and however large one write is. An
error in the thread is raised to the caller by its next write() or finish(). The bytes, and so
the sha256, are exactly those of the same writes made in line: same writes, same order."""

from __future__ import annotations

import collections
import hashlib
import threading
import zlib
from typing import Any

PART_BYTES = 16 * 1024 * 1024  # S3's minimum part is 5 MiB; fewer, larger parts upload faster
# What the caller may write ahead of the upload thread: enough to ride out a part's upload (the
# caller would wait otherwise), bounded in bytes, not writes, so one huge row cannot multiply it.
QUEUE_BYTES = 64 * 1024 * 1024
_END = b""  # on the queue: no more writes (write() never queues an empty one)


class _Queue:
    """A FIFO of writes holding at most QUEUE_BYTES (or one larger write)."""

    def __init__(self, limit: int):
        self._items: collections.deque[bytes] = collections.deque()
        self._bytes = 0
        self._limit = limit
        self._changed = threading.Condition()

    def put(self, item: bytes, timeout: float) -> bool:
        with self._changed:
            if self._items and self._bytes + len(item) > self._limit:
                self._changed.wait(timeout)
                if self._items and self._bytes + len(item) > self._limit:
                    return False
            self._items.append(item)
            self._bytes += len(item)
            self._changed.notify_all()
            return True

    def get(self) -> bytes:
        with self._changed:
            while not self._items:
                self._changed.wait()
            item = self._items.popleft()
            self._bytes -= len(item)
            self._changed.notify_all()
            return item

    def replace_all(self, item: bytes) -> None:
        with self._changed:
            self._items.clear()
            self._items.append(item)
            self._bytes = len(item)
            self._changed.notify_all()


class UploadFailed(RuntimeError):
    """The upload thread failed; the cause is chained."""


class MultipartWriter:
    def __init__(self, s3: Any, bucket: str, key: str, *, gzip: bool = False, content_type: str = "application/sql",
                 tagging: str | None = None):
        self.s3, self.bucket, self.key = s3, bucket, key
        self.sha256 = hashlib.sha256()
        self.bytes_written = 0
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._parts: list[dict[str, Any]] = []
        extra = {"Tagging": tagging} if tagging else {}
        self._upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type,
                                                     **extra)["UploadId"]
        self._done = False
        self._finished = False
        self._queue = _Queue(QUEUE_BYTES)
        self._error: BaseException | None = None
        self._stop = threading.Event()  # abort(): upload nothing more
        # A daemon: a caller that dies without abort() must not be kept alive by its upload.
        self._thread = threading.Thread(target=self._run, name=f"upload {key}", daemon=True)
        self._thread.start()

    # --- the caller's side ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("write after finish()")
        if data:
            self._put(data)

    def _put(self, item: bytes) -> None:
        # With a timeout, so a thread that died cannot leave the caller blocked on a full queue.
        while True:
            self._raise_error()
            if self._queue.put(item, timeout=0.5):
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            raise UploadFailed(f"uploading s3://{self.bucket}/{self.key} failed: {self._error}") from self._error

    def finish(self) -> None:
        if self._finished:
            return
        self._put(_END)
        self._thread.join()
        self._raise_error()
        self._finished = True

    def close(self) -> None:
        self.complete()

    def complete(self) -> None:
        self.finish()
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                          MultipartUpload={"Parts": self._parts})
        self._done = True

    def abort(self) -> None:
        if self._done:
            return
        self._stop.set()
        self._queue.replace_all(_END)  # whatever was still to upload, the thread's end
        # A part in flight finishes first: aborting under it could leave that part behind.
        self._thread.join(timeout=120)
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

    # --- the upload thread ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while data := self._queue.get():
                if self._stop.is_set():
                    return
                self._append(self._gzip.compress(data) if self._gzip is not None else data)
            if self._stop.is_set():
                return
            if self._gzip is not None:
                self._append(self._gzip.flush())
            if self._chunks or not self._parts:
                self._flush_part(b"".join(self._chunks))
                self._chunks.clear()
        except BaseException as exc:
            self._error = exc
            # Keep taking writes, so a caller blocked on a full queue wakes and sees the error.
            while self._queue.get():
                pass

    def _append(self, data: bytes) -> None:
        if not data:
            return
        self.sha256.update(data)
        self.bytes_written += len(data)
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= PART_BYTES:
            buffered = b"".join(self._chunks)
            self._chunks.clear()
            # Parts of exactly PART_BYTES, the rest carried into the next one.
            for start in range(0, len(buffered) - PART_BYTES + 1, PART_BYTES):
                self._flush_part(buffered[start:start + PART_BYTES])
            rest = len(buffered) % PART_BYTES
            if rest:
                self._chunks.append(buffered[-rest:])
            self._buffered = rest

    def _flush_part(self, data: bytes) -> None:
        if self._stop.is_set():
            return
        number = len(self._parts) + 1
        response = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                       PartNumber=number, Body=data)
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
