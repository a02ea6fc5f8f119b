"""Copies the processed dump to dumps-archive/ with tags saying it was processed, keeping the
original's tags. The caller decides whether a failure here fails the run (fail-open default)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

# S3 allows 10 tags per object; ours take 4, so at most 6 of the original's are kept.
_MAX_TAGS = 10


def archive_key(prefix: str, dump_key: str) -> str:
    return prefix + dump_key.rsplit("/", 1)[-1]


def _tags(s3: Any, bucket: str, key: str) -> dict[str, str] | None:
    """The object's tags, or None when there is no such object."""
    try:
        tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return {t["Key"]: t["Value"] for t in tag_set}


def archive(s3: Any, bucket: str, dump_key: str, prefix: str, *, run_id: str, sha256: str,
            now: datetime | None = None) -> str:
    """Idempotent: an archive copy already tagged processed with this sha256 is left as it is
    (with the run and time that first archived it), any other object at the key is replaced."""
    dest = archive_key(prefix, dump_key)
    existing = _tags(s3, bucket, dest)
    if existing and existing.get("processed") == "true" and existing.get("sha256") == sha256:
        return dest
    original = _tags(s3, bucket, dump_key)
    if original is None:
        raise FileNotFoundError(f"s3://{bucket}/{dump_key} is gone: nothing to archive")
    ours = {
        "processed": "true",
        "run_id": _tag_value(run_id),
        "processed_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": sha256,
    }
    kept = {k: v for k, v in original.items() if k not in ours}
    tags = dict(list(kept.items())[: _MAX_TAGS - len(ours)]) | ours
    # One request copies and tags: an AccessDenied on tagging leaves no untagged copy behind.
    s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": dump_key},
                   TaggingDirective="REPLACE", Tagging=urlencode(tags), MetadataDirective="COPY")
    copied, source = (s3.head_object(Bucket=bucket, Key=k)["ContentLength"] for k in (dest, dump_key))
    if copied != source:
        raise RuntimeError(f"archive copy s3://{bucket}/{dest} has {copied} bytes, the dump {source}")
    return dest


def _tag_value(text: str) -> str:
    # Tag values allow letters, digits, spaces and + - = . _ : / @ (run ids contain '+' and ':').
    return "".join(ch if ch.isalnum() or ch in " +-=._:/@" else "_" for ch in text)[:256]
