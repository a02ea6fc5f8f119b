"""The Bedrock provider against botocore's Stubber. There is no local stand-in for Bedrock
(moto 5.0.11 has no bedrock-runtime Converse), so this is the one place the tests fake AWS:
the client is the real one built from the Airflow AWS connection, the Stubber checks every
request against the service model and answers it without a network."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from tokyobeta import settings
from tokyobeta.enrich import prompts
from tokyobeta.enrich.providers import BedrockProvider, from_settings
from tokyobeta.io import bedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def converse_response(text: str) -> dict:
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": "end_turn",
            "usage": {"inputTokens": 120, "outputTokens": 9, "totalTokens": 129}, "metrics": {"latencyMs": 310}}


def expected_request(task: str, text: str, version: str = "v1") -> dict:
    return {"modelId": MODEL, "system": [{"text": prompts.system_prompt(task, version)}],
            "messages": [{"role": "user", "content": [{"text": text}]}],
            "inferenceConfig": {"maxTokens": 100, "temperature": 0.0},
            "requestMetadata": {"prompt_version": version, "task": task}}


@pytest.fixture
def client():
    return bedrock.client("aws_default", "us-east-1", 5.0)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(client, sleeps):
    return BedrockProvider(client, MODEL, "v1", max_attempts=3, sleep=sleeps.append)


def test_request_carries_model_prompt_version_and_only_the_value(client, provider):
    with Stubber(client) as stub:
        stub.add_response("converse", converse_response('{"country_code": "VN"}'), expected_request("nationality", "vietnan"))
        stub.add_response("converse", converse_response('{"prefecture": "東京都", "municipality": "新宿区"}'),
                          expected_request("municipality", "東京都新宿西新宿1-1"))
        assert prompts.judge("nationality", provider.ask("nationality", "vietnan"), "vietnan").answer.code == "VN"
        reply = provider.ask("municipality", "東京都新宿西新宿1-1")
        stub.assert_no_pending_responses()
    assert prompts.judge("municipality", reply, "東京都新宿西新宿1-1").answer.municipality == "新宿区"
    assert provider.usage() == {"attempts": 2, "input_tokens": 240, "output_tokens": 18}


def test_throttling_is_retried_with_backoff(client, provider, sleeps):
    with Stubber(client) as stub:
        stub.add_client_error("converse", "ThrottlingException", "Rate exceeded", 429)
        stub.add_client_error("converse", "ModelTimeoutException", "Model timed out", 408)
        stub.add_response("converse", converse_response('{"country_code": "NP"}'))
        assert provider.ask("nationality", "nepali") == '{"country_code": "NP"}'
        stub.assert_no_pending_responses()
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 1.0 and 0 <= sleeps[1] <= 2.0
    assert provider.usage()["attempts"] == 3


def test_throttled_on_every_attempt_gives_up_with_model_call_failed(client, provider, sleeps):
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_client_error("converse", "ThrottlingException", "Rate exceeded", 429)
        with pytest.raises(bedrock.ModelCallFailed, match="ThrottlingException on all 3 attempts"):
            provider.ask("nationality", "nepali")
        stub.assert_no_pending_responses()
    assert len(sleeps) == 2


def test_a_refused_request_is_not_retried_and_says_how_to_fix_it(client, provider, sleeps):
    with Stubber(client) as stub:
        stub.add_client_error("converse", "AccessDeniedException", "not authorized to invoke", 403)
        with pytest.raises(bedrock.ModelRejected, match="bedrock:InvokeModel"):
            provider.ask("nationality", "nepali")
    assert sleeps == []


def test_read_timeouts_are_retried(sleeps):
    """A timeout happens below the Stubber (in the HTTP layer), so this one uses a minimal
    client that raises botocore's own ReadTimeoutError the first time."""

    class TimesOutOnce:
        calls = 0

        def converse(self, **request):
            self.calls += 1
            if self.calls == 1:
                raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")
            return converse_response('{"country_code": "MM"}')

    reply = bedrock.converse(TimesOutOnce(), model_id=MODEL, system="s", text="burmese", metadata={},
                             max_attempts=2, sleep=sleeps.append)
    assert (reply.text, reply.attempts, len(sleeps)) == ('{"country_code": "MM"}', 2, 1)


def test_malformed_replies_are_parsed_as_invalid(client, provider):
    with Stubber(client) as stub:
        stub.add_response("converse", converse_response("I think it is Vietnam."))
        stub.add_response("converse", converse_response('{"country_code": "VIE"}'))
        stub.add_response("converse", {**converse_response(""), "output": {"message": {"role": "assistant", "content": []}}})
        replies = [provider.ask("nationality", "vietnan") for _ in range(3)]
    judged = [prompts.judge("nationality", r, "vietnan") for r in replies]
    assert [j.valid for j in judged] == [False, False, False]
    assert "not an ISO 3166-1 alpha-2 code" in judged[1].reason


def test_from_settings_builds_bedrock_from_the_knobs(monkeypatch):
    monkeypatch.setenv("ENRICHMENT_PROVIDER", "bedrock")
    monkeypatch.setenv("BEDROCK_MODEL_ID", "anthropic.claude-3-5-haiku-20241022-v1:0")
    monkeypatch.setenv("BEDROCK_REGION", "us-west-2")
    provider = from_settings(settings.Settings())
    assert (provider.name, provider.model_id, provider.prompt_version) == ("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "v1")
    assert provider.client.meta.region_name == "us-west-2"
    assert provider.client.meta.config.retries["total_max_attempts"] == 1
    monkeypatch.setenv("ENRICHMENT_PROVIDER", "openai")
    with pytest.raises(settings.SettingError, match="ENRICHMENT_PROVIDER='openai' is not a provider"):
        from_settings(settings.Settings())
    monkeypatch.setenv("ENRICHMENT_PROVIDER", "offline")
    monkeypatch.setenv("ENRICHMENT_PROMPT_VERSION", "v2")
    with pytest.raises(settings.SettingError, match="ENRICHMENT_PROMPT_VERSION='v2' has no prompt"):
        from_settings(settings.Settings())
