from __future__ import annotations

import pytest

from tokyobeta import settings


def test_enrichment_knobs_defaults_and_checks(monkeypatch):
    for name in ("ENRICHMENT_MAX_FAILURE_RATE", "BEDROCK_MAX_ATTEMPTS", "BEDROCK_REGION", "ENRICHMENT_MAX_MODEL_CALLS"):
        monkeypatch.delenv(name, raising=False)
    cfg = settings.Settings()
    assert (cfg.enrichment_max_failure_rate, cfg.bedrock_max_attempts, cfg.bedrock_region) == (0.2, 4, "")
    assert settings.Settings({"enrichment_max_model_calls": 5}).enrichment_max_model_calls == 5
    monkeypatch.setenv("ENRICHMENT_MAX_FAILURE_RATE", "20")
    with pytest.raises(settings.SettingError, match="ENRICHMENT_MAX_FAILURE_RATE .* not a share between 0 and 1"):
        settings.Settings().enrichment_max_failure_rate
