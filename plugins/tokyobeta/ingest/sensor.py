"""wait_for_manifest: waits for the day's manifest (the publisher's commit marker) in
reschedule mode, so no worker slot is held while waiting."""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowSensorTimeout
from airflow.sensors.base import BaseSensorOperator

from tokyobeta import settings
from tokyobeta.dates import dump_date_for
from tokyobeta.io import aws


class ManifestSensor(BaseSensorOperator):
    ui_color = "#e8f4fd"

    def _location(self, context: Any) -> tuple[settings.Settings, str, str]:
        cfg = settings.for_task(context)
        return cfg, cfg.dump_bucket, cfg.manifest_key(dump_date_for(context))

    def poke(self, context: Any) -> bool:
        cfg, bucket, key = self._location(context)
        s3 = aws.s3(cfg.aws_conn_id)
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                self.log.info("s3://%s/%s not there yet", bucket, key)
                return False
            raise
        self.log.info("found s3://%s/%s", bucket, key)
        return True

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            _, bucket, key = self._location(context)
            raise AirflowSensorTimeout(
                f"manifest s3://{bucket}/{key} never arrived within {_duration(self.timeout)} "
                "(MANIFEST_WAIT_HOURS): the dump publisher did not finish for this day. Check the "
                "gghouse_dump_publish run, then rerun this day or use `tokyobeta backfill`.") from exc


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
