"""Quarantine keeps the evidence: the dump is copied (never moved or deleted) to
dumps-quarantine/ with tags saying why, and the verdict JSON is written beside it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tokyobeta.ingest.manifest import Verdict


def quarantine_keys(prefix: str, dump_key: str) -> tuple[str, str]:
    name = dump_key.rsplit("/", 1)[-1]
    stem = name.split(".sql", 1)[0]
    return f"{prefix}{name}", f"{prefix}{stem}.verdict.json"


def quarantine(s3: Any, bucket: str, prefix: str, verdict: Verdict, dump_key: str,
               run_id: str | None) -> dict[str, str | None]:
    """Returns the keys written. A dump that does not exist is not copied, but the verdict is."""
    copy_key, verdict_key = quarantine_keys(prefix, dump_key)
    # S3 tag values allow letters, digits, spaces and + - = . _ : / @ only: no commas.
    tags = urlencode({"valid_for_etl": "false", "reason": " ".join(verdict.reasons)[:256],
                      "dump_date": verdict.dump_date.isoformat()})
    copied: str | None = copy_key
    try:
        s3.copy_object(Bucket=bucket, Key=copy_key, CopySource={"Bucket": bucket, "Key": dump_key},
                       TaggingDirective="REPLACE", Tagging=tags, MetadataDirective="COPY")
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "404"}:
            raise
        copied = None
    body = {**verdict.to_dict(), "run_id": run_id, "quarantined_copy": copied}
    s3.put_object(Bucket=bucket, Key=verdict_key, Body=json.dumps(body, indent=2).encode(),
                  ContentType="application/json", Tagging=tags)
    return {"dump_copy": copied, "verdict": verdict_key}
