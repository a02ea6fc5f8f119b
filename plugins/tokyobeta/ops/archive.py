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


def archive(s3: Any, bucket: str, dump_key: str, prefix: str, *, run_id: str, sha256: str,
            now: datetime | None = None) -> str:
    dest = archive_key(prefix, dump_key)
    original = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=dump_key)["TagSet"]}
    ours = {
        "processed": "true",
        "run_id": _tag_value(run_id),
        "processed_at": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": sha256,
    }
    kept = {k: v for k, v in original.items() if k not in ours}
    tags = dict(list(kept.items())[: _MAX_TAGS - len(ours)]) | ours
    s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": dump_key},
                   TaggingDirective="REPLACE", Tagging=urlencode(tags), MetadataDirective="COPY")
    return dest


def _tag_value(text: str) -> str:
    # Tag values allow letters, digits, spaces and + - = . _ : / @ (run ids contain '+' and ':').
    return "".join(ch if ch.isalnum() or ch in " +-=._:/@" else "_" for ch in text)[:256]
