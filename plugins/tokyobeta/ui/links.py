"""Links from a task to the S3 objects it used (operator extra links, the buttons in a task
instance's details). A task records the objects it read or wrote with `record_s3_objects`;
the links read that record back, so a button opens exactly the object the run used (the
manifest may name a .sql.gz dump, a Variable may have moved the bucket). A task that used no
such object shows the button disabled. Registered by plugins/tokyobeta_plugin.py."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping
from urllib.parse import quote

from airflow.models.baseoperatorlink import BaseOperatorLink
from airflow.models.xcom import XCom
from airflow.operators.python import PythonOperator, ShortCircuitOperator

from tokyobeta import settings

XCOM_KEY = "s3_objects"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def record_s3_objects(context: Mapping[str, Any], bucket: str, **keys: str | None) -> None:
    """Adds `label=key` objects of `bucket` to what this task instance used."""
    ti = context["ti"]
    used = dict(ti.xcom_pull(task_ids=ti.task_id, key=XCOM_KEY) or {})
    used.update({label: s3_uri(bucket, key) for label, key in keys.items() if key})
    ti.xcom_push(key=XCOM_KEY, value=used)


CONSOLE_URL = "https://console.aws.amazon.com/s3/object/{bucket}?prefix={key}"
PRESIGNED_SECONDS = 3600


def browser_url(uri: str, cfg: settings.Settings | None = None) -> str:
    cfg = cfg or settings.from_env()
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if cfg.s3_links == "presigned":
        from tokyobeta.io import aws

        return aws.s3(cfg.aws_conn_id).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGNED_SECONDS)
    return CONSOLE_URL.format(bucket=quote(bucket), key=quote(key, safe=""))


class S3ObjectLink(BaseOperatorLink):
    """One button per kind of object; the subclasses name the kind."""

    label: ClassVar[str] = ""
    operators: ClassVar[list[type]] = [PythonOperator, ShortCircuitOperator]

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        used = XCom.get_value(ti_key=ti_key, key=XCOM_KEY) or {}
        uri = used.get(self.label) if isinstance(used, dict) else None
        return browser_url(uri) if uri else ""


class ManifestLink(S3ObjectLink):
    name = "S3: manifest"
    label = "manifest"


class DumpLink(S3ObjectLink):
    name = "S3: dump"
    label = "dump"


class ArchivedDumpLink(S3ObjectLink):
    name = "S3: archived dump"
    label = "archive"


class QuarantineEvidenceLink(S3ObjectLink):
    name = "S3: quarantine verdict"
    label = "quarantine"


S3_OBJECT_LINKS = (ManifestLink(), DumpLink(), ArchivedDumpLink(), QuarantineEvidenceLink())
