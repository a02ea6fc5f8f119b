"""Who answers what the rules cannot: Amazon Bedrock in production, a deterministic offline
provider for local runs, the demo and tests (no network, no credentials).

A provider only turns one question into one reply text; prompts.judge() validates every
reply the same way whoever gave it, so the offline provider exercises the whole model path.
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Callable, Protocol

from tokyobeta.enrich import municipality, nationality, prompts
from tokyobeta.enrich.prompts import Task

PROVIDERS = ("bedrock", "offline")


class Provider(Protocol):
    name: str
    model_id: str
    prompt_version: str

    def ask(self, task: Task, text: str) -> str:
        """The reply to one question about `text` (a nationality string or an address).
        Raises io.bedrock.ModelCallFailed (try again later) or ModelRejected (stop asking)."""

    def usage(self) -> dict[str, int]:
        """Attempts and tokens so far, for the run's report."""


class OfflineProvider:
    """A deterministic stand-in for a model, with no network. What it answers:

    - nationality: the known spelling (pycountry names and translations, the alias table)
      closest to the text by difflib's ratio, if that ratio is at least FUZZY_CUTOFF and no
      other country comes as close (so "Vietnan" -> VN, "Indonesa" -> ID); texts and spellings
      shorter than FUZZY_MIN_LENGTH are never fuzzy-matched; else UNKNOWN.
    - municipality: the one official municipality whose name or name stem (新宿 of 新宿区)
      appears in the address, within the prefecture the address names if it names one
      ("東京都新宿西新宿1-1" -> 新宿区); none or several -> unknown.
    Everything else is UNKNOWN. Its replies are JSON like a model's and are judged the same way.
    """

    name = "offline"
    model_id = "offline-fuzzy-1"
    FUZZY_CUTOFF = 0.85
    FUZZY_MIN_LENGTH = 5  # one typo in a shorter word (or a code) is another word: "asia" is not "aia"

    def __init__(self, prompt_version: str = "v1"):
        prompts.system_prompt("nationality", prompt_version)  # an unknown version fails here, as with Bedrock
        self.prompt_version = prompt_version
        self.questions: list[tuple[Task, str]] = []

    def ask(self, task: Task, text: str) -> str:
        self.questions.append((task, text))
        if task == "nationality":
            return json.dumps({"country_code": self._closest_country(text)})
        row = self._only_municipality_named(text)
        return json.dumps({"prefecture": row.prefecture if row else None, "municipality": row.municipality if row else None},
                          ensure_ascii=False)

    def usage(self) -> dict[str, int]:
        return {"attempts": len(self.questions), "input_tokens": 0, "output_tokens": 0}

    def _closest_country(self, text: str) -> str:
        key = nationality.match_key(text)
        if len(key) < self.FUZZY_MIN_LENGTH:
            return nationality.UNKNOWN
        spellings = {s: code for s, code in nationality.known_spellings().items() if len(s) >= self.FUZZY_MIN_LENGTH}
        scored = sorted(((difflib.SequenceMatcher(None, key, s).ratio(), s)
                         for s in difflib.get_close_matches(key, spellings, n=5, cutoff=self.FUZZY_CUTOFF)),
                        reverse=True)
        if not scored:
            return nationality.UNKNOWN
        best = scored[0][0]
        codes = {spellings[s] for ratio, s in scored if ratio == best}
        return codes.pop() if len(codes) == 1 else nationality.UNKNOWN

    def _only_municipality_named(self, address: str) -> municipality.Municipality | None:
        reg = municipality.registry()
        text, named = reg.without_prefectures(address)
        rows = [r for r in reg.rows if not named or r.prefecture in named]
        hits: dict[municipality.Municipality, int] = {}
        for row in rows:
            lengths = [len(s) for s in (*row.spellings, *row.stems()) if municipality.fold(s) in text]
            if lengths:
                hits[row] = max(lengths)
        if not hits:
            return None
        longest = max(hits.values())
        best = [row for row, length in hits.items() if length == longest]
        return best[0] if len(best) == 1 else None


class BedrockProvider:
    """Claude (or any Converse model) on Amazon Bedrock, one value per call."""

    name = "bedrock"

    def __init__(self, client: Any, model_id: str, prompt_version: str, max_attempts: int = 4,
                 sleep: Callable[[float], None] | None = None):
        prompts.system_prompt("nationality", prompt_version)
        self.client, self.model_id, self.prompt_version = client, model_id, prompt_version
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._usage = {"attempts": 0, "input_tokens": 0, "output_tokens": 0}

    def ask(self, task: Task, text: str) -> str:
        from tokyobeta.io import bedrock

        options = {"sleep": self.sleep} if self.sleep is not None else {}
        reply = bedrock.converse(self.client, model_id=self.model_id, system=prompts.system_prompt(task, self.prompt_version),
                                 text=text, metadata={"prompt_version": self.prompt_version, "task": task},
                                 max_attempts=self.max_attempts, **options)
        self._usage["attempts"] += reply.attempts
        self._usage["input_tokens"] += reply.input_tokens
        self._usage["output_tokens"] += reply.output_tokens
        return reply.text

    def usage(self) -> dict[str, int]:
        return dict(self._usage)


def from_settings(cfg) -> Provider:
    from tokyobeta.settings import SettingError

    kind = cfg.enrichment_provider
    try:
        if kind == "offline":
            return OfflineProvider(cfg.enrichment_prompt_version)
        if kind == "bedrock":
            from tokyobeta.io import bedrock

            if cfg.bedrock_max_attempts < 1:
                raise ValueError(f"BEDROCK_MAX_ATTEMPTS={cfg.bedrock_max_attempts} must be at least 1")
            client = bedrock.client(cfg.aws_conn_id, cfg.bedrock_region, cfg.bedrock_timeout_seconds)
            return BedrockProvider(client, cfg.bedrock_model_id, cfg.enrichment_prompt_version, cfg.bedrock_max_attempts)
    except ValueError as exc:
        raise SettingError(str(exc)) from exc
    raise SettingError(f"ENRICHMENT_PROVIDER={kind!r} is not a provider; use one of: {', '.join(PROVIDERS)}")
