"""What every tokyobeta DAG shares: owner, retries, callbacks, timezone, run params."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum

from tokyobeta import settings
from tokyobeta.ops import alerts

OWNER = "tokyobeta-data"
TIMEZONE = "Asia/Tokyo"
START_DATE = pendulum.datetime(2026, 1, 1, tz=TIMEZONE)


def default_args(cfg: settings.Settings, **overrides: Any) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": cfg.task_retries,
        "retry_delay": timedelta(minutes=cfg.task_retry_delay_minutes),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": alerts.on_task_failure,
        **overrides,
    }


def gold_sla_args(cfg: settings.Settings) -> dict[str, Any]:
    """Arguments of the task whose success means "gold is published": the SLA that Airflow's
    SLA check turns into "by SLA_GOLD_DEADLINE JST on the dump day" (ops/sla.py explains the
    arithmetic) and the addresses its e-mail goes to. Failures alert through SNS, not e-mail."""
    from tokyobeta.ops import sla

    try:
        task_sla = sla.gold_sla(cfg.daily_schedule, cfg.sla_gold_deadline)
    except sla.SlaConfigError as exc:
        raise settings.SettingError(str(exc)) from exc
    return {"sla": task_sla, "email": list(cfg.sla_emails) or None,
            "email_on_failure": False, "email_on_retry": False}


def daily_params() -> dict[str, Any]:
    """The trigger form of tokyobeta_daily_etl. Empty means: use the Variable / env / default."""
    from airflow.models.param import Param

    by_name = {knob.name: knob for knob in settings.KNOBS}

    def knob_param(name: str, json_type: str, **extra: Any) -> Param:
        knob = by_name[name]
        types = ["null", json_type]
        if json_type == "boolean":
            # The form renders a nullable boolean as a text field, which sends a string: accept
            # exactly "true"/"false" there (offered as suggestions) besides JSON booleans in conf.
            types.append("string")
            extra = {"pattern": "^(true|false)$", "examples": ["true", "false"], **extra}
        return Param(None, type=types, title=knob.param_key,
                     description=f"{knob.doc} Empty: Variable/env/default ({knob.default}).", **extra)

    return {
        "dump_date": Param(None, type=["null", "string"], format="date", title="dump_date",
                           description="Dump day to process (YYYY-MM-DD). Empty: the run's logical day in JST."),
        "enrichment_enabled": knob_param("ENRICHMENT_ENABLED", "boolean"),
        "enrichment_max_model_calls": knob_param("ENRICHMENT_MAX_MODEL_CALLS", "integer", minimum=0),
        "kpi_enabled": knob_param("KPI_ENABLED", "boolean"),
        "kpi_lookback_days": knob_param("KPI_LOOKBACK_DAYS", "integer", minimum=0, maximum=900),
        "kpi_forward_days": knob_param("KPI_FORWARD_DAYS", "integer", minimum=0, maximum=365),
        "kpi_max_rooms_drop_share": knob_param("KPI_MAX_ROOMS_DROP_SHARE", "number", minimum=0, maximum=1),
        "kpi_max_daily_move_ins": knob_param("KPI_MAX_DAILY_MOVE_INS", "integer", minimum=0),
        "daily_fail_on_archive_error": knob_param("DAILY_FAIL_ON_ARCHIVE_ERROR", "boolean"),
    }
