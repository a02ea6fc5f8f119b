"""Creates the local stand-ins of the AWS resources (moto): bucket, alert topic with an SQS
inbox subscribed to it, and the source-contract secret. Idempotent. Refuses any endpoint but
loopback or the configured MOTO_HOST (the compose service), so it never touches a real account."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def endpoint_of(client: Any) -> str:
    return client.meta.endpoint_url


def require_local(client: Any) -> None:
    host = urlparse(endpoint_of(client)).hostname
    if host not in _LOOPBACK | {os.environ.get("MOTO_HOST", "127.0.0.1")}:
        raise RuntimeError(f"refusing to create local resources at {endpoint_of(client)}: not a loopback endpoint")


def ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    require_local(s3)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    # Versioned like deploy/foundation.yaml's bucket, so lineage names real object versions locally too.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def remove_bucket(s3: Any, bucket: str) -> None:
    """A scratch bucket and every version in it: a versioned bucket keeps each object's bytes in
    moto's memory until its versions are gone, however often the key is overwritten."""
    require_local(s3)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for obj in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"], VersionId=obj["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def ensure_alert_inbox(sns: Any, sqs: Any, topic_name: str, queue_name: str) -> tuple[str, str]:
    """SNS topic + SQS queue subscribed to it: tests and the demo read alerts from the queue."""
    require_local(sns)
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    subscribed = {s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]}
    if queue_arn not in subscribed:
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def ensure_secret(secrets: Any, secret_id: str, value: dict[str, Any]) -> None:
    require_local(secrets)
    body = json.dumps(value)
    try:
        secrets.create_secret(Name=secret_id, SecretString=body)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=secret_id, SecretString=body)


def write_query_protocol_model(models_dir: Path, service: str = "cloudwatch") -> Path:
    """A copy of botocore's model of `service` that offers only the Query protocol, for the
    AWS_DATA_PATH of the local stack. botocore 1.42 speaks Smithy RPC v2 CBOR to CloudWatch by
    default, which moto 5.0.11 does not parse: put_metric_data would "succeed" and store nothing.
    Never used against AWS (scripts/env.sh sets AWS_DATA_PATH for the local stack only)."""
    import botocore
    from botocore.loaders import Loader

    builtin = Loader(extra_search_paths=[str(Path(botocore.__file__).parent / "data")],
                     include_default_search_paths=False)
    api_version = builtin.determine_latest_version(service, "service-2")
    model = builtin.load_service_model(service, "service-2", api_version)
    model["metadata"]["protocol"] = "query"
    model["metadata"]["protocols"] = ["query"]
    target = models_dir / service / api_version / "service-2.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(model), encoding="utf-8")
    return target


def drain(sqs: Any, queue_url: str, wait_seconds: int = 0) -> list[dict[str, Any]]:
    """Every alert waiting in the inbox, as SNS envelopes (Subject, Message, MessageAttributes)."""
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                    WaitTimeSeconds=wait_seconds if not out else 0).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
