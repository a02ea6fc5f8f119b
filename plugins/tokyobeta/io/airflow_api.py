"""The Airflow stable REST API (/api/v1), reached one of two ways with the same paths and
bodies, so the backfill logic above it cannot tell them apart:

  LocalRestApi   a webserver over HTTP with basic auth (the local stack, docker-compose)
  MwaaRestApi    an MWAA environment through `mwaa.invoke_rest_api` (IAM decides who may call;
                 no webserver URL, token or session cookie to manage)

Both return (HTTP status, decoded JSON) for every answer, 4xx included, because callers give some
statuses a meaning (409 on a trigger: the run already exists). Only a transport failure raises.
Credentials never appear in an exception or a repr.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from typing import Any, Mapping, Protocol


class ApiUnreachable(RuntimeError):
    """The API could not be asked at all (connection refused, DNS, timeout, AWS error)."""


class AirflowApi(Protocol):
    where: str  # what the operator is told: a URL or an MWAA environment name

    def call(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
             body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """`path` starts with / and is relative to /api/v1, e.g. /dags/tokyobeta_daily_etl."""


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw[:500].decode("utf-8", "replace")}


class LocalRestApi:
    def __init__(self, base_url: str, user: str, password: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/")
        self.where = self.base
        self._auth = "Basic " + b64encode(f"{user}:{password}".encode()).decode()
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LocalRestApi({self.base!r})"

    def call(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
             body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        url = f"{self.base}/api/v1{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": self._auth, "Accept": "application/json",
                                                  **({"Content-Type": "application/json"} if body is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(f"Airflow REST API at {self.base} unreachable: {reason}") from None


class MwaaRestApi:
    """`invoke_rest_api` answers a 4xx as RestApiClientException and a 5xx as
    RestApiServerException, both carrying the webserver's status and body: turned back into
    (status, body) here so both targets behave alike."""

    def __init__(self, mwaa_client: Any, environment: str):
        self.client = mwaa_client
        self.environment = environment
        self.where = f"MWAA environment {environment}"

    def __repr__(self) -> str:
        return f"MwaaRestApi({self.environment!r})"

    def call(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
             body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"Name": self.environment, "Path": path, "Method": method}
        if query:
            kwargs["QueryParameters"] = {k: v for k, v in query.items() if v is not None}
        if body is not None:
            kwargs["Body"] = dict(body)
        errors = self.client.exceptions
        try:
            response = self.client.invoke_rest_api(**kwargs)
        except (errors.RestApiClientException, errors.RestApiServerException) as exc:
            return int(exc.response.get("RestApiStatusCode") or 500), exc.response.get("RestApiResponse")
        except Exception as exc:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError …
            raise ApiUnreachable(f"{self.where}: invoke_rest_api {method} {path} failed: {exc}") from None
        return int(response.get("RestApiStatusCode") or 200), response.get("RestApiResponse")
