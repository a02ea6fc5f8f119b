"""An Airflow connection read from AIRFLOW_CONN_<ID> without importing Airflow, where Airflow
itself would read it from there.

Why: importing Airflow (BaseHook, AwsBaseHook) costs 1-1.5 s, more than the operator's
`tokyobeta load-dump` of a 1 GB dump spends on the dump itself. Airflow looks a connection up in
its secrets backend (when one is configured, as on MWAA), then in AIRFLOW_CONN_<ID>, then in its
metadata database; so with no backend configured and the variable set, the variable is what
Airflow would answer, and this module answers the same without Airflow. In any other case, and in
a process that has imported Airflow already (a task: the hooks cost nothing more there and keep
their whole behaviour), it answers None and the caller asks Airflow.
"""

from __future__ import annotations

import configparser
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

_BACKEND_OPTIONS = ("backend", "backend_cmd", "backend_secret")


@dataclass(frozen=True)
class Connection:
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def from_environment(conn_id: str) -> Connection | None:
    """The connection as Airflow would find it in the environment, or None (ask Airflow)."""
    if "airflow" in sys.modules or _secrets_backend_configured():
        return None
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise ValueError(f"AIRFLOW_CONN_{conn_id.upper()} cannot be read ({exc}); set it to the connection's "
                         "JSON (conn_type, host, port, login, password, schema, extra) or URI") from None


def parse(raw: str) -> Connection:
    """Both forms Airflow accepts in AIRFLOW_CONN_<ID>: a JSON object or a URI."""
    raw = raw.strip()
    if raw.startswith("{"):
        doc = json.loads(raw)
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        port = doc.get("port")
        return Connection(conn_type=str(doc.get("conn_type") or ""), host=doc.get("host"),
                          port=int(port) if port not in (None, "") else None, login=doc.get("login"),
                          password=doc.get("password"), schema=doc.get("schema"), extra=dict(extra))
    url = urlsplit(raw)
    if not url.scheme:
        raise ValueError("neither a JSON object nor a URI")
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    extra = json.loads(query.pop("__extra__")) if "__extra__" in query else query
    return Connection(conn_type=url.scheme.replace("-", "_"), host=unquote(url.hostname) if url.hostname else None,
                      port=url.port, login=unquote(url.username) if url.username else None,
                      password=unquote(url.password) if url.password else None,
                      schema=unquote(url.path[1:]) if url.path else None, extra=extra)


def _secrets_backend_configured() -> bool:
    if any(os.environ.get(f"AIRFLOW__SECRETS__{option.upper()}") for option in _BACKEND_OPTIONS):
        return True
    config = _airflow_config_file()
    if not config.is_file():
        return False
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(config, encoding="utf-8")
    except configparser.Error:
        return True  # a file we cannot read the way Airflow does: let Airflow decide
    return any(parser.get("secrets", option, fallback="").strip() for option in _BACKEND_OPTIONS)


def _airflow_config_file() -> Path:
    if os.environ.get("AIRFLOW_CONFIG"):
        return Path(os.environ["AIRFLOW_CONFIG"]).expanduser()
    home = os.environ.get("AIRFLOW_HOME") or "~/airflow"
    return Path(home).expanduser() / "airflow.cfg"
