"""deploy/execution-role.yaml and the checker that proves it against the code's calls
(tests/support/awscalls.py): the template is valid and least privilege by construction (no
`*` action, `*` resources only where AWS has no resource type), and the mapping and evaluator
the recorder relies on deny what the policy does not grant."""

from __future__ import annotations

import pytest

from support import awscalls
from support.awscalls import Need, evaluate, needs, role_of
from tokyobeta import settings

REGION, ACCOUNT = "ap-northeast-1", "123456789012"
BUCKET = "tb-prod-dumps"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:tokyobeta-alerts"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:tokyobeta/prod/rds/cron-credentials-Xy9Z01"
# Actions AWS authorises on no resource type (or on the account): the only ones allowed "*".
NO_RESOURCE_TYPE = {"cloudwatch:PutMetricData", "s3:GetAccountPublicAccessBlock", "logs:DescribeLogGroups"}


@pytest.fixture(scope="module")
def template() -> dict:
    return awscalls.load_template()


@pytest.fixture(scope="module")
def policy(template) -> list[dict]:
    values = awscalls.parameter_values(template, {
        "EnvironmentName": "prod", "BucketName": BUCKET, "AlertTopicArn": TOPIC, "SourceSecretArn": SECRET,
    }, REGION, ACCOUNT)
    return awscalls.render(awscalls.policy_statements(template), values)


def allowed(policy, action: str, resource: str, **context: str) -> str | None:
    return evaluate(policy, action, resource, context)


def obj(key: str) -> str:
    return f"arn:aws:s3:::{BUCKET}/{key}"


def test_cfn_lint_finds_nothing():
    from cfnlint.api import lint_all

    assert [str(m) for m in lint_all(awscalls.TEMPLATE.read_text(encoding="utf-8"))] == []


def test_no_wildcard_action_and_star_resources_only_where_aws_has_no_resource_type(template):
    statements = awscalls.policy_statements(template)
    assert len({s["Sid"] for s in statements}) == len(statements), "Sids must be unique: the proofs report them"
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert s["Effect"] == "Allow" and all("*" not in a for a in actions), s["Sid"]
        if s.get("Resource") == "*":
            assert set(actions) <= NO_RESOURCE_TYPE, s["Sid"]
        assert "NotAction" not in s, s["Sid"]


def test_trust_output_and_defaults(template):
    role = template["Resources"]["ExecutionRole"]["Properties"]
    principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert sorted(principals) == ["airflow-env.amazonaws.com", "airflow.amazonaws.com"]
    output = template["Outputs"]["ExecutionRoleArn"]
    assert output["Export"]["Name"] == {"Fn::Sub": "tokyobeta-${EnvironmentName}-execution-role-arn"}
    knobs = {"BedrockModelId": "BEDROCK_MODEL_ID", "MetricsNamespace": "METRICS_NAMESPACE", "DumpsPrefix": "DUMPS_PREFIX",
             "ManifestPrefix": "MANIFEST_PREFIX", "ArchivePrefix": "ARCHIVE_PREFIX",
             "QuarantinePrefix": "QUARANTINE_PREFIX", "ReleasePrefix": "RELEASE_PREFIX"}
    defaults = {k.name: k.default for k in settings.KNOBS}
    for parameter, knob in knobs.items():
        assert template["Parameters"][parameter]["Default"] == defaults[knob], parameter


def test_object_tagging_only_where_the_code_tags(policy):
    assert allowed(policy, "s3:PutObjectTagging", obj("dumps-archive/gghouse_20260302.sql")) == "TagArchivedDumps"
    assert allowed(policy, "s3:GetObjectTagging", obj("dumps-archive/gghouse_20260302.sql")) == "TagArchivedDumps"
    assert allowed(policy, "s3:PutObjectTagging", obj("dumps-quarantine/x.verdict.json")) == "QuarantineEvidence"
    assert allowed(policy, "s3:GetObjectTagging", obj("dumps/gghouse_20260302.sql")) == "ReadDumpTags"
    assert allowed(policy, "s3:PutObjectTagging", obj("dumps/gghouse_20260302.sql")) is None
    assert allowed(policy, "s3:PutObjectTagging", "arn:aws:s3:::another-bucket/dumps-archive/x") is None


def test_s3_reads_and_writes_are_scoped_to_prefixes(policy):
    assert allowed(policy, "s3:GetObject", obj("dumps-manifest/gghouse_20260302.json")) == "ReadDumpsAndManifests"
    assert allowed(policy, "s3:PutObject", obj("dumps/gghouse_20260302.sql")) == "PublishDumpsAndManifests"
    assert allowed(policy, "s3:GetObjectVersion", obj("releases/abc/plugins.zip")) == "MwaaReadReleases"
    assert allowed(policy, "s3:PutObject", obj("releases/abc/plugins.zip")) is None  # deploy is the operator's
    assert allowed(policy, "s3:GetObject", obj("dumps-quarantine/x.verdict.json")) is None
    assert allowed(policy, "s3:DeleteObject", obj("dumps/gghouse_20260302.sql")) is None  # evidence is never deleted
    assert allowed(policy, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", **{"s3:prefix": "dumps-manifest/"}) == "ListBucket"
    assert allowed(policy, "s3:GetObject", f"arn:aws:s3:::{BUCKET}-other/dumps/x") is None


def test_topic_secret_namespace_and_model_are_the_configured_ones(policy):
    assert allowed(policy, "sns:Publish", TOPIC) == "PublishAlerts"
    assert allowed(policy, "SNS:publish", TOPIC) == "PublishAlerts"  # actions are case-insensitive
    assert allowed(policy, "sns:Publish", TOPIC + "-other") is None
    assert allowed(policy, "secretsmanager:GetSecretValue", SECRET) == "ReadSourceSecret"
    assert allowed(policy, "secretsmanager:GetSecretValue", SECRET.replace("cron", "admin")) is None
    assert allowed(policy, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": "TokyoBeta/DataQuality"}) \
        == "PutPipelineMetrics"
    assert allowed(policy, "cloudwatch:PutMetricData", "*", **{"cloudwatch:namespace": "Other"}) is None
    assert allowed(policy, "cloudwatch:PutMetricData", "*") is None  # a condition on a missing key fails
    model = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert allowed(policy, "bedrock:InvokeModel", model) == "InvokeEnrichmentModel"
    assert allowed(policy, "bedrock:InvokeModel", model.replace("haiku", "opus")) is None


def test_mwaa_baseline_kms_only_via_sqs_and_never_this_accounts_keys(policy):
    foreign = "arn:aws:kms:ap-northeast-1:999999999999:key/1234"
    assert allowed(policy, "kms:Decrypt", foreign, **{"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}) \
        == "MwaaCeleryQueueKms"
    assert allowed(policy, "kms:Decrypt", foreign, **{"kms:ViaService": f"s3.{REGION}.amazonaws.com"}) is None
    assert allowed(policy, "kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234",
                   **{"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}) is None
    assert allowed(policy, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:airflow-tokyobeta-prod-Task:log-stream:x") \
        == "MwaaLogs"
    assert allowed(policy, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:other:log-stream:x") is None
    assert allowed(policy, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:111122223333:airflow-celery-abc") == "MwaaCeleryQueue"
    assert allowed(policy, "sqs:SendMessage", f"arn:aws:sqs:{REGION}:111122223333:tokyobeta-inbox") is None


def test_an_explicit_deny_wins():
    statements = [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                  {"Sid": "D", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}]
    assert evaluate(statements, "s3:GetObject", "arn:aws:s3:::b/k") == "A"
    assert evaluate(statements, "s3:DeleteObject", "arn:aws:s3:::b/k") is None


def test_an_unsupported_condition_operator_is_an_error_not_an_allow():
    statements = [{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]
    with pytest.raises(awscalls.TemplateError, match="IpAddress"):
        evaluate(statements, "s3:GetObject", "arn:aws:s3:::b/k")


def test_operations_map_to_the_actions_and_resources_iam_checks():
    n = lambda service, op, **p: needs(service, op, p, REGION, ACCOUNT)  # noqa: E731
    assert n("s3", "HeadObject", Bucket="b", Key="dumps/k") == [Need("s3:GetObject", "arn:aws:s3:::b/dumps/k")]
    assert n("s3", "CopyObject", Bucket="b", Key="dumps-archive/k", CopySource={"Bucket": "b", "Key": "dumps/k"},
             TaggingDirective="REPLACE", Tagging="processed=true") == [
        Need("s3:GetObject", "arn:aws:s3:::b/dumps/k"), Need("s3:PutObject", "arn:aws:s3:::b/dumps-archive/k"),
        Need("s3:PutObjectTagging", "arn:aws:s3:::b/dumps-archive/k")]
    # without a directive S3 copies the source's tags: both tagging permissions are needed
    assert {x.action for x in n("s3", "CopyObject", Bucket="b", Key="c", CopySource="b/a")} == {
        "s3:GetObject", "s3:PutObject", "s3:GetObjectTagging", "s3:PutObjectTagging"}
    assert n("s3", "ListObjectsV2", Bucket="b", Prefix="dumps-manifest/") == [
        Need("s3:ListBucket", "arn:aws:s3:::b", (("s3:prefix", "dumps-manifest/"),))]
    assert n("s3", "UploadPart", Bucket="b", Key="k", UploadId="u", PartNumber=1) == [
        Need("s3:PutObject", "arn:aws:s3:::b/k")]
    assert n("secretsmanager", "GetSecretValue", SecretId="tokyobeta/prod/x")[0].resource.startswith(
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:tokyobeta/prod/x-")
    assert n("cloudwatch", "PutMetricData", Namespace="N", MetricData=[]) == [
        Need("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", "N"),))]
    assert n("bedrock-runtime", "Converse", modelId="m")[0] == Need(
        "bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/m")
    assert n("sts", "GetCallerIdentity") == []


def test_an_operation_the_mapping_does_not_know_fails():
    with pytest.raises(awscalls.UnknownOperation, match="s3:DeleteObject"):
        needs("s3", "DeleteObject", {"Bucket": "b", "Key": "k"}, REGION, ACCOUNT)


def test_a_name_secret_matches_the_policys_pattern_only_with_the_random_suffix():
    pattern = awscalls.secret_arn_pattern("tokyobeta/x", REGION, ACCOUNT)
    statements = [{"Sid": "S", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": pattern}]
    assert evaluate(statements, "secretsmanager:GetSecretValue", awscalls.secret_arn("tokyobeta/x", REGION, ACCOUNT)) == "S"
    assert evaluate(statements, "secretsmanager:GetSecretValue",
                    awscalls.secret_arn("tokyobeta/x-other", REGION, ACCOUNT)) is None


def test_the_nearest_project_frame_decides_whose_call_it_is():
    lib = ("botocore.client", "_make_api_call", "/venv/botocore/client.py")
    test_file = str(awscalls.REPO / "tests" / "integration" / "test_x.py")
    dag_file = str(awscalls.REPO / "dags" / "tokyobeta_daily_etl.py")
    assert role_of([lib, ("tokyobeta.ops.archive", "archive", "/p/archive.py"),
                    ("tokyobeta.ops.localstack", "x", "/p/l.py")]) == (True, "tokyobeta.ops.archive:archive")
    assert role_of([lib, ("tokyobeta.ops.localstack", "ensure_bucket", "/p/l.py"),
                    ("tokyobeta.daily", "x", "/p/d.py")])[0] is False
    assert role_of([lib, ("tokyobeta.ops.metrics", "newest_values", "/p/m.py")])[0] is False
    assert role_of([lib, ("tokyobeta.ops.metrics", "put", "/p/m.py")])[0] is True
    assert role_of([lib, ("test_x", "test_it", test_file), ("tokyobeta.daily", "x", "/p/d.py")]) == (
        False, "tests/integration/test_x.py:test_it")
    assert role_of([lib, ("unusual_name", "on_failure", dag_file)])[0] is True
    assert role_of([lib]) == (False, "(no project frame)")


def test_the_moto_view_widens_only_what_moto_cannot_scope(policy):
    from support.iam_moto import moto_view

    view = {s["Sid"]: s for s in moto_view(policy)}
    assert set(view) == {s["Sid"] for s in policy}
    assert view["TagArchivedDumps"]["Resource"] == obj("dumps-archive/*")  # S3 stays scoped
    assert "s3:HeadObject" in view["ReadDumpsAndManifests"]["Action"]     # moto's name for HEAD
    assert view["PublishAlerts"]["Resource"] == view["ReadSourceSecret"]["Resource"] == "*"
    assert view["PutPipelineMetrics"]["Action"] == ["monitoring:PutMetricData"]  # CloudWatch's signing name
    assert all("Condition" not in s and "NotResource" not in s for s in view.values())


def test_the_moto_launcher_re_encodes_query_values_as_botocore_signs_them():
    from support.moto_iam_server import _encoded

    assert _encoded("/b?list-type=2&prefix=dumps-manifest/&encoding-type=url") == \
        "/b?list-type=2&prefix=dumps-manifest%2F&encoding-type=url"
    assert _encoded("/b/k?tagging") == "/b/k?tagging"
    assert _encoded("/b/dumps/k.sql") == "/b/dumps/k.sql"


def test_the_recorder_checks_a_pipeline_call_against_the_policy_rendered_with_the_settings(monkeypatch):
    """One recorder on one S3 client answered by botocore's Stubber (no server needed for the
    mapping, the stack and the policy); the session-wide recorder is detached from this client
    so that the denied call below does not fail this test."""
    import boto3
    from botocore.stub import Stubber

    from tokyobeta.ops import archive

    monkeypatch.setenv("DUMP_BUCKET", "tb-unit-dumps")
    monkeypatch.setenv("AWS_ACCOUNT_ID", ACCOUNT)
    recorder = awscalls.Recorder()
    s3 = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name=REGION).client("s3")
    s3.meta.events.unregister("provide-client-params", awscalls.RECORDER.on_params)
    s3.meta.events.register("provide-client-params", recorder.on_params)
    with Stubber(s3) as stub:
        for _ in range(3):
            stub.add_response("get_object_tagging", {"TagSet": []})
        assert archive._tags(s3, "tb-unit-dumps", "dumps/gghouse_20260302.sql") == {}
        archive._tags(s3, "tb-unit-other", "dumps/gghouse_20260302.sql")
        s3.get_object_tagging(Bucket="tb-unit-other", Key="x")  # from test code: not the role's, not checked
    allowed_call, denied_call = [c for c in recorder.calls if c.role]
    assert [sid for _, sid in allowed_call.needs] == ["ReadDumpTags"]
    assert allowed_call.caller == "tokyobeta.ops.archive:_tags"
    assert recorder.violations() == [denied_call]
    assert "s3:GetObjectTagging on arn:aws:s3:::tb-unit-other/dumps/gghouse_20260302.sql" in denied_call.describe()
    assert len(recorder.calls) == 3 and recorder.summary()["actions"]["s3:GetObjectTagging"]["denied"] == 1


def test_the_role_fits_the_environment_the_mwaa_stack_creates(template, policy):
    """The MWAA stack names the environment and the connections' secret prefix; the role must
    grant its logs, metrics and secrets backend on exactly those names."""
    import yaml

    mwaa = yaml.safe_load((awscalls.TEMPLATE.parent / "mwaa-environment.yaml").read_text(encoding="utf-8"))
    name = mwaa["Resources"]["Environment"]["Properties"]["Name"]["Fn::Sub"].replace("${EnvironmentName}", "prod")
    prefix = mwaa["Parameters"]["ConnectionsSecretPrefix"]["Default"]
    assert template["Parameters"]["ConnectionsSecretPrefix"]["Default"] == prefix
    assert allowed(policy, "airflow:PublishMetrics", f"arn:aws:airflow:{REGION}:{ACCOUNT}:environment/{name}") \
        == "MwaaPublishMetrics"
    assert allowed(policy, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:airflow-{name}-Worker:x") \
        == "MwaaLogs"
    connection = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{prefix}/tokyobeta_mysql-AbC123"
    assert allowed(policy, "secretsmanager:GetSecretValue", connection) == "ReadAirflowConnections"
    assert allowed(policy, "secretsmanager:GetSecretValue",
                   f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:other/tokyobeta_mysql-AbC123") is None
