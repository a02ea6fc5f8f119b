"""Every knob of the pipeline: its default, its meaning, and where it is read.

Resolution order for a knob named NAME, first hit wins:
  1. the DAG run's params / conf, key ``name`` in lower case (only knobs marked ``per_run``),
  2. the Airflow Variable NAME (which also covers ``AIRFLOW_VAR_NAME`` and a secrets backend),
     consulted only inside a running task so that parsing a DAG file never queries the
     metadata database,
  3. the environment variable NAME, else ``AIRFLOW__TOKYOBETA__NAME``: MWAA has no way to set an
     environment variable, but exports each Airflow configuration option ``tokyobeta.name`` as
     that variable (deploy/mwaa-environment.yaml sets the environment's knobs so),
  4. the documented default.
Knobs marked ``parse_time`` shape the DAG itself and are read from the environment only.
README.md's configuration table is generated from this module (``tokyobeta settings``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


class SettingError(ValueError):
    """A knob holds a value that cannot be used; the message names the knob and the fix."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{raw!r} is not a boolean (use true or false)")


def _hhmm(raw: str) -> time:
    hours, _, minutes = raw.strip().partition(":")
    return time(int(hours), int(minutes))


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _share(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{raw!r} is not a share between 0 and 1 (0.2 means 20%)")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return value
    return parse


def _prefix(raw: str) -> str:
    raw = raw.strip().strip("/")
    return f"{raw}/" if raw else ""


@dataclass(frozen=True)
class Knob:
    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str
    per_run: bool = False
    parse_time: bool = False

    @property
    def param_key(self) -> str:
        return self.name.lower()

    def coerce(self, raw: Any, origin: str) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise SettingError(f"{self.name} from {origin} is invalid: {exc}") from exc


_PACKAGE_ROOT = Path(__file__).resolve().parent


def _default_include_dir() -> str:
    # In the repository include/ sits beside plugins/; on MWAA the bundle puts it under dags/.
    repo_include = _PACKAGE_ROOT.parents[1] / "include"
    mwaa_include = Path("/usr/local/airflow/dags/include")
    return str(repo_include if repo_include.is_dir() or not mwaa_include.is_dir() else mwaa_include)


KNOBS: tuple[Knob, ...] = (
    # --- where things are ---
    Knob("DUMP_BUCKET", "tokyobeta-dumps", str, "S3 bucket holding dumps, manifests, archive and quarantine."),
    Knob("DUMPS_PREFIX", "dumps/", _prefix, "Prefix of the nightly dump objects."),
    Knob("MANIFEST_PREFIX", "dumps-manifest/", _prefix, "Prefix of the manifests (the commit markers)."),
    Knob("ARCHIVE_PREFIX", "dumps-archive/", _prefix, "Prefix processed dumps are copied to."),
    Knob("QUARANTINE_PREFIX", "dumps-quarantine/", _prefix, "Prefix quarantined dumps and verdicts go to."),
    Knob("SCHEMA_PREFIX", "", str, "Prepended to every MySQL schema name (tests use `test_`); empty in production.", parse_time=True),
    Knob("AWS_CONN_ID", "aws_default", str, "Airflow connection for AWS (S3, SNS, Secrets Manager, CloudWatch, Bedrock).", parse_time=True),
    Knob("MYSQL_CONN_ID", "tokyobeta_mysql", str, "Airflow connection for the warehouse (Aurora MySQL).", parse_time=True),
    Knob("INCLUDE_DIR", None, str, "Folder holding sql/ and dbt/; defaults to the repository's include/ or MWAA's dags/include.", parse_time=True),
    Knob("DBT_EXECUTABLE_PATH", "/usr/local/airflow/dbt_venv/bin/dbt", str, "dbt in its own virtualenv (built by startup.sh on MWAA).", parse_time=True),
    # --- provenance ---
    Knob("SOURCE_SECRET_ID", "tokyobeta/prod/rds/cron-credentials", str, "Secrets Manager secret naming the one trusted source (host, dbname)."),
    Knob("EXPECTED_SOURCE_HOST", "", str, "Explicit expected source host; when set it is used instead of the secret."),
    Knob("EXPECTED_SOURCE_DATABASE", "", str, "Explicit expected source database; set together with EXPECTED_SOURCE_HOST."),
    # --- publishing (gghouse_dump_publish, tokyobeta publish-dump) ---
    Knob("PUBLISH_FROZEN", False, _bool, "Freeze switch for incident recovery: when true gghouse_dump_publish ends skipped (SNS notice) and `tokyobeta publish-dump` refuses; nothing is written."),
    Knob("PUBLISH_SCHEDULE", "0 1 * * *", str, "Cron (Asia/Tokyo) of gghouse_dump_publish (the dump the 02:00 daily run reads).", parse_time=True),
    # --- daily run ---
    Knob("DAILY_SCHEDULE", "0 2 * * *", str, "Cron (Asia/Tokyo) of tokyobeta_daily_etl.", parse_time=True),
    Knob("MANIFEST_WAIT_HOURS", 6.0, float, "How long wait_for_manifest waits before failing the run.", parse_time=True),
    Knob("MANIFEST_POKE_SECONDS", 300.0, float, "How often wait_for_manifest looks for the manifest.", parse_time=True),
    Knob("TASK_RETRIES", 2, int, "Retries of every task (sensors excepted).", parse_time=True),
    Knob("TASK_RETRY_DELAY_MINUTES", 5.0, float, "Delay between retries.", parse_time=True),
    Knob("DBT_WATCHER_POKE_SECONDS", 3.0, float, "How often a dbt model's task, rescheduled until its group's one `dbt build` (cosmos watcher mode) has built it, looks again.", parse_time=True),
    Knob("STAGING_BACKUPS_KEPT", 3, int, "Previous staging loads kept in staging_backup."),
    Knob("ENRICHMENT_ENABLED", True, _bool, "Run the nationality / municipality enrichment.", per_run=True),
    Knob("ENRICHMENT_PROVIDER", "bedrock", str, "`bedrock` (Amazon Bedrock) or `offline` (deterministic fuzzy matching, no network; see README's Enrichment section)."),
    Knob("ENRICHMENT_MAX_MODEL_CALLS", 300, int, "Cap on model calls per run.", per_run=True),
    Knob("BEDROCK_MODEL_ID", "anthropic.claude-3-haiku-20240307-v1:0", str, "Bedrock model for enrichment."),
    Knob("ENRICHMENT_PROMPT_VERSION", "v1", str, "Which prompt of enrich/prompts.py the model gets; part of the cache key (add a version to change a prompt)."),
    Knob("ENRICHMENT_MAX_FAILURE_RATE", 0.2, _share, "Fail the enrich task when more than this share of its model calls errored or gave invalid answers."),
    Knob("BEDROCK_REGION", "", str, "Region of the Bedrock runtime; empty uses the AWS connection's region."),
    Knob("BEDROCK_MAX_ATTEMPTS", 4, int, "Attempts per model call on throttling and timeouts (exponential backoff with jitter)."),
    Knob("BEDROCK_TIMEOUT_SECONDS", 30.0, float, "Read timeout of one Bedrock call."),
    Knob("KPI_ENABLED", True, _bool, "Upsert gold.occupancy_daily_metrics after dbt gold.", per_run=True),
    Knob("KPI_LOOKBACK_DAYS", 30, int, "Days before MAX(snapshot_date) the KPI upsert recomputes.", per_run=True),
    Knob("KPI_FORWARD_DAYS", 60, int, "Days after MAX(snapshot_date) the KPI upsert projects.", per_run=True),
    Knob("KPI_MAX_ROOMS_DROP_SHARE", 0.2, _share, "Hold the day's publication (write-audit-publish) when gold's total_rooms falls by more than this share from the previous published day.", per_run=True),
    Knob("KPI_MAX_DAILY_MOVE_INS", 500, int, "Hold the day's publication when gold counts more move-ins on the dump day than this.", per_run=True),
    Knob("DAILY_FAIL_ON_ARCHIVE_ERROR", False, _bool, "Fail the run when archiving the dump fails (default: warn and go on).", per_run=True),
    Knob("OPENLINEAGE_EVENTS", False, _bool, "Also send the day's lineage chain (README: Lineage) as OpenLineage events at the end of archive_dump, through the openlineage-python client configured its own way (`OPENLINEAGE_URL`, `OPENLINEAGE__TRANSPORT__*` or `OPENLINEAGE_CONFIG`)."),
    # --- alerting and monitoring ---
    Knob("ALERT_TOPIC_ARN", "", str, "SNS topic every alert goes to. Empty is a configuration error at alert time."),
    Knob("SLA_GOLD_DEADLINE", time(8, 30), _hhmm, "Gold must be published by this JST time (SLA e-mail and SNS).", parse_time=True),
    Knob("SLA_EMAILS", (), _csv, "Comma-separated addresses for Airflow's SLA-miss e-mail.", parse_time=True),
    Knob("STALENESS_THRESHOLD_DAYS", 2.0, float, "A table older than this is stale."),
    Knob("UPSTREAM_MAX_AGE_HOURS", 30.0, float, "The newest valid manifest's dump day may be at most this old (hours from its 00:00 JST)."),
    Knob("MAX_HOURS_SINCE_DAILY_SUCCESS", 30.0, float, "The newest successful tokyobeta_daily_etl run's slot may be at most this old."),
    Knob("FRESHNESS_SCHEDULE", "0 9 * * *", str, "Cron (Asia/Tokyo) of tokyobeta_freshness.", parse_time=True),
    Knob("METRICS_NAMESPACE", "TokyoBeta/DataQuality", str, "CloudWatch namespace of the freshness and heartbeat metrics (deploy/cloudwatch-alarms.yaml watches it)."),
    # --- deployment and the web UI ---
    Knob("DEPLOY_ACCOUNT_ID", "", str, "The AWS account `tokyobeta deploy` and `tokyobeta backfill --target mwaa` may touch; they refuse any other (and an empty value).", parse_time=True),
    Knob("MWAA_ENVIRONMENT", "", str, "MWAA environment `tokyobeta backfill --target mwaa` triggers runs in (`--mwaa-env` overrides).", parse_time=True),
    Knob("AIRFLOW_API_URL", "", str, "Webserver of `tokyobeta backfill --target local`; empty uses `AIRFLOW__WEBSERVER__BASE_URL`. Its user is AIRFLOW_API_USER; the password is read from the environment variable `AIRFLOW_API_PASSWORD` only (never a setting, never printed).", parse_time=True),
    Knob("AIRFLOW_API_USER", "admin", str, "Airflow user (basic auth) of `tokyobeta backfill --target local`.", parse_time=True),
    Knob("DEPLOY_WAIT_MINUTES", 60.0, float, "How long `tokyobeta deploy` waits for the MWAA environment to be AVAILABLE again after update_environment (updates take 10 to 40 minutes); `--wait-minutes` overrides.", parse_time=True),
    Knob("DEPLOY_VERIFY_MINUTES", 30.0, float, "How long `tokyobeta deploy` waits for its tokyobeta_verify_env run to finish (the DAG appearing, then the run); `--verify-minutes` overrides.", parse_time=True),
    Knob("DEPLOY_POLL_SECONDS", 30.0, float, "How often `tokyobeta deploy` asks MWAA for the environment's status and the verify run's state; `--poll-seconds` overrides.", parse_time=True),
    Knob("RELEASE_PREFIX", "releases/", _prefix, "S3 prefix of the immutable release bundles (one sub-prefix per commit).", parse_time=True),
    Knob("PRIVATE_WHEELHOUSE", "", str, "Folder of wheels `tokyobeta package --private-network` takes before PyPI: those PyPI has no CPython 3.12 manylinux wheel of (mysqlclient; `scripts/private-wheelhouse.sh` builds it). Empty: none.", parse_time=True),
    Knob("S3_LINKS", "console", _choice("console", "presigned"), "What a task's S3 buttons open: `console` (the object in the AWS console) or `presigned` (a one-hour download URL signed with AWS_CONN_ID; locally, where there is no console).", parse_time=True),
)

_BY_NAME = {knob.name: knob for knob in KNOBS}

# Every MySQL schema of the pipeline (scripts/init-stack.sh creates the same list); the
# <layer>_candidate twins hold the day's silver and gold until they are published
# (transform/publish.py).
SCHEMAS = ("staging", "staging_backup", "silver", "gold", "silver_candidate", "gold_candidate", "ops", "scratch")

# The section of the Airflow configuration options that carry knobs on MWAA.
MWAA_OPTION_SECTION = "tokyobeta"
MWAA_OPTION_ENV_PREFIX = f"AIRFLOW__{MWAA_OPTION_SECTION.upper()}__"


def _variable(name: str) -> Any:
    from airflow.models import Variable

    return Variable.get(name, default_var=None)


class Settings:
    """A resolved view of every knob. Attribute access uses the knob name in lower case."""

    def __init__(self, params: Mapping[str, Any] | None = None, *, use_variables: bool = False):
        self._params = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        self._use_variables = use_variables
        self._cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._resolve(_BY_NAME[name])
        return self._cache[name]

    def _resolve(self, knob: Knob) -> Any:
        if knob.per_run and knob.param_key in self._params:
            return knob.coerce(self._params[knob.param_key], f"the run's params['{knob.param_key}']")
        if self._use_variables and not knob.parse_time:
            value = _variable(knob.name)
            if value is not None:
                return knob.coerce(value, f"Airflow Variable {knob.name}")
        for variable in (knob.name, f"{MWAA_OPTION_ENV_PREFIX}{knob.name}"):
            raw = os.environ.get(variable)
            if raw is not None and raw != "":
                return knob.coerce(raw, f"environment variable {variable}")
        if knob.name == "INCLUDE_DIR":
            return _default_include_dir()
        return knob.default

    def __getattr__(self, attr: str) -> Any:
        name = attr.upper()
        if name not in _BY_NAME:
            raise AttributeError(attr)
        return self.get(name)

    # --- derived values: one spelling of each name ---
    def schema(self, name: str) -> str:
        return f"{self.get('SCHEMA_PREFIX')}{name}"

    def schemas(self) -> dict[str, str]:
        return {name: self.schema(name) for name in SCHEMAS}

    @property
    def include_path(self) -> Path:
        return Path(self.get("INCLUDE_DIR"))

    @property
    def dbt_project_path(self) -> Path:
        return self.include_path / "dbt"

    def dump_key(self, dump_date: Any) -> str:
        return f"{self.get('DUMPS_PREFIX')}gghouse_{dump_date:%Y%m%d}.sql"

    def manifest_key(self, dump_date: Any) -> str:
        return f"{self.get('MANIFEST_PREFIX')}gghouse_{dump_date:%Y%m%d}.json"


def for_task(context: Mapping[str, Any]) -> Settings:
    """Settings of a running task: its run's conf and params, Variables, environment."""
    params: dict[str, Any] = dict(context.get("params") or {})
    dag_run = context.get("dag_run")
    if dag_run is not None and dag_run.conf:
        params.update(dag_run.conf)
    return Settings(params, use_variables=True)


def from_env() -> Settings:
    """Settings outside a task (DAG parsing, CLI): environment and defaults only."""
    return Settings()


def describe() -> list[dict[str, str]]:
    """Rows of the configuration table in README.md."""
    rows = []
    for knob in KNOBS:
        if knob.parse_time:
            where = "env"
        elif knob.per_run:
            where = f"DAG param `{knob.param_key}`, Variable, env"
        else:
            where = "Variable, env"
        default = knob.default
        if isinstance(default, time):
            default = default.strftime("%H:%M")
        elif isinstance(default, tuple):
            default = ",".join(default)
        elif isinstance(default, bool):
            default = str(default).lower()
        elif default is None:
            default = "(see meaning)"
        elif default == "":
            default = "(empty)"
        rows.append({"name": knob.name, "default": f"{default}", "where": where, "doc": knob.doc})
    return rows


README_START = "<!-- settings:start (generated by `tokyobeta settings --markdown`) -->"
README_END = "<!-- settings:end -->"


def markdown_table(knob_names: Sequence[str] | None = None) -> str:
    """The settings table of README.md (every knob) or of a DAG's docs (the knobs it reads)."""
    rows = {row["name"]: row for row in describe()}
    names = list(rows) if knob_names is None else list(knob_names)
    unknown = [name for name in names if name not in rows]
    if unknown:
        raise ValueError(f"settings that do not exist: {unknown} (see plugins/tokyobeta/settings.py)")
    lines = ["| setting | default | set by | meaning |", "|---|---|---|---|"]
    lines += [f"| `{n}` | `{rows[n]['default']}` | {rows[n]['where']} | {rows[n]['doc']} |" for n in names]
    return "\n".join(lines)
