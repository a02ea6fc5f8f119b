"""AWS clients built from the Airflow connection, so the endpoint (moto locally), region and
credentials come from one place: the `aws_default` connection or the secrets backend."""

from __future__ import annotations

from typing import Any


# The connection fields a plain boto3 client reproduces exactly; any other extra (a role to
# assume, a botocore config, a profile, ...) is AwsBaseHook's to interpret.
_PLAIN_EXTRA = frozenset({"region_name", "endpoint_url"})


def client(service: str, conn_id: str) -> Any:
    plain = _plain_client(service, conn_id)
    if plain is not None:
        return plain
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=conn_id, client_type=service).get_conn()


def _plain_client(service: str, conn_id: str) -> Any:
    """The client AwsBaseHook would build from a connection in the environment (keys in login
    and password, region and endpoint in extra), without importing Airflow (see io.connections)."""
    from tokyobeta.io import connections

    conn = connections.from_environment(conn_id)
    if conn is None or conn.conn_type != "aws" or not set(conn.extra) <= _PLAIN_EXTRA:
        return None
    import boto3

    session = boto3.session.Session(aws_access_key_id=conn.login or None, aws_secret_access_key=conn.password or None,
                                    region_name=conn.extra.get("region_name") or None)
    return session.client(service, endpoint_url=conn.extra.get("endpoint_url") or None)


def s3(conn_id: str) -> Any:
    return client("s3", conn_id)


def sns(conn_id: str) -> Any:
    return client("sns", conn_id)


def secretsmanager(conn_id: str) -> Any:
    return client("secretsmanager", conn_id)


def cloudwatch(conn_id: str) -> Any:
    return client("cloudwatch", conn_id)
