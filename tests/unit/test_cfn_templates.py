"""The CloudFormation templates under deploy/ held to the code: cfn-lint (offline, with AWS's
resource specs) on every template, the bucket's prefixes and protection, the topic policy, the
secret's shape, the MWAA environment's Airflow version, bundle paths and configuration options,
and every ImportValue naming an export some template declares.

Why no stack is created locally: moto 5.0.11's CloudFormation knows neither AWS::MWAA::Environment
nor AWS::SecretsManager::Secret nor AWS::SNS::TopicPolicy, and of a bucket's properties it applies
only BucketEncryption (not versioning, public access block or lifecycle), so a moto stack would
prove less than reading the templates does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tokyobeta import settings
from tokyobeta.ops import deploy, publish

REGION = "ap-northeast-1"  # where the environment lives (config/local.env's AWS_DEFAULT_REGION too)
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))
EVIDENCE_KNOBS = ("DUMPS_PREFIX", "MANIFEST_PREFIX", "ARCHIVE_PREFIX", "QUARANTINE_PREFIX", "RELEASE_PREFIX")
EXPIRING = {"ExpirationInDays", "ExpirationDate", "ExpiredObjectDeleteMarker", "NoncurrentVersionExpiration",
            "NoncurrentVersionExpirationInDays", "Transitions", "Transition", "NoncurrentVersionTransitions",
            "NoncurrentVersionTransition"}


def load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def walk(node: Any):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def resolve(node: Any, names: dict[str, Any], exports: dict[str, str]) -> Any:
    """Evaluates Ref, Fn::Sub, Fn::ImportValue and the list and condition functions with the given
    parameters and exports - the subset of CloudFormation these templates use where the tests
    compare values."""
    if isinstance(node, list):
        return [resolve(v, names, exports) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return names[node["Ref"]]
    if set(node) == {"Fn::ImportValue"}:
        return exports[resolve(node["Fn::ImportValue"], names, exports)]
    if set(node) == {"Fn::Join"}:
        sep, items = node["Fn::Join"]
        return sep.join(resolve(items, names, exports))
    if set(node) == {"Fn::Split"}:
        sep, text = node["Fn::Split"]
        return resolve(text, names, exports).split(sep)
    if set(node) == {"Fn::Select"}:
        index, items = node["Fn::Select"]
        return resolve(items, names, exports)[int(index)]
    if set(node) == {"Fn::Equals"}:
        left, right = resolve(node["Fn::Equals"], names, exports)
        return left == right
    if set(node) == {"Fn::Not"}:
        return not resolve(node["Fn::Not"][0], names, exports)
    if set(node) == {"Fn::Sub"}:
        spec = node["Fn::Sub"]
        text, local = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])
        scope = {**names, **{k: resolve(v, names, exports) for k, v in local.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda m: scope[m.group(1)], text)
    return {k: resolve(v, names, exports) for k, v in node.items()}


def test_every_template_under_deploy_is_cfn_lint_clean():
    """In the regions the pipeline runs in (Tokyo; us-east-1 as cfn-lint's reference region): MWAA
    does not exist in every region (e.g. GovCloud), so linting for all of them reports that."""
    from cfnlint.api import lint

    assert {t.name for t in TEMPLATES} >= {"foundation.yaml", "mwaa-environment.yaml", "cloudwatch-alarms.yaml"}
    findings = {t.name: [str(m) for m in lint(t.read_text(encoding="utf-8"), regions=[REGION, "us-east-1"])]
                for t in TEMPLATES}
    assert findings == {t.name: [] for t in TEMPLATES}


# --- foundation: bucket, topic, secret ---

@pytest.fixture(scope="module")
def foundation() -> dict:
    return load("foundation.yaml")


@pytest.fixture(scope="module")
def bucket(foundation) -> dict:
    (only,) = resources(foundation, "AWS::S3::Bucket").values()
    return only


def test_the_bucket_declares_exactly_the_prefixes_of_the_settings(bucket):
    defaults = {k.name: k.default for k in settings.KNOBS}
    assert bucket["Metadata"]["Tokyobeta::Prefixes"] == {knob: defaults[knob] for knob in EVIDENCE_KNOBS}
    prefixed = {k.name for k in settings.KNOBS if k.name.endswith("_PREFIX") and k.name != "SCHEMA_PREFIX"}
    assert prefixed == set(EVIDENCE_KNOBS), "a new S3 prefix in settings.py must be declared on the bucket"


def test_the_bucket_is_versioned_private_encrypted_and_never_expires_evidence(bucket):
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                       "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["DeletionPolicy"] == "Retain"
    rules = props["LifecycleConfiguration"]["Rules"]
    evidence = list(bucket["Metadata"]["Tokyobeta::Prefixes"].values())
    aborts = [r for r in rules if r.get("AbortIncompleteMultipartUpload")]
    assert any(r["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1} and r["Status"] == "Enabled"
               and not r.get("Prefix") and not r.get("Filter") for r in aborts), "abort after 1 day, bucket-wide"
    for rule in rules:
        prefix = rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or ""
        covers = [p for p in evidence if p.startswith(prefix) or prefix.startswith(p)]
        assert not (covers and EXPIRING & set(rule)), f"rule {rule.get('Id')} would expire evidence under {covers}"


def test_the_topic_policy_lets_cloudwatch_alarms_publish_and_nobody_outside_the_account(foundation):
    (policy,) = resources(foundation, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and all(s["Effect"] == "Allow" and s["Action"] == "sns:Publish"
                              and s["Resource"] == {"Ref": "AlertTopic"} for s in cloudwatch)
    for s in statements:
        if s["Effect"] != "Allow":
            continue
        principal = s["Principal"]
        assert principal not in ("*", {"AWS": "*"}), f"{s['Sid']} is public"
        if "AWS" in principal:
            assert principal["AWS"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}, s["Sid"]
        if "Service" in principal:
            assert principal["Service"] == "cloudwatch.amazonaws.com", s["Sid"]
            assert "aws:SourceAccount" in s["Condition"]["StringEquals"], "another account's alarm could publish"


def test_subscriptions_are_parameters(foundation):
    subs = resources(foundation, "AWS::SNS::Subscription")
    protocols = sorted(s["Properties"]["Protocol"] for s in subs.values())
    assert protocols == ["email", "email", "email", "https"]
    assert all("Condition" in s for s in subs.values()), "a subscription with an empty endpoint must not exist"
    assert foundation["Parameters"]["AlertEmails"]["Default"] == ""
    assert foundation["Parameters"]["AlertHttpsEndpoint"]["Default"] == ""


@pytest.mark.parametrize("emails, https, expected", [
    ("", "", []),
    ("a@example.com", "", ["a@example.com"]),
    ("a@example.com,b@example.com", "https://pager.example.com/sns", ["a@example.com", "b@example.com",
                                                                      "https://pager.example.com/sns"]),
    ("a@example.com,b@example.com,c@example.com", "", ["a@example.com", "b@example.com", "c@example.com"]),
])
def test_exactly_the_given_endpoints_are_subscribed(foundation, emails, https, expected):
    # CloudFormation passes an empty CommaDelimitedList as [""]
    names = {"AlertEmails": emails.split(","), "AlertHttpsEndpoint": https, "EnvironmentName": "prod",
             "BucketName": "", "SourceSecretName": ""}
    conditions = {name: resolve(body, names, {}) for name, body in foundation["Conditions"].items()}
    created = [resolve(r["Properties"]["Endpoint"], names, {})
               for r in resources(foundation, "AWS::SNS::Subscription").values() if conditions[r["Condition"]]]
    assert created == expected


def test_the_secret_has_the_publishers_fields_and_no_value(foundation):
    (secret,) = resources(foundation, "AWS::SecretsManager::Secret").values()
    assert tuple(secret["Metadata"]["Tokyobeta::RequiredFields"]) == publish.REQUIRED_SECRET_FIELDS
    props = secret["Properties"]
    assert "SecretString" not in props and "GenerateSecretString" not in props
    assert all(field in props["Description"] for field in publish.REQUIRED_SECRET_FIELDS)
    default_name = props["Name"]["Fn::If"][1]
    assert resolve(default_name, {"EnvironmentName": "prod"}, {}) == settings._BY_NAME["SOURCE_SECRET_ID"].default


def test_foundation_exports_what_the_other_stacks_import(foundation):
    exports = {name: out["Export"]["Name"] for name, out in foundation["Outputs"].items()}
    assert exports == {
        "BucketName": {"Fn::Sub": "tokyobeta-${EnvironmentName}-bucket-name"},
        "BucketArn": {"Fn::Sub": "tokyobeta-${EnvironmentName}-bucket-arn"},
        "AlertTopicArn": {"Fn::Sub": "tokyobeta-${EnvironmentName}-alert-topic-arn"},
        "SourceSecretArn": {"Fn::Sub": "tokyobeta-${EnvironmentName}-source-secret-arn"},
    }


def test_every_import_names_an_export_of_some_template():
    exported, imported = set(), {}
    for path in TEMPLATES:
        template = yaml.safe_load(path.read_text(encoding="utf-8"))
        for out in (template.get("Outputs") or {}).values():
            if "Export" in out:
                exported.add(resolve(out["Export"]["Name"], {"EnvironmentName": "prod"}, {}))
        for node in walk(template.get("Resources")):
            if isinstance(node, dict) and "Fn::ImportValue" in node:
                imported.setdefault(resolve(node["Fn::ImportValue"], {"EnvironmentName": "prod"}, {}), path.name)
    assert imported, "the alarms and the environment import the foundation's exports"
    assert {name: where for name, where in imported.items() if name not in exported} == {}


# --- the MWAA environment ---

@pytest.fixture(scope="module")
def environment() -> dict:
    (env,) = resources(load("mwaa-environment.yaml"), "AWS::MWAA::Environment").values()
    return env["Properties"]


def test_the_environment_runs_airflow_2_11_2_like_the_locks(environment, repo):
    pinned = re.search(r"^apache-airflow==(\S+)", (repo / "requirements" / "airflow.in").read_text(), re.M).group(1)
    assert environment["AirflowVersion"] == pinned == "2.11.2"


def test_every_component_logs(environment):
    logging = environment["LoggingConfiguration"]
    assert set(logging) == {"DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs"}
    assert all(c["Enabled"] is True for c in logging.values())


def test_the_bundle_paths_and_options_are_the_ones_tokyobeta_deploy_sets(environment):
    prefix, bucket = "releases/0123abc/", "tokyobeta-prod-123456789012"
    names = {"ReleasePrefix": prefix, "EnvironmentName": "prod", "PluginsS3ObjectVersion": "v-plugins",
             "RequirementsS3ObjectVersion": "v-req", "StartupScriptS3ObjectVersion": "v-start"}
    exports = {"tokyobeta-prod-bucket-name": bucket}
    versions = {"plugins.zip": "v-plugins", "requirements.txt": "v-req", "startup.sh": "v-start"}
    options = deploy.environment_options(bucket, prefix, "aws_default")
    expected = deploy.environment_update("tokyobeta-prod", prefix, versions, options)
    for key, value in expected.items():
        if key == "AirflowConfigurationOptions":
            got = {k: resolve(environment[key][k], names, exports) for k in options}
            assert got == options
        else:
            assert resolve(environment[key], names, exports) == value, key
    # what `tokyobeta deploy` prints for this stack are exactly its release parameters
    done = deploy.Deployment("0123abc", bucket, prefix, versions, 9, "", {})
    params = load("mwaa-environment.yaml")["Parameters"]
    assert set(done.stack_parameters()) <= set(params)
    assert all(params[p]["Type"] == "String" and "Default" not in params[p] for p in done.stack_parameters())


def _cosmos_options() -> set[str]:
    import cosmos.settings

    source = Path(cosmos.settings.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'conf\.get\w*\(\s*"cosmos",\s*"([a-z_]+)"', source))


def test_every_configuration_option_is_one_airflow_2_11_2_or_cosmos_reads(environment):
    from airflow import __version__
    from airflow.configuration import retrieve_configuration_description

    assert __version__ == "2.11.2"
    airflow_options = {(section, option) for section, body in retrieve_configuration_description().items()
                       for option in body["options"]}
    cosmos_options = _cosmos_options()
    assert {"dbt_docs_dir", "enable_telemetry"} <= cosmos_options, "the cosmos scan found nothing: fix the regex"
    knobs = {k.name.lower() for k in settings.KNOBS}
    unknown = []
    for key, value in environment["AirflowConfigurationOptions"].items():
        section, _, option = key.partition(".")
        known = ((section, option) in airflow_options
                 or (section == "cosmos" and option in cosmos_options)
                 or (section == settings.MWAA_OPTION_SECTION and option in knobs))
        if not known:
            unknown.append(key)
        assert isinstance(value, (str, dict)), f"{key}: MWAA takes strings only"
    assert unknown == []


def test_every_option_fits_the_mwaa_api(environment):
    """MWAA rejects an option key or value outside its API model's patterns (an empty value too)
    only when the stack is created; botocore's model of the API says so up front."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("mwaa")
    key, value = model.shape_for("ConfigKey").metadata, model.shape_for("ConfigValue").metadata
    params = load("mwaa-environment.yaml")["Parameters"]
    for name, option in environment["AirflowConfigurationOptions"].items():
        assert re.fullmatch(key["pattern"], name) and len(name) <= key["max"], name
        if isinstance(option, str):
            assert re.fullmatch(value["pattern"], option) and len(option) >= value["min"], name
        elif "Ref" in option:
            param = params[option["Ref"]]
            assert param.get("MinLength", 0) >= value["min"], f"{name}: parameter {option['Ref']} may be empty"


def test_the_options_the_pipeline_relies_on_are_set(environment):
    options = environment["AirflowConfigurationOptions"]
    assert options["core.check_slas"] == "True"  # the gold SLA (ops/sla.py)
    assert options["smtp.smtp_starttls"] == "True" and options["smtp.smtp_port"] == "587"
    assert options["email.email_conn_id"] == "smtp_default"
    assert not any(k in options for k in ("smtp.smtp_user", "smtp.smtp_password")), "credentials are a connection"
    assert options["secrets.backend"].endswith("SecretsManagerBackend")
    wired = {k.removeprefix("tokyobeta."): v for k, v in options.items() if k.startswith("tokyobeta.")}
    assert wired["dump_bucket"] == {"Fn::ImportValue": {"Fn::Sub": "tokyobeta-${EnvironmentName}-bucket-name"}}
    assert wired["alert_topic_arn"] == {"Fn::ImportValue": {"Fn::Sub": "tokyobeta-${EnvironmentName}-alert-topic-arn"}}
    assert wired["source_secret_id"] == {"Fn::ImportValue":
                                         {"Fn::Sub": "tokyobeta-${EnvironmentName}-source-secret-arn"}}
    params = load("mwaa-environment.yaml")["Parameters"]
    knobs = {k.name: k.default for k in settings.KNOBS}
    assert params["MetricsNamespace"]["Default"] == knobs["METRICS_NAMESPACE"]
    assert params["BedrockModelId"]["Default"] == knobs["BEDROCK_MODEL_ID"]
    alarms = load("cloudwatch-alarms.yaml")["Parameters"]
    assert alarms["Namespace"]["Default"] == params["MetricsNamespace"]["Default"]


def test_the_environment_takes_the_execution_role_and_network_as_parameters(environment):
    params = load("mwaa-environment.yaml")["Parameters"]
    assert environment["ExecutionRoleArn"] == {"Ref": "ExecutionRoleArn"} and "Default" not in params["ExecutionRoleArn"]
    assert environment["NetworkConfiguration"] == {"SubnetIds": {"Ref": "SubnetIds"},
                                                   "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    assert environment["WebserverAccessMode"] == {"Ref": "WebserverAccessMode"}
    assert environment["EnvironmentClass"] == {"Ref": "EnvironmentClass"}
