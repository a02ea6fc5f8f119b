"""Amazon Bedrock's Converse API: one question, one short text reply, with our own retries.

botocore's retries are switched off for this client so that every attempt, every backoff and
every give-up is ours to count and log; the enrichment run reports them.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

log = logging.getLogger(__name__)

# Worth another attempt after a pause: the service or the model is busy, not wrong.
RETRYABLE_CODES = frozenset({
    "ThrottlingException", "TooManyRequestsException", "ModelTimeoutException", "ServiceUnavailableException",
    "InternalServerException", "ModelNotReadyException", "ModelErrorException",
})
_FIXES = {
    "AccessDeniedException": "grant the MWAA execution role bedrock:InvokeModel on the model and enable model access",
    "UnrecognizedClientException": "check the AWS connection's credentials",
    "NoCredentialsError": "give the AWS connection credentials (or the MWAA execution role)",
    "ResourceNotFoundException": "check BEDROCK_MODEL_ID and BEDROCK_REGION (the model must exist in that region)",
    "ValidationException": "check BEDROCK_MODEL_ID (a model that supports the Converse API)",
}


class ModelCallFailed(RuntimeError):
    """Bedrock stayed busy (throttling, timeouts) through every attempt: ask again next run."""


class ModelRejected(RuntimeError):
    """Bedrock refused the request itself (permissions, model id): asking again cannot help."""


@dataclass(frozen=True)
class Reply:
    text: str
    attempts: int
    input_tokens: int
    output_tokens: int


def client(conn_id: str, region: str | None, timeout_seconds: float) -> Any:
    """A bedrock-runtime client from the Airflow AWS connection (credentials, role, region)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    config = Config(read_timeout=timeout_seconds, connect_timeout=min(timeout_seconds, 10.0),
                    retries={"total_max_attempts": 1, "mode": "standard"})
    return AwsBaseHook(aws_conn_id=conn_id, client_type="bedrock-runtime", region_name=region or None,
                       config=config).get_conn()


def _retryable(exc: Exception) -> str | None:
    """The reason to try again, or None when the error is final."""
    from botocore.exceptions import ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return code if code in RETRYABLE_CODES else None
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError)):
        return type(exc).__name__
    return None


def converse(bedrock: Any, *, model_id: str, system: str, text: str, metadata: Mapping[str, str],
             max_attempts: int, max_tokens: int = 100, base_delay: float = 1.0, max_delay: float = 20.0,
             sleep: Callable[[float], None] = time.sleep) -> Reply:
    """Ask once (retrying only what is worth retrying) and return the reply's text."""
    from botocore.exceptions import BotoCoreError, ClientError

    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts} (BEDROCK_MAX_ATTEMPTS)")
    request = {
        "modelId": model_id,
        "system": [{"text": system}],
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.0},
        # Shows in Bedrock's invocation logs, so an answer can be traced to its prompt version.
        "requestMetadata": dict(metadata),
    }
    attempt = 0
    while True:
        attempt += 1
        try:
            response = bedrock.converse(**request)
        except Exception as exc:
            reason = _retryable(exc)
            if reason is None:
                if isinstance(exc, (ClientError, BotoCoreError)):
                    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
                    raise ModelRejected(f"Bedrock refused {model_id}: {code}: {exc}. Fix: "
                                        f"{_FIXES.get(code, 'see the error')}") from exc
                raise
            if attempt == max_attempts:
                raise ModelCallFailed(f"Bedrock {model_id}: {reason} on all {max_attempts} attempts") from exc
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))  # full jitter
            log.warning("Bedrock %s: %s (attempt %d of %d); retrying in %.1f s",
                        model_id, reason, attempt, max_attempts, delay)
            sleep(delay)
            continue
        content = response.get("output", {}).get("message", {}).get("content") or []
        reply = "".join(block.get("text", "") for block in content)
        usage = response.get("usage", {})
        return Reply(reply, attempt, int(usage.get("inputTokens", 0)), int(usage.get("outputTokens", 0)))
