"""Fixtures of the MWAA deployment tests: one release bundle per session, built from this
working tree exactly as `make package` builds it (dbt docs generated against the local stack)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from tokyobeta.ops import release


@pytest.fixture(scope="session")
def bundle(tmp_path_factory, repo) -> Path:
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    # Named as a clean build of HEAD so deploy accepts it; the tests check what the working tree holds.
    return release.build_bundle(repo, tmp_path_factory.mktemp("dist"), release.Commit(head, dirty=False),
                                os.environ["DBT_EXECUTABLE_PATH"], dbt_env={"SCHEMA_PREFIX": ""})


@pytest.fixture(scope="session")
def private_bundle(tmp_path_factory, repo) -> Path:
    """The private-network bundle, built as `make package PRIVATE_NETWORK=1` builds it (the
    wheelhouse script, then the download cache under .local/, so only a first run downloads)."""
    subprocess.run([str(repo / "scripts" / "private-wheelhouse.sh")], check=True, cwd=repo)
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    local = Path(os.environ.get("TOKYOBETA_LOCAL") or repo / ".local")
    return release.build_bundle(repo, tmp_path_factory.mktemp("dist-private"), release.Commit(head, dirty=False),
                                os.environ["DBT_EXECUTABLE_PATH"], dbt_env={"SCHEMA_PREFIX": ""},
                                private_network=True, wheel_cache=local / "wheels-cp312-manylinux",
                                wheelhouse=Path(os.environ["PRIVATE_WHEELHOUSE"]))


@pytest.fixture(scope="session")
def mwaa_image(tmp_path_factory, repo) -> Path:
    """Built once per session; each test installs into its own copy (support.mwaa_image.copy_image)."""
    from support import mwaa_image

    return mwaa_image.build_image(tmp_path_factory.mktemp("mwaa-image") / "venv", repo, os.environ["UV"])


@pytest.fixture
def versioned_bucket(s3) -> str:
    """A bucket as MWAA requires it (versioning on), new per test: releases are never rewritten."""
    name = f"tb-mwaa-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]})
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def unversioned_bucket(s3) -> str:
    """A bucket as deploy must refuse it (versioning never enabled; the pipeline's own buckets are
    versioned, locally too)."""
    name = f"tb-mwaa-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]})
    return name


@pytest.fixture
def mwaa():
    """An MWAA client under botocore's Stubber: moto 5.0.11 has no MWAA backend (see
    test_deploy_wait_verify.test_moto_has_no_mwaa_backend_so_mwaa_is_stubbed)."""
    client = boto3.client("mwaa", region_name=os.environ["AWS_DEFAULT_REGION"], aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()
