"""Quarantine keeps the evidence: the dump and its manifest are copied (never moved or deleted)
to dumps-quarantine/ with tags saying why, and the verdict JSON is written beside them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tokyobeta.ingest.manifest import Verdict

_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


def quarantine_keys(prefix: str, dump_key: str) -> dict[str, str]:
    name = dump_key.rsplit("/", 1)[-1]
    stem = name.split(".sql", 1)[0]
    return {"dump_copy": f"{prefix}{name}", "manifest_copy": f"{prefix}{stem}.manifest.json",
            "verdict": f"{prefix}{stem}.verdict.json"}


def _copy(s3: Any, bucket: str, source_key: str, dest_key: str, tags: str) -> str | None:
    try:
        s3.copy_object(Bucket=bucket, Key=dest_key, CopySource={"Bucket": bucket, "Key": source_key},
                       TaggingDirective="REPLACE", Tagging=tags, MetadataDirective="COPY")
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
            raise
        return None
    return dest_key


def quarantine(s3: Any, bucket: str, prefix: str, verdict: Verdict, dump_key: str, manifest_key: str,
               run_id: str | None) -> dict[str, str | None]:
    """Returns the keys written. What does not exist (a dump that never arrived) is not
    copied, but the verdict always is."""
    keys = quarantine_keys(prefix, dump_key)
    # S3 tag values allow letters, digits, spaces and + - = . _ : / @ only: no commas.
    tags = urlencode({"valid_for_etl": "false", "reason": " ".join(verdict.reasons)[:256],
                      "dump_date": verdict.dump_date.isoformat()})
    written: dict[str, str | None] = {
        "dump_copy": _copy(s3, bucket, dump_key, keys["dump_copy"], tags),
        "manifest_copy": _copy(s3, bucket, manifest_key, keys["manifest_copy"], tags),
    }
    body = {**verdict.to_dict(), "run_id": run_id, "source_dump_key": dump_key, "source_manifest_key": manifest_key,
            **written}
    s3.put_object(Bucket=bucket, Key=keys["verdict"], Body=json.dumps(body, indent=2).encode(),
                  ContentType="application/json", Tagging=tags)
    written["verdict"] = keys["verdict"]
    return written
