"""`tokyobeta deploy`: uploads a release bundle to an immutable S3 prefix named by its commit and
points the MWAA environment at exactly those objects.

The legacy deploy overwrote fixed keys (dags/, plugins.zip) and drifted. Here a release is
written once under RELEASE_PREFIX/<commit>/ and never again; the environment is switched by
`mwaa.update_environment` to that prefix's DAG folder and to the S3 object *versions* of
plugins.zip, requirements.txt and startup.sh (the bucket must be versioned, as MWAA requires).
Rolling back is deploying nothing: point the environment at an older release's prefix.

Refuses, before touching anything: a bundle built from uncommitted changes or that does not
match its checksums, credentials of another AWS account than DEPLOY_ACCOUNT_ID, an environment
that reads another bucket, an unversioned bucket, and a release prefix that already has objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokyobeta.ops import release

log = logging.getLogger(__name__)

VERSIONED_FILES = {"plugins.zip": "Plugins", "requirements.txt": "Requirements", "startup.sh": "StartupScript"}


class DeployRefused(RuntimeError):
    """Deploying would be unsafe; nothing was changed. The message says why and what to do."""


@dataclass(frozen=True)
class Deployment:
    release: str
    bucket: str
    prefix: str
    object_versions: dict[str, str]
    uploaded: int
    environment: str
    update: dict[str, Any]


def check_account(sts: Any, expected_account: str) -> str:
    if not expected_account:
        raise DeployRefused("DEPLOY_ACCOUNT_ID is empty: set it to the 12-digit AWS account of the MWAA environment")
    actual = sts.get_caller_identity()["Account"]
    if actual != expected_account:
        raise DeployRefused(f"the AWS credentials in use belong to account {actual}, not to DEPLOY_ACCOUNT_ID "
                            f"{expected_account}: switch credentials (AWS_PROFILE) or fix DEPLOY_ACCOUNT_ID")
    return actual


def check_bucket_versioning(s3: Any, bucket: str) -> None:
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        raise DeployRefused(f"bucket {bucket} has versioning {status or 'never enabled'}; MWAA needs it on: "
                            f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled")


def check_prefix_unused(s3: Any, bucket: str, prefix: str) -> None:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    if listing.get("Versions") or listing.get("DeleteMarkers"):
        raise DeployRefused(f"s3://{bucket}/{prefix} already holds a release; releases are immutable. To run it "
                            "again, point the environment at it; to change it, commit and deploy the new commit")


def environment_options(bucket: str, prefix: str, aws_conn_id: str) -> dict[str, str]:
    """Airflow settings that follow the release: the dbt docs page reads this release's docs."""
    return {
        "cosmos.dbt_docs_dir": f"s3://{bucket}/{prefix}dags/include/dbt/target",
        "cosmos.dbt_docs_conn_id": aws_conn_id,
        "cosmos.enable_telemetry": "False",
    }


def upload(s3: Any, bucket: str, prefix: str, bundle: Path, names: list[str]) -> dict[str, str]:
    """Uploads every file; RELEASE.json goes last, so a complete release has it. Returns the
    object version of each file."""
    ordered = sorted(names, key=lambda n: (n == release.RELEASE_INFO, n))
    versions = {}
    for name in ordered:
        with (bundle / name).open("rb") as body:
            response = s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=body)
        versions[name] = response.get("VersionId") or ""
    return versions


def deploy(bundle: Path, *, s3: Any, sts: Any, mwaa: Any, bucket: str, environment: str,
           account_id: str, releases_prefix: str, aws_conn_id: str) -> Deployment:
    info = release.release_info(bundle)
    if info.get("dirty"):
        raise DeployRefused(f"{bundle} was built from uncommitted changes ({info['release']}); commit, then `make package`")
    sums = release.verify_bundle(bundle)
    names = sorted([*sums, release.CHECKSUMS])
    check_account(sts, account_id)

    env = mwaa.get_environment(Name=environment)["Environment"]
    if env.get("SourceBucketArn") != f"arn:aws:s3:::{bucket}":
        raise DeployRefused(f"environment {environment} reads {env.get('SourceBucketArn')}, not bucket {bucket}")
    check_bucket_versioning(s3, bucket)
    prefix = f"{releases_prefix}{info['release']}/"
    check_prefix_unused(s3, bucket, prefix)

    versions = upload(s3, bucket, prefix, bundle, names)
    missing = [name for name in VERSIONED_FILES if not versions.get(name)]
    if missing:
        raise DeployRefused(f"S3 returned no object version for {missing}; is versioning really on for {bucket}?")
    update: dict[str, Any] = {"Name": environment, "DagS3Path": f"{prefix}dags"}
    for name, field in VERSIONED_FILES.items():
        update[f"{field}S3Path"] = f"{prefix}{name}"
        update[f"{field}S3ObjectVersion"] = versions[name]
    update["AirflowConfigurationOptions"] = {**(env.get("AirflowConfigurationOptions") or {}),
                                             **environment_options(bucket, prefix, aws_conn_id)}
    mwaa.update_environment(**update)
    log.info("environment %s now runs release %s from s3://%s/%s", environment, info["release"], bucket, prefix)
    return Deployment(info["release"], bucket, prefix, versions, len(names), environment, update)
