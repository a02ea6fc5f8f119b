"""AWS clients built from the Airflow connection, so the endpoint (moto locally), region and
credentials come from one place: the `aws_default` connection or the secrets backend."""

from __future__ import annotations

from typing import Any


def client(service: str, conn_id: str) -> Any:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=conn_id, client_type=service).get_conn()


def s3(conn_id: str) -> Any:
    return client("s3", conn_id)


def sns(conn_id: str) -> Any:
    return client("sns", conn_id)


def secretsmanager(conn_id: str) -> Any:
    return client("secretsmanager", conn_id)


def cloudwatch(conn_id: str) -> Any:
    return client("cloudwatch", conn_id)
