"""`tokyobeta deploy` after update_environment: waits for the environment to be AVAILABLE with
this update applied, triggers tokyobeta_verify_env through `invoke_rest_api`, waits for the run
and reports it; any failure exits non-zero.

What is real and what is not: S3 (versioned bucket, uploads, object versions) and STS are the
moto server over HTTP. moto 5.0.11 has no MWAA backend at all (every operation answers HTTP 500:
the first test proves it, and fails the day moto grows one, so these tests can move to it), so
get_environment, update_environment and invoke_rest_api are a real boto3 MWAA client answered by
botocore's Stubber, which also checks each request's exact parameters and fails on any call it
was not given. The status sequences (UPDATING -> AVAILABLE, UPDATE_FAILED, a rollback) are the
ones MWAA documents; the timeouts run on a test clock, because MWAA's real minutes cannot be
waited for here.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from tokyobeta import cli
from tokyobeta.io.airflow_api import MwaaRestApi
from tokyobeta.ops import deploy, release

ACCOUNT = "123456789012"  # moto's account for any credentials
ENVIRONMENT = "tokyobeta-prod"
DAG = f"/dags/{deploy.VERIFY_DAG_ID}"


class SteppedClock:
    """Monotonic time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def cli_with(monkeypatch, mwaa):
    """The command with its MWAA client replaced by the stubbed one (S3 and STS stay moto)."""
    client, stub = mwaa
    real = cli._aws
    monkeypatch.setattr(cli, "_aws", lambda service: client if service == "mwaa" else real(service))
    monkeypatch.setenv("DEPLOY_ACCOUNT_ID", ACCOUNT)
    return stub


def env_answer(bucket: str, status: str, last_status: str | None = None, *, created: datetime | None = None,
               error: dict | None = None) -> dict:
    env = {"Name": ENVIRONMENT, "SourceBucketArn": f"arn:aws:s3:::{bucket}", "Status": status,
           "AirflowConfigurationOptions": {}}
    if last_status:
        env["LastUpdate"] = {"Status": last_status, "CreatedAt": created or datetime.now(timezone.utc)}
        if error:
            env["LastUpdate"]["Error"] = error
    return {"Environment": env}


def expect_update(stub, bucket: str) -> None:
    stub.add_response("get_environment", env_answer(bucket, "AVAILABLE"), {"Name": ENVIRONMENT})
    stub.add_response("update_environment", {"Arn": f"arn:aws:airflow:ap-northeast-1:{ACCOUNT}:environment/{ENVIRONMENT}"},
                      {"Name": ENVIRONMENT, "DagS3Path": ANY, "PluginsS3Path": ANY, "PluginsS3ObjectVersion": ANY,
                       "RequirementsS3Path": ANY, "RequirementsS3ObjectVersion": ANY, "StartupScriptS3Path": ANY,
                       "StartupScriptS3ObjectVersion": ANY, "AirflowConfigurationOptions": ANY})


def expect_status(stub, bucket: str, *answers: dict) -> None:
    for answer in answers:
        stub.add_response("get_environment", answer, {"Name": ENVIRONMENT})


def rest(stub, method: str, path: str, body, status: int = 200, *, request_body=None, query=None) -> None:
    expected = {"Name": ENVIRONMENT, "Path": path, "Method": method}
    if request_body is not None:
        expected["Body"] = request_body
    if query is not None:
        expected["QueryParameters"] = query
    if status < 400:
        stub.add_response("invoke_rest_api", {"RestApiStatusCode": status, "RestApiResponse": body}, expected)
    else:
        stub.add_client_error("invoke_rest_api", service_error_code="RestApiClientException", http_status_code=400,
                              modeled_fields={"RestApiStatusCode": status, "RestApiResponse": body},
                              expected_params=expected)


def expect_verify_run(stub, final_state: str, tasks: list[dict], *, paused: bool) -> None:
    rest(stub, "GET", DAG, {"title": "DAG not found", "status": 404}, 404)  # the new release is being parsed
    rest(stub, "GET", DAG, {"dag_id": deploy.VERIFY_DAG_ID, "is_paused": paused})
    if paused:
        rest(stub, "PATCH", DAG, {"dag_id": deploy.VERIFY_DAG_ID, "is_paused": False},
             request_body={"is_paused": False}, query={"update_mask": "is_paused"})
    rest(stub, "POST", f"{DAG}/dagRuns", {"dag_run_id": "x", "state": "queued"},
         request_body={"dag_run_id": ANY, "note": "triggered by tokyobeta deploy"})
    for state in ("queued", "running", final_state):
        rest(stub, "GET", ANY, {"dag_run_id": "x", "state": state})
    rest(stub, "GET", ANY, {"task_instances": tasks, "total_entries": len(tasks)})


def deploy_cli(bundle, bucket, *extra: str) -> int:
    return cli.main(["deploy", "--bucket", bucket, "--env", ENVIRONMENT, "--bundle", str(bundle),
                     "--poll-seconds", "0.02", *extra])


def test_moto_has_no_mwaa_backend_so_mwaa_is_stubbed():
    client = boto3.client("mwaa", region_name=os.environ["AWS_DEFAULT_REGION"], endpoint_url=os.environ["MOTO_ENDPOINT"],
                          config=Config(inject_host_prefix=False, retries={"total_max_attempts": 1}))
    for call in (client.list_environments, lambda: client.get_environment(Name=ENVIRONMENT)):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_success_waits_for_this_update_then_the_verify_run_and_reports_each_task(bundle, versioned_bucket, cli_with,
                                                                                   capsys):
    stub = cli_with
    expect_update(stub, versioned_bucket)
    long_ago = datetime.now(timezone.utc) - timedelta(days=3)
    expect_status(stub, versioned_bucket,
                  # still the old release: AVAILABLE, but its LastUpdate is days old - not done
                  env_answer(versioned_bucket, "AVAILABLE", "SUCCESS", created=long_ago),
                  env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "AVAILABLE", "SUCCESS"))
    expect_verify_run(stub, "success", [{"task_id": "verify", "state": "success", "try_number": 1}], paused=True)

    started = time.monotonic()
    rc = deploy_cli(bundle, versioned_bucket)
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()

    assert rc == 0, err
    assert "  UPDATING after" in out and f"{ENVIRONMENT} is AVAILABLE on release" in out
    assert f"{deploy.VERIFY_DAG_ID} run deploy__" in out and ": success in" in out
    assert "  success          verify (try 1)" in out
    info = release.release_info(bundle)
    assert f"ReleasePrefix=releases/{info['release']}/ PluginsS3ObjectVersion=" in out
    waited = re.search(r"is AVAILABLE on release \S+ after ([0-9.]+) s", out).group(1)
    verified = re.search(r"run deploy__\S+: success in ([0-9.]+) s", out).group(1)
    print(f"\ndeploy command {seconds:.2f} s: wait (4 polls every 0.02 s) {waited} s, verify (7 REST calls) {verified} s")


def test_update_failed_names_the_error_and_triggers_nothing(bundle, versioned_bucket, cli_with, capsys):
    stub = cli_with
    expect_update(stub, versioned_bucket)
    expect_status(stub, versioned_bucket,
                  env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "UPDATE_FAILED", "FAILED",
                             error={"ErrorCode": "INCORRECT_CONFIGURATION",
                                    "ErrorMessage": "requirements.txt could not be installed"}))
    # no invoke_rest_api is queued: a verify trigger would fail the test

    rc = deploy_cli(bundle, versioned_bucket)
    err = capsys.readouterr().err
    assert rc == 1
    assert f"environment {ENVIRONMENT} is UPDATE_FAILED after the update" in err
    assert "INCORRECT_CONFIGURATION: requirements.txt could not be installed" in err


def test_a_rolled_back_update_is_a_failure_even_though_the_environment_is_available(versioned_bucket, mwaa):
    client, stub = mwaa
    asked = datetime.now(timezone.utc)
    expect_status(stub, versioned_bucket,
                  env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "ROLLING_BACK", "PENDING"),
                  env_answer(versioned_bucket, "AVAILABLE", "FAILED", created=asked,
                             error={"ErrorCode": "WORKER_FAILURE", "ErrorMessage": "startup.sh exited"}))
    clock = SteppedClock()
    said: list[str] = []
    with pytest.raises(deploy.DeployFailed, match="rolled it back to the previous release: WORKER_FAILURE: startup.sh"):
        deploy.wait_until_available(client, ENVIRONMENT, requested_at=asked, timeout=3600, interval=30,
                                    say=said.append, clock=clock, sleep=clock.sleep)
    assert [line.split()[0] for line in said] == ["UPDATING", "ROLLING_BACK", "AVAILABLE"]


def test_a_failed_verify_run_exits_non_zero_naming_the_task_and_its_log(bundle, versioned_bucket, cli_with, capsys):
    stub = cli_with
    expect_update(stub, versioned_bucket)
    expect_status(stub, versioned_bucket, env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "AVAILABLE", "SUCCESS"))
    expect_verify_run(stub, "failed", [{"task_id": "verify", "state": "failed", "try_number": 2}], paused=False)

    rc = deploy_cli(bundle, versioned_bucket)
    out, err = capsys.readouterr()
    assert rc == 1
    assert ": failed in" in out and "  failed           verify (try 2)" in out
    assert (f"FAILED verify: log in CloudWatch log group airflow-{ENVIRONMENT}-Task, stream "
            f"dag_id={deploy.VERIFY_DAG_ID}/run_id=deploy__") in out and "/task_id=verify/attempt=2.log" in out
    assert f"{deploy.VERIFY_DAG_ID} ended failed; failed: verify" in err


def test_a_failure_left_from_an_earlier_update_is_waited_out(versioned_bucket, mwaa):
    client, stub = mwaa
    asked = datetime.now(timezone.utc)
    earlier = asked - timedelta(days=1)
    expect_status(stub, versioned_bucket,
                  env_answer(versioned_bucket, "UPDATE_FAILED", "FAILED", created=earlier,
                             error={"ErrorCode": "OLD", "ErrorMessage": "yesterday's failure"}),
                  env_answer(versioned_bucket, "UPDATE_FAILED", "FAILED", created=earlier,
                             error={"ErrorCode": "OLD", "ErrorMessage": "yesterday's failure"}),
                  env_answer(versioned_bucket, "UPDATING", "PENDING", created=asked),
                  env_answer(versioned_bucket, "AVAILABLE", "SUCCESS", created=asked))
    clock = SteppedClock()
    waited = deploy.wait_until_available(client, ENVIRONMENT, requested_at=asked, timeout=3600, interval=30,
                                         clock=clock, sleep=clock.sleep)
    assert (waited.status, waited.polls, waited.seconds) == ("AVAILABLE", 4, 90)


def test_waiting_for_available_times_out(versioned_bucket, mwaa):
    client, stub = mwaa
    # polls at 0, 30 and 60 s of a 60 s timeout, then gives up
    expect_status(stub, versioned_bucket, *[env_answer(versioned_bucket, "UPDATING", "PENDING")] * 3)
    clock = SteppedClock()
    with pytest.raises(deploy.DeployFailed, match=f"environment {ENVIRONMENT} is still UPDATING after 60.0 s"):
        deploy.wait_until_available(client, ENVIRONMENT, requested_at=datetime.now(timezone.utc), timeout=60,
                                    interval=30, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [30, 30]


def test_a_verify_run_that_does_not_finish_times_out(mwaa):
    client, stub = mwaa
    rest(stub, "GET", DAG, {"dag_id": deploy.VERIFY_DAG_ID, "is_paused": False})
    rest(stub, "POST", f"{DAG}/dagRuns", {"dag_run_id": "r", "state": "queued"},
         request_body={"dag_run_id": "r", "note": "triggered by tokyobeta deploy"})
    for _ in range(3):  # at 0, 60 and 120 s of a 120 s timeout
        rest(stub, "GET", f"{DAG}/dagRuns/r", {"dag_run_id": "r", "state": "running"})
    clock = SteppedClock()
    with pytest.raises(deploy.DeployFailed, match="run r of tokyobeta_verify_env still running after 2.0 min"):
        deploy.run_verify(MwaaRestApi(client, ENVIRONMENT), run_id="r", timeout=120, interval=60, clock=clock,
                          sleep=clock.sleep)


def test_upload_only_uploads_the_release_and_prints_the_stack_parameters_without_mwaa(bundle, versioned_bucket,
                                                                                        cli_with, s3, capsys):
    # cli_with's stub has no answer queued: any MWAA call would fail the test
    rc = cli.main(["deploy", "--bucket", versioned_bucket, "--upload-only", "--bundle", str(bundle)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    held = {v["Key"]: v["VersionId"] for v in s3.list_object_versions(Bucket=versioned_bucket)["Versions"]}
    info = release.release_info(bundle)
    prefix = f"releases/{info['release']}/"
    assert (f"ReleasePrefix={prefix} PluginsS3ObjectVersion={held[prefix + 'plugins.zip']} "
            f"RequirementsS3ObjectVersion={held[prefix + 'requirements.txt']} "
            f"StartupScriptS3ObjectVersion={held[prefix + 'startup.sh']}") in out
    assert cli.main(["deploy", "--bucket", versioned_bucket, "--bundle", str(bundle)]) == 2
    assert "give --env NAME" in capsys.readouterr().err


def test_verify_only_changes_nothing_and_reports_the_run(versioned_bucket, cli_with, s3, monkeypatch, capsys):
    stub = cli_with
    expect_verify_run(stub, "success", [{"task_id": "verify", "state": "success", "try_number": 1}], paused=False)
    args = ["deploy", "--bucket", versioned_bucket, "--env", ENVIRONMENT, "--verify-only", "--poll-seconds", "0.02"]
    assert cli.main(args) == 0, capsys.readouterr().err
    assert "run deploy__verify-only__" in capsys.readouterr().out
    assert s3.list_object_versions(Bucket=versioned_bucket).get("Versions") is None
    monkeypatch.setenv("DEPLOY_ACCOUNT_ID", "210987654321")  # refused before any MWAA call
    assert cli.main(args) == 1
    assert "refused: the AWS credentials in use belong to account" in capsys.readouterr().err


def test_rollback_points_the_environment_at_an_earlier_release_then_waits_and_verifies(bundle, versioned_bucket,
                                                                                       cli_with, s3, capsys):
    stub = cli_with
    assert cli.main(["deploy", "--bucket", versioned_bucket, "--upload-only", "--bundle", str(bundle)]) == 0
    capsys.readouterr()
    earlier = release.release_info(bundle)["release"]
    prefix = f"releases/{earlier}/"
    held = {v["Key"]: v["VersionId"] for v in s3.list_object_versions(Bucket=versioned_bucket)["Versions"]}
    stub.add_response("get_environment", env_answer(versioned_bucket, "AVAILABLE"), {"Name": ENVIRONMENT})
    stub.add_response("update_environment", {"Arn": "arn"}, {
        "Name": ENVIRONMENT, "DagS3Path": f"{prefix}dags",
        "PluginsS3Path": f"{prefix}plugins.zip", "PluginsS3ObjectVersion": held[f"{prefix}plugins.zip"],
        "RequirementsS3Path": f"{prefix}requirements.txt",
        "RequirementsS3ObjectVersion": held[f"{prefix}requirements.txt"],
        "StartupScriptS3Path": f"{prefix}startup.sh", "StartupScriptS3ObjectVersion": held[f"{prefix}startup.sh"],
        "AirflowConfigurationOptions": deploy.environment_options(versioned_bucket, prefix, "aws_default")})
    expect_status(stub, versioned_bucket, env_answer(versioned_bucket, "UPDATING", "PENDING"),
                  env_answer(versioned_bucket, "AVAILABLE", "SUCCESS"))
    expect_verify_run(stub, "success", [{"task_id": "verify", "state": "success", "try_number": 1}], paused=False)
    before = len(held)

    rc = cli.main(["deploy", "--bucket", versioned_bucket, "--env", ENVIRONMENT, "--release", earlier,
                   "--poll-seconds", "0.02"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"release {earlier}: already in s3://{versioned_bucket}/{prefix}" in out
    assert len(s3.list_object_versions(Bucket=versioned_bucket)["Versions"]) == before  # nothing uploaded

    stub.add_response("get_environment", env_answer(versioned_bucket, "AVAILABLE"), {"Name": ENVIRONMENT})
    assert cli.main(["deploy", "--bucket", versioned_bucket, "--env", ENVIRONMENT, "--release", "nosuchrelease"]) == 1
    assert "releases/nosuchrelease/ is not a complete release" in capsys.readouterr().err
