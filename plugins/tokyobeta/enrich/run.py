"""One enrichment run over the current staging load: rules first, then the cache, then the
model (capped per run), and the answer maps that silver joins. Returns the counts it logs;
problems() says when those counts mean the run must fail rather than go quiet."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from tokyobeta import sqlfiles
from tokyobeta.enrich import municipality, nationality, prompts
from tokyobeta.enrich.providers import Provider
from tokyobeta.io.bedrock import ModelCallFailed, ModelRejected

log = logging.getLogger(__name__)

# After this many model calls in a row fail even with retries, the service is down or
# throttling hard: stop asking for this run instead of spending the task's timeout on it.
STOP_AFTER_CONSECUTIVE_FAILURES = 5
# How an input got its answer in this run. model_unknown: the model said it does not know;
# invalid: its answer failed validation; failed/capped/stopped: not answered (asked next run).
OUTCOMES = ("rule", "placeholder", "cache", "model", "model_unknown", "invalid", "failed", "capped", "stopped")
UNANSWERED = frozenset({"failed", "capped", "stopped"})


@dataclass
class Counts:
    """Per kind. Inputs are distinct raw nationality values / apartments; rows are the tenant
    or apartment rows they stand for. The model_* counters count calls, the rest inputs."""

    inputs: int = 0
    rows: int = 0
    rule_hits: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    model_resolved: int = 0
    model_unknown: int = 0
    invalid_answers: int = 0
    model_errors: int = 0
    cap_reached: bool = False
    unresolved: int = 0
    unanswered: int = 0
    inputs_by_outcome: dict[str, int] = field(default_factory=dict)
    rows_by_outcome: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, rows: int, resolved: bool) -> None:
        self.inputs += 1
        self.rows += rows
        self.inputs_by_outcome[outcome] = self.inputs_by_outcome.get(outcome, 0) + 1
        self.rows_by_outcome[outcome] = self.rows_by_outcome.get(outcome, 0) + rows
        self.rule_hits += outcome == "rule"
        self.cache_hits += outcome == "cache"
        self.unresolved += not resolved
        self.unanswered += outcome in UNANSWERED


@dataclass(frozen=True)
class Item:
    """One input: its key in the answer map, the text the cache and model see, and what the
    rules said (answer None: the rules do not know; placeholder: nothing to ask about)."""

    map_key: Any
    text: str
    rows: int
    rule: tuple | None
    placeholder: bool = False
    cache_rule: bool = True
    unresolved: tuple | None = None


@dataclass(frozen=True)
class Kind:
    task: prompts.Task
    cache_table: str
    text_column: str
    answer_columns: tuple[str, ...]
    map_table: str
    map_key_column: str
    unknown: tuple
    answer_of: Callable[[Any], tuple]
    resolved_by: int  # the answer column that is empty or UNKNOWN while unresolved
    text_length: int  # of the cache's text column (the key is the full text's hash)

    def resolved(self, answer: tuple) -> bool:
        return answer[self.resolved_by] not in (None, nationality.UNKNOWN)


NATIONALITY = Kind("nationality", "llm_enrichment_cache", "input_normalized", ("country_code", "label_en", "label_ja"),
                   "nationality_map", "raw_value", (nationality.UNKNOWN, None, None),
                   lambda c: (c.code, c.label_en, c.label_ja), resolved_by=0, text_length=255)
MUNICIPALITY = Kind("municipality", "llm_property_municipality_cache", "address_normalized",
                    ("prefecture", "municipality", "municipality_code"), "apartment_municipality_map", "apartment_id",
                    (None, None, None), lambda p: (p.prefecture, p.municipality, p.code), resolved_by=1,
                    text_length=1024)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _rows(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


class Enricher:
    def __init__(self, conn: Any, schemas: Mapping[str, str], include_dir: Path, provider: Provider,
                 max_model_calls: int):
        if max_model_calls < 0:
            raise ValueError(f"ENRICHMENT_MAX_MODEL_CALLS={max_model_calls} must be 0 or more")
        self.conn = conn
        self.schemas = schemas
        self.staging = schemas["staging"]
        self.include_dir = include_dir
        self.provider = provider
        self.max_model_calls = max_model_calls
        self.calls_left = max_model_calls
        self.consecutive_failures = 0
        self.stopped = ""

    def _key(self) -> tuple[str, str, str]:
        return self.provider.name, self.provider.model_id, self.provider.prompt_version

    # --- inputs -------------------------------------------------------------------------
    def nationality_items(self) -> list[Item]:
        # Grouped in binary collation: the source's case- and width-insensitive collation
        # would fold "JAPAN" into "Japan" and silver's binary join would miss one of them.
        groups = _rows(self.conn, f"SELECT nationality COLLATE utf8mb4_bin, COUNT(*) FROM `{self.staging}`.`tenants` "
                                  "GROUP BY nationality COLLATE utf8mb4_bin")
        items = []
        for raw, rows in groups:
            text = nationality.normalize(raw)
            found = nationality.resolve(raw)
            placeholder = raw is None or nationality.is_placeholder(raw)
            items.append(Item(raw, text, int(rows), NATIONALITY.answer_of(found) if found else None, placeholder))
        return items

    def municipality_items(self) -> list[Item]:
        reg = municipality.registry()
        items = []
        for apartment_id, address, prefecture, muni in _rows(
                self.conn, f"SELECT id, address, prefecture, municipality FROM `{self.staging}`.`apartments` ORDER BY id"):
            text = municipality.normalize(address)
            found, by_address = reg.resolve(address, prefecture, muni)
            known_prefecture = reg.prefecture_named(address) or reg.prefecture_of(prefecture)
            # An answer the source's own columns helped with is not a function of the address,
            # which is the cache key: it is not recorded in the cache.
            items.append(Item(apartment_id, text, 1,
                              MUNICIPALITY.answer_of(municipality.Place.of(found)) if found else None,
                              placeholder=not text and found is None, cache_rule=by_address,
                              unresolved=(known_prefecture, None, None)))
        return items

    # --- the cache ----------------------------------------------------------------------
    def _read_cache(self, kind: Kind) -> dict[str, tuple[tuple, str]]:
        columns = ", ".join(f"`{c}`" for c in kind.answer_columns)
        rows = _rows(self.conn, f"SELECT input_sha256, {columns}, source FROM `{self.staging}`.`{kind.cache_table}` "
                                "WHERE provider = %s AND model_id = %s AND prompt_version = %s", self._key())
        return {row[0]: (tuple(row[1:-1]), row[-1]) for row in rows}

    def _write_cache(self, kind: Kind, entries: dict[str, tuple[str, tuple, str, str | None]],
                     cached: dict[str, tuple[tuple, str]]) -> int:
        """Insert new answers and update changed ones; an unchanged answer keeps its row as is,
        so rerunning a day leaves the cache byte-identical."""
        changed = [(sha, *entry) for sha, entry in entries.items() if cached.get(sha) != (entry[1], entry[2])]
        if not changed:
            return 0
        now = _now()
        columns = ("input_sha256", "provider", "model_id", "prompt_version", kind.text_column, *kind.answer_columns,
                   "source", "model_reply", "created_at", "updated_at")
        updates = ", ".join(f"`{c}` = VALUES(`{c}`)" for c in (*kind.answer_columns, "source", "model_reply", "updated_at"))
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO `{self.staging}`.`{kind.cache_table}` ({', '.join(f'`{c}`' for c in columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))}) ON DUPLICATE KEY UPDATE {updates}",
                [(sha, *self._key(), text[:kind.text_length], *answer, source, reply[:512] if reply else None, now, now)
                 for sha, text, answer, source, reply in changed])
        return len(changed)

    # --- the model ----------------------------------------------------------------------
    def _ask(self, kind: Kind, text: str, counts: Counts) -> tuple[str, tuple | None, str | None]:
        """(outcome, answer or None, the raw reply) for one question the rules left open."""
        if self.stopped:
            return "stopped", None, None
        if self.calls_left <= 0:
            counts.cap_reached = True
            return "capped", None, None
        self.calls_left -= 1
        counts.model_calls += 1
        try:
            reply = self.provider.ask(kind.task, text)
        except ModelRejected as exc:
            counts.model_errors += 1
            self.stopped = str(exc)
            log.error("model rejected the request; no more model calls this run: %s", exc)
            return "failed", None, None
        except ModelCallFailed as exc:
            counts.model_errors += 1
            self.consecutive_failures += 1
            log.warning("model call for %s %r failed: %s", kind.task, text, exc)
            if self.consecutive_failures >= STOP_AFTER_CONSECUTIVE_FAILURES:
                self.stopped = f"{self.consecutive_failures} model calls in a row failed (last: {exc})"
                log.error("stopping model calls for this run: %s", self.stopped)
            return "failed", None, None
        self.consecutive_failures = 0
        judged = prompts.judge(kind.task, reply, text)
        if not judged.valid:
            counts.invalid_answers += 1
            log.warning("invalid %s answer for %r, recorded as UNKNOWN: %s; reply: %r", kind.task, text, judged.reason,
                        reply[:200])
            return "invalid", None, reply
        if judged.answer is None:
            counts.model_unknown += 1
            return "model_unknown", None, reply
        counts.model_resolved += 1
        return "model", kind.answer_of(judged.answer), reply

    # --- one kind -----------------------------------------------------------------------
    def enrich(self, kind: Kind, items: list[Item]) -> Counts:
        counts = Counts()
        cached = self._read_cache(kind)
        asked: dict[str, tuple[str, tuple | None, str | None]] = {}
        to_cache: dict[str, tuple[str, tuple, str, str | None]] = {}
        answers: list[tuple] = []
        for item in items:
            sha = sha256(item.text)
            if item.rule is not None or item.placeholder:
                outcome = "rule" if item.rule is not None else "placeholder"
                answer, source = item.rule or item.unresolved or kind.unknown, "rule"
                if item.text and item.cache_rule:
                    to_cache[sha] = (item.text, answer, source, None)
            elif sha in cached and cached[sha][1] in ("model", "unknown"):
                outcome, (answer, source) = "cache", cached[sha]
                if not kind.resolved(answer) and item.unresolved:
                    answer = item.unresolved
            else:
                if item.text not in asked:
                    asked[item.text] = self._ask(kind, item.text, counts)
                    outcome, found, reply = asked[item.text]
                    if outcome not in UNANSWERED:
                        to_cache[sha] = (item.text, found or kind.unknown, "model" if found else "unknown", reply)
                outcome, found, _ = asked[item.text]
                answer = found or item.unresolved or kind.unknown
                source = "pending" if outcome in UNANSWERED else ("model" if found else "unknown")
            counts.add(outcome, item.rows, kind.resolved(answer))
            if item.map_key is not None:
                answers.append((item.map_key, *answer, source))
        written = self._write_cache(kind, to_cache, cached)
        self._replace(kind.map_table, (kind.map_key_column, *kind.answer_columns, "source"), answers)
        log.info("enrichment %s: %s", kind.task, _summary(counts, written))
        return counts

    def _replace(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Swap the whole map in one transaction so silver never sees half of it."""
        self.conn.autocommit(False)
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"DELETE FROM `{self.staging}`.`{table}`")
                if rows:
                    cur.executemany(f"INSERT INTO `{self.staging}`.`{table}` ({', '.join(f'`{c}`' for c in columns)}) "
                                    f"VALUES ({', '.join(['%s'] * len(columns))})", rows)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        finally:
            self.conn.autocommit(True)

    def ensure_tables(self) -> None:
        sqlfiles.run_file(self.conn, self.include_dir / "sql" / "ddl" / "enrichment.sql", self.schemas)
        # CREATE TABLE IF NOT EXISTS leaves a cache made by the first (pre-release) layout alone.
        old = [t for t in (NATIONALITY.cache_table, MUNICIPALITY.cache_table) if not _rows(
            self.conn, "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                       "AND column_name = 'input_sha256'", (self.staging, t))]
        if old:
            raise RuntimeError(f"{', '.join(f'{self.staging}.{t}' for t in old)} has the pre-release layout (no "
                               "input_sha256 key). It held only the offline placeholder answers: drop it and rerun, "
                               "and this task recreates it.")

    def run(self) -> dict[str, Any]:
        self.ensure_tables()
        nat = self.enrich(NATIONALITY, self.nationality_items())
        muni = self.enrich(MUNICIPALITY, self.municipality_items())
        report = {
            "provider": self.provider.name, "model_id": self.provider.model_id,
            "prompt_version": self.provider.prompt_version, "max_model_calls": self.max_model_calls,
            "stopped": self.stopped, "usage": self.provider.usage(),
            "nationality": asdict(nat), "municipality": asdict(muni), "total": asdict(_total(nat, muni)),
        }
        log.info("enrichment total (%s %s, prompt %s): %s", *self._key(), _summary(_total(nat, muni)))
        return report


def _total(*parts: Counts) -> Counts:
    total = Counts()
    for part in parts:
        for name, value in asdict(part).items():
            if isinstance(value, dict):
                merged = getattr(total, name)
                for key, n in value.items():
                    merged[key] = merged.get(key, 0) + n
            elif isinstance(value, bool):
                setattr(total, name, getattr(total, name) or value)
            else:
                setattr(total, name, getattr(total, name) + value)
    return total


def _summary(counts: Counts, cache_writes: int | None = None) -> str:
    text = (f"{counts.inputs} inputs ({counts.rows} rows): {counts.rule_hits} by rule, {counts.cache_hits} from cache, "
            f"{counts.model_calls} model calls ({counts.model_resolved} resolved, {counts.model_unknown} unknown, "
            f"{counts.invalid_answers} invalid, {counts.model_errors} errors), cap reached: {counts.cap_reached}, "
            f"{counts.unresolved} unresolved, {counts.unanswered} left for the next run")
    return text if cache_writes is None else f"{text}; {cache_writes} cache rows written"


def problems(report: Mapping[str, Any], max_failure_rate: float) -> list[str]:
    """Why this run must fail, or [] when its counts are healthy. The legacy enrichment failed
    by staying silent; these turn silence into a failed task with a message."""
    total = report["total"]
    found = []
    if total["unanswered"] and total["model_calls"] == 0:
        found.append(f"enrichment is enabled but made no model call although {total['unanswered']} inputs need one "
                     f"(ENRICHMENT_MAX_MODEL_CALLS={report['max_model_calls']}, provider {report['provider']}"
                     f"{', stopped: ' + report['stopped'] if report['stopped'] else ''})")
    calls = total["model_calls"]
    failures = total["invalid_answers"] + total["model_errors"]
    if calls and failures / calls > max_failure_rate:
        found.append(f"model failure rate {failures / calls:.0%} ({total['model_errors']} errors and "
                     f"{total['invalid_answers']} invalid answers in {calls} calls) is above "
                     f"ENRICHMENT_MAX_FAILURE_RATE={max_failure_rate:.0%}"
                     f"{'; stopped: ' + report['stopped'] if report['stopped'] else ''}")
    return found
