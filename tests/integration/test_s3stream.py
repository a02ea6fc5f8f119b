"""MultipartWriter against moto: its upload thread's output is exactly the bytes written, in
parts of PART_BYTES, plain and gzip; an upload that fails in the thread fails the caller (never
hangs it, never completes an object); abort() mid-stream leaves nothing behind."""

from __future__ import annotations

import gzip as gzip_mod
import hashlib
import os

import pytest

from tokyobeta.io import s3stream
from tokyobeta.io.s3stream import MultipartWriter

KEY = "dumps/stream.sql"


def writes(total: int, size: int = 1_000_003) -> list[bytes]:
    block = os.urandom(size // 2).hex().encode()[:size]
    return [block[: min(size, total - start)] for start in range(0, total, size)]


def objects(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.mark.parametrize("gzip", [False, True])
def test_the_object_is_the_bytes_written_in_parts_of_part_bytes(s3, bucket, gzip):
    data = writes(2 * s3stream.PART_BYTES + 12_345)
    writer = MultipartWriter(s3, bucket, KEY, gzip=gzip)
    for chunk in data:
        writer.write(chunk)
    writer.write(b"")
    writer.finish()
    (upload,) = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    sizes = [p["Size"] for p in s3.list_parts(Bucket=bucket, Key=KEY, UploadId=upload["UploadId"])["Parts"]]
    writer.complete()
    body = s3.get_object(Bucket=bucket, Key=KEY)["Body"].read()
    assert (len(body), hashlib.sha256(body).hexdigest()) == (writer.bytes_written, writer.hexdigest())
    assert (gzip_mod.decompress(body) if gzip else body) == b"".join(data)
    assert sum(sizes) == len(body) and all(size == s3stream.PART_BYTES for size in sizes[:-1])
    assert len(sizes) == -(-len(body) // s3stream.PART_BYTES)


def test_an_upload_failing_in_the_thread_fails_the_caller_and_completes_nothing(s3, bucket):
    writer = MultipartWriter(s3, bucket, KEY)
    # the upload disappears under the writer: every upload_part now fails (moto: a 500, retried)
    (upload,) = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    s3.abort_multipart_upload(Bucket=bucket, Key=KEY, UploadId=upload["UploadId"])
    with pytest.raises(s3stream.UploadFailed, match="UploadPart") as failed:
        for chunk in writes(s3stream.QUEUE_BYTES + 3 * s3stream.PART_BYTES):
            writer.write(chunk)
        writer.finish()
    assert failed.value.__cause__ is not None
    with pytest.raises(s3stream.UploadFailed):
        writer.finish()
    assert objects(s3, bucket) == []


def test_abort_mid_stream_leaves_no_object_and_no_upload(s3, bucket):
    writer = MultipartWriter(s3, bucket, KEY)
    for chunk in writes(3 * s3stream.PART_BYTES):
        writer.write(chunk)
    writer.abort()
    assert not writer._thread.is_alive()
    assert objects(s3, bucket) == [] and s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
