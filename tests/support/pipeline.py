"""A whole local pipeline for one test module: its own bucket, alert inbox, source-contract
secret and source database, fresh test_ schemas, and helpers to build the source, publish a
day's dump and run the daily DAG for it with dag.test() (the real DAG, the real services)."""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest

from tokyobeta import settings


class Pipeline:
    def __init__(self, mp: pytest.MonkeyPatch, admin_conn, s3, sns, sqs, secretsmanager):
        from tokyobeta.ops import localstack

        self.admin = admin_conn
        self.s3, self.sqs, self.secrets = s3, sqs, secretsmanager
        token = uuid.uuid4().hex[:8]
        self.bucket = f"tb-it-{token}"
        self.source_db = settings.Settings().schema("gghouse")
        self.secret_id = f"tokyobeta/test/{token}/source"
        localstack.ensure_bucket(s3, self.bucket, os.environ["AWS_DEFAULT_REGION"])
        self.topic_arn, self.queue_url = localstack.ensure_alert_inbox(sns, sqs, f"tb-it-{token}", f"tb-it-{token}")
        localstack.ensure_secret(secretsmanager, self.secret_id, {
            "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]), "dbname": self.source_db,
            "username": os.environ["SOURCE_DB_USER"], "password": os.environ["SOURCE_DB_PASSWORD"]})
        for key, value in {"DUMP_BUCKET": self.bucket, "ALERT_TOPIC_ARN": self.topic_arn,
                           "SOURCE_SECRET_ID": self.secret_id, "TASK_RETRIES": "0",
                           "ENRICHMENT_PROVIDER": "offline"}.items():
            mp.setenv(key, value)
        self.cfg = settings.Settings()
        self.schemas = self.cfg.schemas()
        self.reset_schemas()

    def reset_schemas(self) -> None:
        with self.admin.cursor() as cur:
            for name in ("staging", "staging_backup", "silver", "gold", "silver_candidate", "gold_candidate", "ops"):
                cur.execute(f"DROP DATABASE IF EXISTS `{self.schemas[name]}`")
                cur.execute(f"CREATE DATABASE `{self.schemas[name]}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def build_source(self, day: date, scale: float = 0.05, seed: int = 7) -> dict[str, int]:
        from tokyobeta.sample.source import build_sample_source

        return build_sample_source(self.admin, self.source_db, day, scale=scale, seed=seed)

    @property
    def dump_bucket(self):
        from tokyobeta.ops import publish

        return publish.Bucket.of(self.cfg, self.s3, self.bucket)

    def publish(self, day: date, gzip: bool = False, replace: bool = True):
        """The publisher of production (the Python writer); tests republish days freely."""
        from tokyobeta.ops import publish

        return publish.publish(self.dump_bucket, self.secrets, self.secret_id, day, gzip=gzip, replace=replace)

    def run(self, day: date, conf: dict | None = None) -> tuple[str, dict[str, str]]:
        from tokyobeta.ops import rundag

        state, tasks = rundag.run_day("tokyobeta_daily_etl", day, conf)
        return state, dict(tasks)

    def alerts(self, wait_seconds: int = 1) -> list[dict]:
        from tokyobeta.ops import localstack

        return localstack.drain(self.sqs, self.queue_url, wait_seconds=wait_seconds)
