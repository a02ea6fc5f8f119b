"""archive_dump inside the real daily DAG (every other task marked success), against moto S3:
tags, the original's tags kept, idempotent reruns, fail-open with an SNS warning, strict mode.

The fault is injected into botocore itself: a before-send handler on every new botocore session
answers CopyObject into dumps-archive/ with S3's own 403 AccessDenied XML, which botocore
parses into the ClientError the task sees. Our code is not patched."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone

import pytest

from tokyobeta.ingest.manifest import Manifest, Source
from tokyobeta.ops import rundag

pytestmark = pytest.mark.slow

DAY = date(2026, 7, 2)
DUMP_KEY = f"dumps/gghouse_{DAY:%Y%m%d}.sql"
ARCHIVE_KEY = f"dumps-archive/gghouse_{DAY:%Y%m%d}.sql"
BODY = b"-- MariaDB dump\nCREATE TABLE `tenants` (`id` int);\n"
ORIGINAL_TAGS = {"source": "gghouse", "retention": "90d"}
ACCESS_DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                 b"<Message>Access Denied</Message><RequestId>FAULT-INJECTED</RequestId></Error>")


@pytest.fixture
def published(s3, bucket, monkeypatch) -> Manifest:
    monkeypatch.setenv("TASK_RETRIES", "0")
    stamp = datetime(2026, 7, 1, 16, 45, tzinfo=timezone.utc)
    manifest = Manifest(DAY, DUMP_KEY, len(BODY), hashlib.sha256(BODY).hexdigest(),
                        Source("db.local", "gghouse", "tokyobeta/test/source"), True, True, (),
                        {"tenants": 1, "movings": 1, "rooms": 1, "apartments": 1, "inquiries": 0},
                        stamp, stamp, stamp)
    s3.put_object(Bucket=bucket, Key=DUMP_KEY, Body=BODY, Tagging="source=gghouse&retention=90d")
    s3.put_object(Bucket=bucket, Key=f"dumps-manifest/gghouse_{DAY:%Y%m%d}.json", Body=manifest.to_json())
    return manifest


@pytest.fixture
def deny_archive_copies(monkeypatch) -> list[str]:
    import botocore.handlers
    from botocore.awsrequest import AWSResponse

    denied: list[str] = []

    class Raw:
        def stream(self, **_):
            yield ACCESS_DENIED

    def deny(request, **_):
        if request.method == "PUT" and "/dumps-archive/" in request.url:
            denied.append(request.url)
            return AWSResponse(request.url, 403, {"Content-Type": "application/xml"}, Raw())
        return None

    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS",
                        [*botocore.handlers.BUILTIN_HANDLERS, ("before-send.s3.CopyObject", deny)])
    return denied


def run_archive_only(conf: dict | None = None) -> tuple[str, dict[str, str]]:
    dag = rundag.load_dag("tokyobeta_daily_etl")
    others = "|".join(re.escape(t) for t in dag.task_ids if t != "archive_dump")
    state, tasks = rundag.run_day("tokyobeta_daily_etl", DAY, conf, mark_success_pattern=others)
    return state, dict(tasks)


def tags_of(s3, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def kinds(messages: list[dict]) -> list[str]:
    return sorted(m["MessageAttributes"]["kind"]["Value"] for m in messages)


def test_archive_tags_keep_the_originals_and_a_rerun_changes_nothing(s3, bucket, inbox, published):
    state, tasks = run_archive_only()
    assert state == "success" and tasks["archive_dump"] == "success"
    tags = tags_of(s3, bucket, ARCHIVE_KEY)
    run_id = f"manual__{rundag.logical_date_for(DAY, '0 2 * * *').isoformat()}"
    assert tags.pop("processed_at") <= datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert tags == {**ORIGINAL_TAGS, "processed": "true", "sha256": published.dump_sha256, "run_id": run_id}
    assert s3.get_object(Bucket=bucket, Key=ARCHIVE_KEY)["Body"].read() == BODY
    first = s3.head_object(Bucket=bucket, Key=ARCHIVE_KEY)["LastModified"], tags_of(s3, bucket, ARCHIVE_KEY)

    assert run_archive_only()[0] == "success"
    assert (s3.head_object(Bucket=bucket, Key=ARCHIVE_KEY)["LastModified"], tags_of(s3, bucket, ARCHIVE_KEY)) == first
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dumps-archive/")["KeyCount"] == 1
    assert inbox.messages() == []


def test_a_stale_archive_copy_of_another_dump_is_replaced(s3, bucket, inbox, published):
    s3.put_object(Bucket=bucket, Key=ARCHIVE_KEY, Body=b"older dump", Tagging=f"processed=true&sha256={'0' * 64}")
    assert run_archive_only()[0] == "success"
    assert s3.get_object(Bucket=bucket, Key=ARCHIVE_KEY)["Body"].read() == BODY
    assert tags_of(s3, bucket, ARCHIVE_KEY)["sha256"] == published.dump_sha256


def test_fail_open_warns_on_sns_and_the_run_succeeds(s3, bucket, inbox, published, deny_archive_copies):
    state, tasks = run_archive_only()
    assert state == "success" and tasks["archive_dump"] == "success"
    assert len(deny_archive_copies) == 1, "the fault must have been hit by the task's own S3 call"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="dumps-archive/")["KeyCount"] == 0
    (warning,) = inbox.messages()
    assert warning["Subject"] == f"[tokyobeta] archive of dump {DAY} failed (run continues)"
    assert {k: v["Value"] for k, v in warning["MessageAttributes"].items()} == \
        {"severity": "WARNING", "dag_id": "tokyobeta_daily_etl", "kind": "archive_warning"}
    assert warning["Message"].startswith("botocore.errorfactory.AccessDenied: An error occurred (AccessDenied) "
                                         "when calling the CopyObject operation: Access Denied\n")
    assert "DAILY_FAIL_ON_ARCHIVE_ERROR=true makes this fail the run" in warning["Message"]


def test_strict_mode_fails_the_run_and_alerts_as_a_failure(s3, bucket, inbox, published, deny_archive_copies):
    state, tasks = run_archive_only({"daily_fail_on_archive_error": True})
    assert state == "failed" and tasks["archive_dump"] == "failed"
    messages = inbox.messages()
    assert kinds(messages) == ["dag_failure", "task_failure"], "no fail-open warning in strict mode"
    (failure,) = [m for m in messages if m["MessageAttributes"]["kind"]["Value"] == "task_failure"]
    assert failure["Subject"] == "[tokyobeta] FAILED tokyobeta_daily_etl.archive_dump"
    assert "(AccessDenied) when calling the CopyObject operation" in failure["Message"]
