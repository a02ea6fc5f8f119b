"""`tokyobeta deploy` against moto (S3 with versioning, STS over HTTP). moto 5.0.11 has no MWAA
backend, so the MWAA API alone is botocore's Stubber: it checks the exact get_environment and
update_environment requests and fails the test on any call it was not told to expect."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
from botocore.stub import ANY

from tokyobeta import cli
from tokyobeta.ops import deploy, release

ACCOUNT = "123456789012"  # moto's account for any credentials
ENVIRONMENT = "tokyobeta-prod"


@pytest.fixture(scope="module")
def sts():
    from tokyobeta.io import aws

    return aws.client("sts", "aws_default")


def environment(bucket: str, options: dict | None = None) -> dict:
    return {"Environment": {"Name": ENVIRONMENT, "SourceBucketArn": f"arn:aws:s3:::{bucket}",
                            "AirflowConfigurationOptions": options or {}, "Status": "AVAILABLE"}}


def run(bundle, s3, sts, mwaa_client, bucket, account=ACCOUNT):
    return deploy.deploy(bundle, s3=s3, sts=sts, mwaa=mwaa_client, bucket=bucket, environment=ENVIRONMENT,
                         account_id=account, releases_prefix="releases/", aws_conn_id="aws_default")


def versions(s3, bucket: str) -> list[dict]:
    return s3.list_object_versions(Bucket=bucket).get("Versions", [])


def test_uploads_every_file_once_and_points_the_environment_at_those_versions(bundle, s3, sts, versioned_bucket, mwaa):
    client, stub = mwaa
    info = release.release_info(bundle)
    prefix = f"releases/{info['release']}/"
    stub.add_response("get_environment", environment(versioned_bucket, {"core.default_timezone": "Asia/Tokyo"}),
                      {"Name": ENVIRONMENT})
    stub.add_response("update_environment", {"Arn": f"arn:aws:airflow:ap-northeast-1:{ACCOUNT}:environment/{ENVIRONMENT}"},
                      {"Name": ENVIRONMENT, "DagS3Path": f"{prefix}dags",
                       "PluginsS3Path": f"{prefix}plugins.zip", "PluginsS3ObjectVersion": ANY,
                       "RequirementsS3Path": f"{prefix}requirements.txt", "RequirementsS3ObjectVersion": ANY,
                       "StartupScriptS3Path": f"{prefix}startup.sh", "StartupScriptS3ObjectVersion": ANY,
                       "AirflowConfigurationOptions": {
                           "core.default_timezone": "Asia/Tokyo",
                           "cosmos.dbt_docs_dir": f"s3://{versioned_bucket}/{prefix}dags/include/dbt/target",
                           "cosmos.dbt_docs_conn_id": "aws_default", "cosmos.enable_telemetry": "False"}})

    done = run(bundle, s3, sts, client, versioned_bucket)

    stored = versions(s3, versioned_bucket)
    sums = release.read_checksums(bundle)
    assert sorted(v["Key"] for v in stored) == sorted(f"{prefix}{n}" for n in [*sums, release.CHECKSUMS])
    for name, digest in sums.items():
        body = s3.get_object(Bucket=versioned_bucket, Key=f"{prefix}{name}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == digest, name
    # the environment was pointed at the versions S3 holds, as reported by S3 itself
    held = {v["Key"].removeprefix(prefix): v["VersionId"] for v in stored}
    for name, field in deploy.VERSIONED_FILES.items():
        assert done.update[f"{field}S3ObjectVersion"] == held[name] != "null"
    assert done.uploaded == len(sums) + 1


def test_a_release_prefix_is_never_written_twice(bundle, s3, sts, versioned_bucket, mwaa):
    client, stub = mwaa
    stub.add_response("get_environment", environment(versioned_bucket), {"Name": ENVIRONMENT})
    stub.add_response("update_environment", {"Arn": "arn"}, None)
    stub.add_response("get_environment", environment(versioned_bucket), {"Name": ENVIRONMENT})
    run(bundle, s3, sts, client, versioned_bucket)
    before = versions(s3, versioned_bucket)
    with pytest.raises(deploy.DeployRefused, match="already holds a release; releases are immutable"):
        run(bundle, s3, sts, client, versioned_bucket)
    assert versions(s3, versioned_bucket) == before


def test_refuses_credentials_of_another_account_before_touching_anything(bundle, s3, sts, versioned_bucket, mwaa):
    client, _ = mwaa  # no MWAA call is expected: any would fail the test
    with pytest.raises(deploy.DeployRefused, match=f"belong to account {ACCOUNT}, not to DEPLOY_ACCOUNT_ID 210987654321"):
        run(bundle, s3, sts, client, versioned_bucket, account="210987654321")
    with pytest.raises(deploy.DeployRefused, match="DEPLOY_ACCOUNT_ID is empty"):
        run(bundle, s3, sts, client, versioned_bucket, account="")
    assert versions(s3, versioned_bucket) == []


def test_refuses_an_unversioned_bucket_and_another_environments_bucket(bundle, s3, sts, unversioned_bucket, mwaa):
    client, stub = mwaa
    stub.add_response("get_environment", environment(unversioned_bucket), {"Name": ENVIRONMENT})
    with pytest.raises(deploy.DeployRefused, match="versioning never enabled; MWAA needs it on"):
        run(bundle, s3, sts, client, unversioned_bucket)
    stub.add_response("get_environment", environment("someone-elses-bucket"), {"Name": ENVIRONMENT})
    with pytest.raises(deploy.DeployRefused, match="reads arn:aws:s3:::someone-elses-bucket, not bucket"):
        run(bundle, s3, sts, client, unversioned_bucket)
    assert versions(s3, unversioned_bucket) == []


def test_refuses_a_dirty_or_tampered_bundle(bundle, s3, sts, versioned_bucket, mwaa, tmp_path):
    client, _ = mwaa
    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    (tampered / "requirements.txt").write_text("apache-airflow==1.10.0\n")
    with pytest.raises(release.ReleaseError, match=r"changed \['requirements.txt'\]"):
        run(tampered, s3, sts, client, versioned_bucket)
    dirty = tmp_path / "dirty"
    shutil.copytree(bundle, dirty)
    info = json.loads((dirty / "RELEASE.json").read_text())
    (dirty / "RELEASE.json").write_text(json.dumps({**info, "dirty": True, "release": info["commit"] + "-dirty"}))
    with pytest.raises(deploy.DeployRefused, match="built from uncommitted changes"):
        run(dirty, s3, sts, client, versioned_bucket)
    assert versions(s3, versioned_bucket) == []


def test_cli_reports_a_refusal_and_exits_non_zero(bundle, s3, versioned_bucket, monkeypatch, capsys):
    monkeypatch.setenv("DEPLOY_ACCOUNT_ID", "210987654321")
    rc = cli.main(["deploy", "--bucket", versioned_bucket, "--env", ENVIRONMENT, "--bundle", str(bundle)])
    assert rc == 1
    assert "refused: the AWS credentials in use belong to account" in capsys.readouterr().err
    assert versions(s3, versioned_bucket) == []
