"""One enrichment run over the current staging load: rules first, then the cache, then the
model (capped), and the answer maps that silver joins. Returns the counts it logs."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tokyobeta import sqlfiles
from tokyobeta.enrich import municipality, nationality
from tokyobeta.enrich.providers import Provider

log = logging.getLogger(__name__)


@dataclass
class Counts:
    inputs: int = 0
    rule_hits: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    model_resolved: int = 0
    invalid_answers: int = 0
    cap_reached: bool = False
    unresolved: int = 0


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _rows(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


class Enricher:
    def __init__(self, conn: Any, schemas: Mapping[str, str], include_dir: Path, provider: Provider,
                 max_model_calls: int):
        self.conn = conn
        self.schemas = schemas
        self.staging = schemas["staging"]
        self.include_dir = include_dir
        self.provider = provider
        self.calls_left = max_model_calls

    def _key(self) -> tuple[str, str, str]:
        return self.provider.name, self.provider.model_id, self.provider.prompt_version

    def _ask_model(self, counts: Counts, ask: Any, value: str) -> Any:
        if self.calls_left <= 0:
            counts.cap_reached = True
            return None
        self.calls_left -= 1
        counts.model_calls += 1
        answer = ask(value)
        if answer is None:
            counts.invalid_answers += 1
        else:
            counts.model_resolved += 1
        return answer

    def nationalities(self) -> Counts:
        counts = Counts()
        raws = [r for (r,) in _rows(self.conn, f"SELECT DISTINCT nationality FROM `{self.staging}`.`tenants` "
                                               "WHERE nationality IS NOT NULL")]
        cached = {row[0]: row[1:] for row in _rows(
            self.conn,
            f"SELECT input_normalized, country_code, label_en, label_ja, source FROM `{self.staging}`.`llm_enrichment_cache` "
            "WHERE provider = %s AND model_id = %s AND prompt_version = %s", self._key())}
        answers: dict[str, tuple] = {}
        new_cache: dict[str, tuple] = {}
        for raw in raws:
            key = nationality.normalize(raw)
            counts.inputs += 1
            rule = nationality.resolve(raw)
            if rule is not None:
                counts.rule_hits += 1
                answers[raw] = (rule.code, rule.label_en, rule.label_ja, "rule")
                continue
            if not key:
                answers[raw] = (nationality.UNKNOWN, None, None, "unknown")
                counts.unresolved += 1
                continue
            if key in cached:
                counts.cache_hits += 1
                answers[raw] = cached[key]
            elif key in new_cache:
                answers[raw] = new_cache[key]
            else:
                code = self._ask_model(counts, self.provider.nationality, key)
                if code is not None:
                    c = nationality.country(code)
                    answer = (c.code, c.label_en, c.label_ja, "model")
                else:
                    answer = (nationality.UNKNOWN, None, None, "unknown")
                if code is not None or not counts.cap_reached:  # an input left by the cap is asked next run
                    new_cache[key] = answer
                answers[raw] = answer
            if answers[raw][0] == nationality.UNKNOWN:
                counts.unresolved += 1
        now = _now()
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO `{self.staging}`.`llm_enrichment_cache` (input_normalized, provider, model_id, "
                "prompt_version, country_code, label_en, label_ja, source, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE country_code = VALUES(country_code), label_en = VALUES(label_en), "
                "label_ja = VALUES(label_ja), source = VALUES(source), updated_at = VALUES(updated_at)",
                [(key, *self._key(), *answer, now, now) for key, answer in new_cache.items()])
        self._replace("nationality_map", "(raw_value, country_code, label_en, label_ja, source)",
                      [(raw, *answer) for raw, answer in answers.items()])
        return counts

    def municipalities(self) -> Counts:
        counts = Counts()
        rows = _rows(self.conn, f"SELECT id, address, prefecture, municipality FROM `{self.staging}`.`apartments`")
        cached = {row[0]: row[1:] for row in _rows(
            self.conn,
            f"SELECT address_normalized, prefecture, municipality, source FROM "
            f"`{self.staging}`.`llm_property_municipality_cache` "
            "WHERE provider = %s AND model_id = %s AND prompt_version = %s", self._key())}
        answers: list[tuple] = []
        new_cache: dict[str, tuple] = {}
        for apartment_id, address, prefecture, muni in rows:
            counts.inputs += 1
            key = municipality.normalize(address)
            place = municipality.parse(address)
            if place is not None:
                counts.rule_hits += 1
                answer = (place.prefecture or prefecture, place.municipality, "rule")
            elif key in cached:
                counts.cache_hits += 1
                answer = cached[key]
            elif key in new_cache:
                answer = new_cache[key]
            elif key:
                found = self._ask_model(counts, self.provider.municipality, key)
                answer = ((found.prefecture, found.municipality, "model") if found is not None
                          else (prefecture, muni, "unknown"))
                if not counts.cap_reached or found is not None:
                    new_cache[key] = answer
            else:
                answer = (prefecture, muni, "unknown")
            if answer[1] is None:
                counts.unresolved += 1
            answers.append((apartment_id, *answer))
        now = _now()
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO `{self.staging}`.`llm_property_municipality_cache` (address_normalized, provider, "
                "model_id, prompt_version, prefecture, municipality, source, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE prefecture = VALUES(prefecture), municipality = VALUES(municipality), "
                "source = VALUES(source), updated_at = VALUES(updated_at)",
                [(key, *self._key(), *answer, now, now) for key, answer in new_cache.items()])
        self._replace("apartment_municipality_map", "(apartment_id, prefecture, municipality, source)", answers)
        return counts

    def _replace(self, table: str, columns: str, rows: list[tuple]) -> None:
        """Swap the whole map in one transaction so silver never sees half of it."""
        placeholders = ", ".join(["%s"] * (columns.count(",") + 1))
        self.conn.autocommit(False)
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"DELETE FROM `{self.staging}`.`{table}`")
                if rows:
                    cur.executemany(f"INSERT INTO `{self.staging}`.`{table}` {columns} VALUES ({placeholders})", rows)
            self.conn.commit()
        except Exception:
            self.conn.rollback()
            raise
        finally:
            self.conn.autocommit(True)

    def run(self) -> dict[str, dict[str, Any]]:
        sqlfiles.run_file(self.conn, self.include_dir / "sql" / "ddl" / "enrichment.sql", self.schemas)
        result = {"nationality": asdict(self.nationalities()), "municipality": asdict(self.municipalities())}
        for what, counts in result.items():
            log.info("enrichment %s: %s", what, counts)
        return result
