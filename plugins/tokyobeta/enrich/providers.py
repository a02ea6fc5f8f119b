"""Who answers what the rules cannot: Amazon Bedrock in production, a deterministic offline
provider for local runs, the demo and tests (no network, no credentials)."""

from __future__ import annotations

from typing import Protocol

from tokyobeta.enrich.municipality import Place


class Provider(Protocol):
    name: str
    model_id: str
    prompt_version: str

    def nationality(self, text: str) -> str | None:
        """ISO 3166-1 alpha-2 code, or None when the answer is unknown or invalid."""

    def municipality(self, address: str) -> Place | None:
        """The place the address is in, or None when unknown or invalid."""


class OfflineProvider:
    """Answers nothing it cannot know: every question is recorded and answered UNKNOWN, so
    the demo exercises caching and the unknown path without pretending to be a model."""

    name = "offline"
    model_id = "none"

    def __init__(self, prompt_version: str = "v1"):
        self.prompt_version = prompt_version
        self.questions: list[str] = []

    def nationality(self, text: str) -> str | None:
        self.questions.append(text)
        return None

    def municipality(self, address: str) -> Place | None:
        self.questions.append(address)
        return None


def from_settings(cfg) -> Provider:
    if cfg.enrichment_provider == "offline":
        return OfflineProvider(cfg.enrichment_prompt_version)
    raise NotImplementedError(
        f"ENRICHMENT_PROVIDER={cfg.enrichment_provider!r} is not available in this build; use 'offline'")
