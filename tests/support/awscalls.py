"""Proof 1 of the execution role (deploy/execution-role.yaml): every AWS call the tests make on
behalf of code that runs on MWAA is checked against the shipped policy, resource and condition
included.

How: every botocore client gets a handler on `provide-client-params` (the first event of every
API call, before the Stubber's `before-call` answers it), installed where every client is made
(`botocore.session.Session.create_client`: Airflow's hooks build their own sessions). The
handler maps the operation and its parameters to the IAM action(s) and resource ARN(s) it needs
(REQUIREMENTS; an operation it does not know is a violation, so a new call cannot slip through),
decides from the call stack whose call it is (`role_of`), renders the template's policy with the
values configured at call time (DUMP_BUCKET, ALERT_TOPIC_ARN, SOURCE_SECRET_ID, METRICS_NAMESPACE,
BEDROCK_MODEL_ID and the prefixes, read through tokyobeta.settings from the environment, as the
tests configure them) and evaluates it (`evaluate`: Allow/Deny statements, Action, Resource and
NotResource wildcards, the StringEquals/StringLike conditions the policy uses).

Nothing is refused on the spot (the pipeline must behave as it would); tests/conftest.py fails
the test during which a violating call was made, naming the call, and writes every action seen
with the statement that granted it to test-artifacts/aws-calls.json.

Dev-only: lives in tests/support, never in plugins.zip.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "execution-role.yaml"
PARTITION = "aws"

# Code that is never the execution role's: the operator's laptop (CLI, deploy, release, backfill
# over invoke_rest_api), the local stack and the sample source. Module prefixes, and functions
# ("module:function") of MWAA modules that only the CLI calls.
OPERATOR_MODULES = ("tokyobeta.cli", "tokyobeta.sample", "tokyobeta.ops.localstack", "tokyobeta.ops.deploy",
                    "tokyobeta.ops.release", "tokyobeta.ops.backfill", "tokyobeta.io.airflow_api")
OPERATOR_FUNCTIONS = frozenset({"tokyobeta.ops.metrics:newest_values"})


# --- the policy ---------------------------------------------------------------------------------

class TemplateError(ValueError):
    pass


def load_template(path: Path = TEMPLATE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def policy_statements(template: Mapping[str, Any]) -> list[dict]:
    """The role's policy statements, unrendered."""
    policies = template["Resources"]["ExecutionRole"]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


_SUB = re.compile(r"\$\{([^}]+)\}")


def render(node: Any, values: Mapping[str, str]) -> Any:
    """Fn::Sub / Ref resolved with `values` (parameters and AWS:: pseudo parameters)."""
    if isinstance(node, list):
        return [render(n, values) for n in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return _value(node["Ref"], values)
        if set(node) == {"Fn::Sub"}:
            if not isinstance(node["Fn::Sub"], str):
                raise TemplateError("only the one-argument form of Fn::Sub is supported")
            return _SUB.sub(lambda m: _value(m.group(1), values), node["Fn::Sub"])
        unknown = [k for k in node if k.startswith("Fn::")]
        if unknown:
            raise TemplateError(f"{unknown[0]} is not supported by the policy renderer (tests/support/awscalls.py)")
        return {k: render(v, values) for k, v in node.items()}
    return node


def _value(name: str, values: Mapping[str, str]) -> str:
    if name not in values:
        raise TemplateError(f"no value for {name} when rendering {TEMPLATE.name}")
    return str(values[name])


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str], region: str,
                     account: str) -> dict[str, str]:
    values = {name: str(p["Default"]) for name, p in template["Parameters"].items() if "Default" in p}
    values.update(overrides)
    values.update({"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": PARTITION})
    missing = [name for name in template["Parameters"] if name not in values]
    if missing:
        raise TemplateError(f"no value for parameter(s) {', '.join(missing)}")
    return values


def secret_arn(secret_id: str, region: str, account: str) -> str:
    """The ARN of a secret named `secret_id`: Secrets Manager appends six random characters
    (here a fixed stand-in), so a policy naming the bare name would not match."""
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:{PARTITION}:secretsmanager:{region}:{account}:secret:{secret_id}-Ab12Cd"


def secret_arn_pattern(secret_id: str, region: str, account: str) -> str:
    """What the foundation stack's export stands for when only the name is configured: every
    ARN of the secret, whatever its six characters."""
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:{PARTITION}:secretsmanager:{region}:{account}:secret:{secret_id}-??????"


def settings_overrides(region: str, account: str) -> dict[str, str]:
    """The template's parameters as the code is configured now (environment and defaults)."""
    from tokyobeta import settings

    cfg = settings.Settings()
    return {
        "EnvironmentName": "local",
        "BucketName": cfg.dump_bucket,
        "AlertTopicArn": cfg.alert_topic_arn,
        "SourceSecretArn": secret_arn_pattern(cfg.source_secret_id, region, account),
        "BedrockModelId": cfg.bedrock_model_id,
        "MetricsNamespace": cfg.metrics_namespace,
        "DumpsPrefix": cfg.dumps_prefix,
        "ManifestPrefix": cfg.manifest_prefix,
        "ArchivePrefix": cfg.archive_prefix,
        "QuarantinePrefix": cfg.quarantine_prefix,
        "ReleasePrefix": cfg.release_prefix,
    }


@lru_cache(maxsize=1)
def _shipped_template() -> dict:
    return load_template()


@lru_cache(maxsize=64)
def _rendered(items: tuple[tuple[str, str], ...]) -> list[dict]:
    return render(policy_statements(_shipped_template()), dict(items))


def current_policy(region: str, account: str) -> list[dict]:
    values = parameter_values(_shipped_template(), settings_overrides(region, account), region, account)
    return _rendered(tuple(sorted(values.items())))


# --- the evaluator --------------------------------------------------------------------------------

def _pattern(glob: str, case_sensitive: bool) -> re.Pattern:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def _matches(globs: Any, value: str, case_sensitive: bool = True) -> bool:
    return any(_pattern(g, case_sensitive).fullmatch(value) for g in _as_list(globs))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


_OPERATORS: dict[str, Callable[[Sequence[str], str], bool]] = {
    "StringEquals": lambda wanted, actual: actual in wanted,
    "StringLike": lambda wanted, actual: any(_pattern(w, True).fullmatch(actual) for w in wanted),
    "ArnLike": lambda wanted, actual: any(_pattern(w, True).fullmatch(actual) for w in wanted),
    "ArnEquals": lambda wanted, actual: actual in wanted,
}


def _conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, str]) -> bool:
    for operator, pairs in (condition or {}).items():
        if operator not in _OPERATORS:
            raise TemplateError(f"condition operator {operator} is not supported by the evaluator: add it")
        for key, wanted in pairs.items():
            actual = context.get(key)
            if actual is None or not _OPERATORS[operator]([str(w) for w in _as_list(wanted)], actual):
                return False
    return True


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if not _matches(statement["Action"], action, case_sensitive=False):
        return False
    if "NotResource" in statement:
        if _matches(statement["NotResource"], resource):
            return False
    elif not _matches(statement["Resource"], resource):
        return False
    return _conditions_hold(statement.get("Condition"), context)


def evaluate(statements: Sequence[Mapping[str, Any]], action: str, resource: str,
             context: Mapping[str, str] | None = None) -> str | None:
    """The Sid of the first Allow statement granting `action` on `resource`, or None when no
    statement allows it or one denies it (an explicit Deny wins, as in IAM)."""
    context = context or {}
    allowed = None
    for statement in statements:
        if _statement_applies(statement, action, resource, context):
            if statement["Effect"] == "Deny":
                return None
            allowed = allowed or statement.get("Sid", "(no Sid)")
    return allowed


# --- what an operation needs ----------------------------------------------------------------------

@dataclass(frozen=True)
class Need:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


class UnknownOperation(LookupError):
    pass


def _obj(bucket: str, key: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}/{key}"


def _bucket(bucket: str) -> str:
    return f"arn:{PARTITION}:s3:::{bucket}"


def _copy_source(source: Any) -> tuple[str, str]:
    if isinstance(source, dict):
        return source["Bucket"], source["Key"]
    bucket, _, key = str(source).lstrip("/").partition("/")
    return bucket, key.split("?versionId=", 1)[0]


def _s3_read(p: Mapping[str, Any]) -> list[Need]:
    return [Need("s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject", _obj(p["Bucket"], p["Key"]))]


def _s3_write(p: Mapping[str, Any]) -> list[Need]:
    needs = [Need("s3:PutObject", _obj(p["Bucket"], p["Key"]))]
    if p.get("Tagging"):  # tags in the write request need the tagging permission too
        needs.append(Need("s3:PutObjectTagging", _obj(p["Bucket"], p["Key"])))
    return needs


def _s3_copy(p: Mapping[str, Any]) -> list[Need]:
    src_bucket, src_key = _copy_source(p["CopySource"])
    dest = _obj(p["Bucket"], p["Key"])
    needs = [Need("s3:GetObject", _obj(src_bucket, src_key)), Need("s3:PutObject", dest)]
    if p.get("TaggingDirective", "COPY") == "COPY":  # the default copies the source's tags
        needs += [Need("s3:GetObjectTagging", _obj(src_bucket, src_key)), Need("s3:PutObjectTagging", dest)]
    elif p.get("Tagging"):
        needs.append(Need("s3:PutObjectTagging", dest))
    return needs


def _s3_list(p: Mapping[str, Any]) -> list[Need]:
    return [Need("s3:ListBucket", _bucket(p["Bucket"]), (("s3:prefix", p.get("Prefix", "")),))]


def _secret(p: Mapping[str, Any], region: str, account: str) -> list[Need]:
    return [Need("secretsmanager:GetSecretValue", secret_arn(p["SecretId"], region, account))]


def _model(p: Mapping[str, Any], region: str) -> list[Need]:
    model = p["modelId"]
    arn = model if model.startswith("arn:") else f"arn:{PARTITION}:bedrock:{region}::foundation-model/{model}"
    return [Need("bedrock:InvokeModel", arn)]


# (service, operation) -> needs(params, region, account)
REQUIREMENTS: dict[tuple[str, str], Callable[[Mapping[str, Any], str, str], list[Need]]] = {
    ("s3", "HeadObject"): lambda p, r, a: _s3_read(p),
    ("s3", "GetObject"): lambda p, r, a: _s3_read(p),
    ("s3", "GetObjectTagging"): lambda p, r, a: [Need("s3:GetObjectTagging", _obj(p["Bucket"], p["Key"]))],
    ("s3", "PutObject"): lambda p, r, a: _s3_write(p),
    ("s3", "CreateMultipartUpload"): lambda p, r, a: _s3_write(p),
    ("s3", "UploadPart"): lambda p, r, a: [Need("s3:PutObject", _obj(p["Bucket"], p["Key"]))],
    ("s3", "CompleteMultipartUpload"): lambda p, r, a: [Need("s3:PutObject", _obj(p["Bucket"], p["Key"]))],
    ("s3", "AbortMultipartUpload"): lambda p, r, a: [Need("s3:AbortMultipartUpload", _obj(p["Bucket"], p["Key"]))],
    ("s3", "CopyObject"): lambda p, r, a: _s3_copy(p),
    ("s3", "ListObjectsV2"): lambda p, r, a: _s3_list(p),
    ("s3", "ListObjects"): lambda p, r, a: _s3_list(p),
    ("s3", "HeadBucket"): lambda p, r, a: [Need("s3:ListBucket", _bucket(p["Bucket"]))],
    ("sns", "Publish"): lambda p, r, a: [Need("sns:Publish", p.get("TopicArn") or p["TargetArn"])],
    ("sns", "GetTopicAttributes"): lambda p, r, a: [Need("sns:GetTopicAttributes", p["TopicArn"])],
    ("secretsmanager", "GetSecretValue"): _secret,
    ("cloudwatch", "PutMetricData"): lambda p, r, a: [
        Need("cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", p["Namespace"]),))],
    ("bedrock-runtime", "Converse"): lambda p, r, a: _model(p, r),
    ("bedrock-runtime", "InvokeModel"): lambda p, r, a: _model(p, r),
    ("sts", "GetCallerIdentity"): lambda p, r, a: [],  # needs no permission
}


def needs(service: str, operation: str, params: Mapping[str, Any], region: str, account: str) -> list[Need]:
    try:
        rule = REQUIREMENTS[(service, operation)]
    except KeyError:
        raise UnknownOperation(f"{service}:{operation} is not in tests/support/awscalls.py's REQUIREMENTS: add what "
                               "it needs there and the permission to deploy/execution-role.yaml") from None
    return rule(params, region, account)


# --- whose call -------------------------------------------------------------------------------

_THIS_FILE = str(Path(__file__).resolve())
_DAGS = str(REPO / "dags") + os.sep
_TESTS = str(REPO / "tests") + os.sep


def role_of(frames: Sequence[tuple[str, str, str]]) -> tuple[bool, str]:
    """(is it the execution role's call, who made it) from the stack, innermost first, as
    (module, function, filename): the nearest frame of our own code decides (a library frame
    such as botocore's or Airflow's does not)."""
    for module, function, filename in frames:
        if filename == _THIS_FILE:
            continue
        if module == "tokyobeta" or module.startswith("tokyobeta."):
            where = f"{module}:{function}"
            operator = module.startswith(OPERATOR_MODULES) or where in OPERATOR_FUNCTIONS
            return not operator, where
        if filename.startswith(_DAGS):
            return True, f"dags/{Path(filename).name}:{function}"
        if filename.startswith(_TESTS):
            return False, f"tests/{Path(filename).relative_to(_TESTS)}:{function}"
    return False, "(no project frame)"


def _stack() -> list[tuple[str, str, str]]:
    frames, frame = [], sys._getframe(2)
    while frame is not None:
        frames.append((frame.f_globals.get("__name__", ""), frame.f_code.co_name, frame.f_code.co_filename))
        frame = frame.f_back
    return frames


# --- the recorder -------------------------------------------------------------------------------

@dataclass
class Call:
    test: str
    service: str
    operation: str
    caller: str
    role: bool
    needs: list[tuple[Need, str | None]] = field(default_factory=list)
    problem: str = ""
    reported: bool = False  # failed a test already

    def describe(self) -> str:
        denied = [f"{n.action} on {n.resource}" + (f" with {dict(n.context)}" if n.context else "")
                  for n, sid in self.needs if sid is None]
        why = self.problem or "not allowed by deploy/execution-role.yaml: " + "; ".join(denied)
        return f"{self.service}:{self.operation} from {self.caller} during {self.test}: {why}"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.test = "(outside any test)"
        self.seconds = 0.0
        self._lock = threading.Lock()

    def on_params(self, params: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
        started = time.perf_counter()
        try:
            self._record(params, model, context)
        finally:
            self.seconds += time.perf_counter() - started

    def _record(self, params: Mapping[str, Any], model: Any, context: Mapping[str, Any]) -> None:
        service, operation = model.service_model.service_name, model.name
        role, caller = role_of(_stack())
        if context.get("is_presign_request"):
            # signing a URL sends nothing (S3_LINKS=presigned is the local stack's; MWAA uses console links)
            role, caller = False, f"presigned URL by {caller}"
        call = Call(self.test, service, operation, caller, role)
        if role:
            region = context.get("client_region") or os.environ.get("AWS_DEFAULT_REGION", "")
            account = os.environ.get("AWS_ACCOUNT_ID", "123456789012")
            try:
                policy = current_policy(region, account)
                call.needs = [(n, evaluate(policy, n.action, n.resource, dict(n.context)))
                              for n in needs(service, operation, params, region, account)]
            except (UnknownOperation, TemplateError, KeyError) as exc:
                call.problem = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.calls.append(call)

    def violations(self, test: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.role and (c.problem or any(sid is None for _, sid in c.needs))
                and (test is None or c.test == test)]

    def summary(self) -> dict:
        actions: dict[str, dict] = {}
        for call in self.calls:
            for need, sid in call.needs:
                entry = actions.setdefault(need.action, {"statements": set(), "calls": 0, "operations": set(),
                                                          "callers": set(), "denied": 0})
                entry["calls"] += 1
                entry["operations"].add(f"{call.service}:{call.operation}")
                entry["callers"].add(call.caller)
                if sid:
                    entry["statements"].add(sid)
                else:
                    entry["denied"] += 1
        not_role: dict[str, int] = {}
        for call in self.calls:
            if not call.role:
                key = f"{call.service}:{call.operation} by {call.caller.split(':')[0]}"
                not_role[key] = not_role.get(key, 0) + 1
        role_calls = [c for c in self.calls if c.role]
        return {
            "calls": len(self.calls),
            "role_calls": len(role_calls),
            "violations": [c.describe() for c in self.violations()],
            "recorder_seconds": round(self.seconds, 3),
            "recorder_ms_per_call": round(1000 * self.seconds / len(self.calls), 3) if self.calls else 0,
            "actions": {a: {k: sorted(v) if isinstance(v, set) else v for k, v in e.items()}
                        for a, e in sorted(actions.items())},
            "not_the_roles": dict(sorted(not_role.items())),
        }

    def write_summary(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(), indent=2) + "\n", encoding="utf-8")


RECORDER = Recorder()
_installed = False


def install(recorder: Recorder = RECORDER) -> None:
    """Every botocore client made from now on reports its calls to `recorder`."""
    global _installed
    if _installed:
        return
    import botocore.session

    original = botocore.session.Session.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("provide-client-params", recorder.on_params)
        return client

    botocore.session.Session.create_client = create_client
    _installed = True
