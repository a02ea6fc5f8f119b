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

A deploy is finished only when the environment runs the release and says it can run the
pipeline: after update_environment it waits for the environment to be AVAILABLE with this update
succeeded (an update MWAA rolled back ends AVAILABLE on the old release, with LastUpdate FAILED),
then triggers tokyobeta_verify_env through the REST API (`invoke_rest_api`, the client backfill
uses) and waits for that run's end. Before an environment exists (first-time setup) the release
is only uploaded, and its object versions become the parameters of deploy/mwaa-environment.yaml.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from tokyobeta.io.airflow_api import AirflowApi
from tokyobeta.ops import release
from tokyobeta.ops.verify import DAG_ID as VERIFY_DAG_ID

log = logging.getLogger(__name__)

VERSIONED_FILES = {"plugins.zip": "Plugins", "requirements.txt": "Requirements", "startup.sh": "StartupScript"}


# Parameters of deploy/mwaa-environment.yaml that name the release (besides ReleasePrefix).
STACK_VERSION_PARAMETERS = {name: f"{field}S3ObjectVersion" for name, field in VERSIONED_FILES.items()}
# Statuses after which waiting is pointless: the update failed, or the environment is gone.
FAILED_STATUSES = frozenset({"UPDATE_FAILED", "UNAVAILABLE", "CREATE_FAILED", "DELETING", "DELETED"})
# Statuses of an update (or creation) in progress: seeing one proves the update started.
BUSY_STATUSES = frozenset({"UPDATING", "ROLLING_BACK", "PENDING", "CREATING"})
# Our clock and AWS's may disagree; an update created this much "before" we asked is still ours.
CLOCK_SKEW = timedelta(minutes=5)


class DeployRefused(RuntimeError):
    """Deploying would be unsafe; nothing was changed. The message says why and what to do."""


class DeployFailed(RuntimeError):
    """The environment was changed but did not come up, or its verify run failed or timed out."""


@dataclass(frozen=True)
class Deployment:
    release: str
    bucket: str
    prefix: str
    object_versions: dict[str, str]
    uploaded: int
    environment: str  # empty when only uploaded
    update: dict[str, Any]
    requested_at: datetime | None = None

    def stack_parameters(self) -> dict[str, str]:
        """The parameters of deploy/mwaa-environment.yaml that put the environment on this release."""
        return {"ReleasePrefix": self.prefix,
                **{param: self.object_versions[name] for name, param in STACK_VERSION_PARAMETERS.items()}}


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


def environment_update(environment: str, prefix: str, versions: dict[str, str],
                       options: dict[str, str]) -> dict[str, Any]:
    """The update_environment request that points `environment` at the release under `prefix`;
    deploy/mwaa-environment.yaml builds the same paths from its ReleasePrefix parameter."""
    update: dict[str, Any] = {"Name": environment, "DagS3Path": f"{prefix}dags"}
    for name, field in VERSIONED_FILES.items():
        update[f"{field}S3Path"] = f"{prefix}{name}"
        update[f"{field}S3ObjectVersion"] = versions[name]
    update["AirflowConfigurationOptions"] = options
    return update


def _checked_bundle(bundle: Path) -> tuple[dict[str, Any], list[str]]:
    info = release.release_info(bundle)
    if info.get("dirty"):
        raise DeployRefused(f"{bundle} was built from uncommitted changes ({info['release']}); commit, then `make package`")
    sums = release.verify_bundle(bundle)
    return info, sorted([*sums, release.CHECKSUMS])


def _upload_release(s3: Any, bucket: str, releases_prefix: str, bundle: Path, info: dict[str, Any],
                    names: list[str]) -> tuple[str, dict[str, str]]:
    check_bucket_versioning(s3, bucket)
    prefix = f"{releases_prefix}{info['release']}/"
    check_prefix_unused(s3, bucket, prefix)
    versions = upload(s3, bucket, prefix, bundle, names)
    missing = [name for name in VERSIONED_FILES if not versions.get(name)]
    if missing:
        raise DeployRefused(f"S3 returned no object version for {missing}; is versioning really on for {bucket}?")
    return prefix, versions


def upload_only(bundle: Path, *, s3: Any, sts: Any, bucket: str, account_id: str, releases_prefix: str) -> Deployment:
    """First-time setup: the release goes to S3 before any environment exists (the
    mwaa-environment stack needs its object versions); the same guards, no MWAA call."""
    info, names = _checked_bundle(bundle)
    check_account(sts, account_id)
    prefix, versions = _upload_release(s3, bucket, releases_prefix, bundle, info, names)
    return Deployment(info["release"], bucket, prefix, versions, len(names), "", {})


def _environment_of(mwaa: Any, environment: str, bucket: str) -> dict[str, Any]:
    env = mwaa.get_environment(Name=environment)["Environment"]
    if env.get("SourceBucketArn") != f"arn:aws:s3:::{bucket}":
        raise DeployRefused(f"environment {environment} reads {env.get('SourceBucketArn')}, not bucket {bucket}")
    return env


def _point(mwaa: Any, env: dict[str, Any], environment: str, bucket: str, prefix: str, versions: dict[str, str],
           aws_conn_id: str) -> tuple[dict[str, Any], datetime]:
    update = environment_update(environment, prefix, versions,
                                {**(env.get("AirflowConfigurationOptions") or {}),
                                 **environment_options(bucket, prefix, aws_conn_id)})
    requested_at = datetime.now(timezone.utc)
    mwaa.update_environment(**update)
    log.info("environment %s now runs s3://%s/%s", environment, bucket, prefix)
    return update, requested_at


def deploy(bundle: Path, *, s3: Any, sts: Any, mwaa: Any, bucket: str, environment: str,
           account_id: str, releases_prefix: str, aws_conn_id: str) -> Deployment:
    info, names = _checked_bundle(bundle)
    check_account(sts, account_id)
    env = _environment_of(mwaa, environment, bucket)
    prefix, versions = _upload_release(s3, bucket, releases_prefix, bundle, info, names)
    update, requested_at = _point(mwaa, env, environment, bucket, prefix, versions, aws_conn_id)
    return Deployment(info["release"], bucket, prefix, versions, len(names), environment, update, requested_at)


def released_versions(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """The object versions of a release already in S3. A release is written once, so each file
    has one version; RELEASE.json, uploaded last, proves the upload completed."""
    listing = s3.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", [])
    versions = {v["Key"].removeprefix(prefix): v["VersionId"] for v in listing if v.get("IsLatest")}
    missing = [name for name in (*VERSIONED_FILES, release.RELEASE_INFO) if name not in versions]
    if missing:
        raise DeployRefused(f"s3://{bucket}/{prefix} is not a complete release (missing {missing}); "
                            f"list the releases with `aws s3 ls s3://{bucket}/{prefix.rsplit('/', 2)[0]}/`")
    return versions


def redeploy(release_id: str, *, s3: Any, sts: Any, mwaa: Any, bucket: str, environment: str, account_id: str,
             releases_prefix: str, aws_conn_id: str) -> Deployment:
    """Rollback (or forward again): points the environment at a release uploaded before; uploads nothing."""
    check_account(sts, account_id)
    env = _environment_of(mwaa, environment, bucket)
    prefix = f"{releases_prefix}{release_id}/"
    versions = released_versions(s3, bucket, prefix)
    update, requested_at = _point(mwaa, env, environment, bucket, prefix, versions, aws_conn_id)
    return Deployment(release_id, bucket, prefix, versions, 0, environment, update, requested_at)


# --- after update_environment: wait for the environment, then verify it from inside ---

Say = Callable[[str], None]


@dataclass(frozen=True)
class Waited:
    status: str
    seconds: float
    polls: int


def _update_error(env: dict[str, Any]) -> str:
    last = env.get("LastUpdate") or {}
    error = last.get("Error") or {}
    if error:
        return f"{error.get('ErrorCode', '?')}: {error.get('ErrorMessage', '(no message)')}"
    return f"LastUpdate status {last.get('Status', '?')}, no error given"


def wait_until_available(mwaa: Any, environment: str, *, requested_at: datetime, timeout: float, interval: float,
                         say: Say = lambda _: None, clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep) -> Waited:
    """Polls get_environment until the environment is AVAILABLE *with our update applied*.

    Right after update_environment the status may still read AVAILABLE (the old release); an
    update that failed and was rolled back ends AVAILABLE too, with LastUpdate FAILED. So
    AVAILABLE counts only with a LastUpdate of SUCCESS that is this update (created after we
    asked, or seen in progress during this wait)."""
    started, polls, seen_busy, last_status = clock(), 0, False, ""
    while True:
        env = mwaa.get_environment(Name=environment)["Environment"]
        polls += 1
        status, last = env.get("Status", "?"), env.get("LastUpdate") or {}
        if status != last_status:
            say(f"  {status} after {clock() - started:.0f} s")
            last_status = status
        created = last.get("CreatedAt")
        ours = seen_busy or (isinstance(created, datetime) and created >= requested_at - CLOCK_SKEW)
        # a failed state left over from an earlier update is not ours: it should turn UPDATING
        if status in FAILED_STATUSES and (ours or not isinstance(created, datetime)):
            raise DeployFailed(f"environment {environment} is {status} after the update: {_update_error(env)}")
        if ours and last.get("Status") == "FAILED":
            raise DeployFailed(f"the update of {environment} failed and MWAA rolled it back to the previous "
                               f"release: {_update_error(env)}")
        if status == "AVAILABLE" and ours and last.get("Status") == "SUCCESS":
            return Waited(status, clock() - started, polls)
        seen_busy = seen_busy or status in BUSY_STATUSES
        if clock() - started >= timeout:
            raise DeployFailed(f"environment {environment} is still {status} after {duration(timeout)} "
                               f"(DEPLOY_WAIT_MINUTES / --wait-minutes); the update goes on: watch "
                               f"`aws mwaa get-environment --name {environment}`, then trigger {VERIFY_DAG_ID}")
        sleep(interval)


@dataclass(frozen=True)
class TaskState:
    task_id: str
    state: str
    try_number: int


@dataclass(frozen=True)
class VerifyRun:
    run_id: str
    state: str
    seconds: float
    tasks: list[TaskState] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def failed_tasks(self) -> list[TaskState]:
        return [t for t in self.tasks if t.state not in ("success", "skipped")]


def task_log_location(environment: str, dag_id: str, run_id: str, task: TaskState) -> str:
    """Where MWAA keeps a task's log: the environment's Task log group, one stream per attempt."""
    return (f"CloudWatch log group airflow-{environment}-Task, stream "
            f"dag_id={dag_id}/run_id={run_id}/task_id={task.task_id}/attempt={max(task.try_number, 1)}.log")


def _api_failure(what: str, status: int, body: Any) -> DeployFailed:
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else body
    return DeployFailed(f"{what}: HTTP {status} ({detail})")


def run_verify(api: AirflowApi, *, run_id: str, timeout: float, interval: float, say: Say = lambda _: None,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
               dag_id: str = VERIFY_DAG_ID) -> VerifyRun:
    """Triggers `dag_id` (once the new release's DAG files are parsed), unpausing it first (it has
    no schedule, and a paused DAG's run would wait forever), and waits for the run to end."""
    started = clock()

    def waited_too_long(what: str) -> None:
        if clock() - started >= timeout:
            raise DeployFailed(f"{what} after {duration(timeout)} (DEPLOY_VERIFY_MINUTES / --verify-minutes) "
                               f"on {api.where}")
        sleep(interval)

    while True:  # a freshly updated environment answers 404 until the scheduler has parsed the DAG
        status, dag = api.call("GET", f"/dags/{dag_id}")
        if status == 200:
            break
        if status != 404:
            raise _api_failure(f"{api.where}: reading DAG {dag_id}", status, dag)
        waited_too_long(f"DAG {dag_id} still unknown")
    if dag.get("is_paused"):
        status, body = api.call("PATCH", f"/dags/{dag_id}", query={"update_mask": "is_paused"},
                                body={"is_paused": False})
        if status != 200:
            raise _api_failure(f"{api.where}: unpausing {dag_id}", status, body)
    status, body = api.call("POST", f"/dags/{dag_id}/dagRuns",
                            body={"dag_run_id": run_id, "note": "triggered by tokyobeta deploy"})
    if status != 200:
        raise _api_failure(f"{api.where}: triggering {dag_id}", status, body)
    say(f"  triggered {dag_id} run {run_id}")
    state = ""
    while True:
        status, run = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        if status != 200:
            raise _api_failure(f"{api.where}: reading run {run_id}", status, run)
        if run.get("state") != state:
            state = run.get("state", "?")
            say(f"  run {state} after {clock() - started:.0f} s")
        if state in ("success", "failed"):
            break
        waited_too_long(f"run {run_id} of {dag_id} still {state}")
    status, body = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
    if status != 200:
        raise _api_failure(f"{api.where}: reading the tasks of {run_id}", status, body)
    tasks = [TaskState(t["task_id"], str(t.get("state")), int(t.get("try_number") or 0))
             for t in sorted(body.get("task_instances", []), key=lambda t: t["task_id"])]
    return VerifyRun(run_id, state, clock() - started, tasks)


def duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def verify_run_id(release_id: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"deploy__{release_id}__{stamp}"


def render_verify(run: VerifyRun, environment: str, dag_id: str = VERIFY_DAG_ID) -> str:
    lines = [f"{dag_id} run {run.run_id}: {run.state} in {duration(run.seconds)}"]
    lines += [f"  {t.state:16} {t.task_id} (try {t.try_number})" for t in run.tasks]
    for task in run.failed_tasks():
        lines.append(f"  FAILED {task.task_id}: log in {task_log_location(environment, dag_id, run.run_id, task)}")
    return "\n".join(lines)
