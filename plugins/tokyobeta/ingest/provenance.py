"""The one trusted source. Read from the Secrets Manager secret the contract names, or from an
explicit setting; never from a default host (a default is what let the legacy dump run
against the wrong database)."""

from __future__ import annotations

import json
from typing import Any

from tokyobeta.ingest.manifest import ExpectedSource


class ProvenanceConfigError(RuntimeError):
    """The expected source cannot be determined: a configuration error, not a bad dump."""


def from_secret(secret_string: str, secret_id: str) -> ExpectedSource:
    try:
        doc = json.loads(secret_string)
    except json.JSONDecodeError:
        raise ProvenanceConfigError(f"secret {secret_id} is not a JSON object; it must hold host and dbname") from None
    if not isinstance(doc, dict):
        raise ProvenanceConfigError(f"secret {secret_id} is not a JSON object; it must hold host and dbname")
    missing = [f for f in ("host", "dbname") if not str(doc.get(f) or "").strip()]
    if missing:
        raise ProvenanceConfigError(
            f"secret {secret_id} has no value for {', '.join(missing)}; add it to the secret "
            "(there is deliberately no default source)")
    return ExpectedSource(host=str(doc["host"]).strip(), database=str(doc["dbname"]).strip())


def expected_source(cfg: Any, secrets_client: Any) -> ExpectedSource:
    host, database = cfg.expected_source_host.strip(), cfg.expected_source_database.strip()
    if host or database:
        if not (host and database):
            raise ProvenanceConfigError("set both EXPECTED_SOURCE_HOST and EXPECTED_SOURCE_DATABASE, or neither "
                                        "(then the secret SOURCE_SECRET_ID decides)")
        return ExpectedSource(host, database)
    secret_id = cfg.source_secret_id
    try:
        value = secrets_client.get_secret_value(SecretId=secret_id)
    except secrets_client.exceptions.ResourceNotFoundException:
        raise ProvenanceConfigError(f"secret {secret_id} (SOURCE_SECRET_ID) does not exist") from None
    return from_secret(value.get("SecretString") or "", secret_id)
