"""Write-audit-publish of silver and gold (README: "Publishing: write-audit-publish").

The dbt tasks of a run write every silver and gold model and seed into the twin schemas
<layer>_candidate (dbt reads CANDIDATE_ENV, macros/generate_schema_name.sql), which no reader
uses. `audit` runs every dbt test of the models against the candidates in one dbt process, and
the KPI sanity checks against the gold candidate and the live previous day. `publish` then swaps
each candidate relation with its live one in ONE `RENAME TABLE` for both layers (atomic on
MySQL and MariaDB), the one-row marker table `publication` included, so the live schema itself
says which ops.publications row it holds: that is the truth after a crash, the ops row's status
is bookkeeping a rerun repairs. After the swap the twin holds the previous publication; the
daily_partition materialization brings it up to date by re-copying only its dirty days.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from airflow.exceptions import AirflowFailException

from tokyobeta import sqlfiles

log = logging.getLogger(__name__)

LAYERS = ("silver", "gold")
CANDIDATE_ENV = "TOKYOBETA_DBT_CANDIDATES"
MARKER = "publication"
# Every test of every model: the staging sources' and seeds' own tests run before silver is
# built (dbt_silver.staging_sources_and_seeds_build), so a bad load is never built on.
AUDIT_SELECT = ("path:models/silver", "path:models/gold")
# Only these columns of a failing test's rows reach the alert and ops.publications: ids, days,
# codes and counts, never a name or an e-mail address.
_ID_COLUMN = re.compile(r"^(id|status|occurrences|event_type)$|_(id|date|status|code)$")
_SHOWN_ROWS = 5
# Test hook (never set in production): seconds to sleep after each publish step, so a test can
# SIGKILL the process between steps; each step is announced on stdout first.
PAUSE_ENV = "TOKYOBETA_PUBLISH_STEP_PAUSE"


def candidate(layer: str) -> str:
    return f"{layer}_candidate"


class PublicationHeld(AirflowFailException):
    """The audit failed: nothing is published. The raising task has sent the run's one alert
    itself (alerts.on_task_failure and on_dag_failure send nothing more for it)."""

    already_alerted = True


@dataclass
class Failure:
    check: str          # the dbt test's name, or kpi:<check>
    model: str
    layer: str
    message: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        ids = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in self.rows)
        return f"{self.check} on {self.layer}.{self.model}: {self.message}" + (f"\n    e.g. {ids}" if ids else "")


@dataclass
class Audit:
    failures: list[Failure]
    models: dict[str, list[dict[str, Any]]]        # layer -> [{model, relation, rows, tests}]
    invocation_ids: list[str]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failures


# --- the layer's relations, from the dbt manifest cosmos renders from ---

def layer_relations(manifest: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """layer -> {relation name: {"model": name, "day_column": column or None}} of the dbt
    models and seeds configured into that layer (schema silver or gold)."""
    out: dict[str, dict[str, dict[str, Any]]] = {layer: {} for layer in LAYERS}
    for node in manifest["nodes"].values():
        config = node.get("config") or {}
        if node["resource_type"] not in {"model", "seed"} or config.get("schema") not in LAYERS:
            continue
        if config.get("materialized") in {"ephemeral", "view"}:
            raise ValueError(f"{node['name']} is a {config['materialized']}: publish swaps tables only; "
                             "materialize it as a table (include/dbt/dbt_project.yml)")
        out[config["schema"]][node.get("alias") or node["name"]] = {
            "model": node["name"], "day_column": config.get("day_column")}
    return out


def read_manifest(project_dir: Path) -> dict[str, Any]:
    from tokyobeta.transform.dbt_project import manifest_path

    return json.loads(Path(manifest_path(project_dir)).read_text())


# --- the publication log ---

def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _rows(conn, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return [tuple(r) for r in cur.fetchall()]


def open_publications(conn, schemas: Mapping[str, str], include_path: Path, day: date, run_id: str,
                      manifest_key: str) -> dict[str, int]:
    """This run's ops.publications row per layer, status candidate (an earlier unpublished row
    of the same run and day is reused: a cleared audit writes no second row)."""
    from tokyobeta.ops.history import History

    ops = schemas["ops"]
    load = History(conn, schemas, include_path).load_lineage(day, manifest_key) or {}
    lineage = (load.get("dump_key"), load.get("dump_version_id"), load.get("dump_sha256"), manifest_key,
               load.get("load_history_id"))
    ids = {}
    with conn.cursor() as cur:
        for layer in LAYERS:
            cur.execute(f"SELECT id FROM `{ops}`.publications WHERE layer = %s AND dump_date = %s AND run_id = %s "
                        "AND status <> 'published' ORDER BY id DESC LIMIT 1", (layer, day, run_id))
            found = cur.fetchone()
            values = (*lineage, _utc_now())
            if found:
                ids[layer] = found[0]
                cur.execute(f"UPDATE `{ops}`.publications SET status = 'candidate', dump_key = %s, dump_version_id = %s, "
                            "dump_sha256 = %s, manifest_key = %s, load_history_id = %s, started_at = %s, audit = NULL, models = NULL "
                            "WHERE id = %s", (*values, found[0]))
            else:
                cur.execute(f"INSERT INTO `{ops}`.publications (layer, dump_date, status, dump_key, dump_version_id, "
                            "dump_sha256, manifest_key, load_history_id, started_at, run_id) "
                            "VALUES (%s, %s, 'candidate', %s, %s, %s, %s, %s, %s, %s)", (layer, day, *values, run_id))
                ids[layer] = cur.lastrowid
    conn.commit()
    return ids


def record_audit(conn, schemas: Mapping[str, str], ids: Mapping[str, int], audit: Audit) -> None:
    """Models, tests and invocation ids on each layer's row; status held when the audit failed."""
    with conn.cursor() as cur:
        for layer, pub_id in ids.items():
            failures = [asdict(f) for f in audit.failures]
            cur.execute(
                f"UPDATE `{schemas['ops']}`.publications SET status = %s, models = %s, audit = %s, "
                "dbt_invocation_ids = %s WHERE id = %s",
                ("candidate" if audit.passed else "held", json.dumps(audit.models.get(layer, []), default=str),
                 json.dumps({"passed": audit.passed, "failures": failures, "seconds": round(audit.seconds, 2)},
                            default=str),
                 json.dumps(audit.invocation_ids), pub_id))
    conn.commit()


# --- audit ---

@contextmanager
def airflow_dbt_profile(cfg) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The profile cosmos gives the dbt tasks (built from the warehouse's Airflow connection)."""
    from tokyobeta.transform.cosmos_groups import profile_config

    profile = profile_config(cfg)
    with profile.ensure_profile() as (path, env):
        yield ["--profiles-dir", str(Path(path).parent), "--profile", profile.profile_name,
               "--target", profile.target_name], dict(env)


def dbt_test(dbt_executable: str, project_dir: Path, profile_args: Sequence[str], env: Mapping[str, str],
             work_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """`dbt test` of every model's tests against the candidates: (run_results, manifest)."""
    target = work_dir / "target"
    cmd = [dbt_executable, "test", "--select", *AUDIT_SELECT, "--project-dir", str(project_dir), *profile_args,
           "--target-path", str(target), "--log-path", str(work_dir / "logs")]
    full_env = {**os.environ, **env, CANDIDATE_ENV: "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    for attempt in (1, 2):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=project_dir)
        # Connector/Python's C extension segfaults now and then while connecting (see
        # tests/integration/transform/conftest.py): once more, the tests only read
        if proc.returncode != -signal.SIGSEGV or attempt == 2:
            break
        log.warning("dbt test crashed with SIGSEGV; running it once more")
    results_path = target / "run_results.json"
    # 0: every test passed, 1: some failed; anything else (or no results) is dbt not running
    if proc.returncode not in (0, 1) or not results_path.exists():
        raise RuntimeError(f"dbt test did not run (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return json.loads(results_path.read_text()), json.loads((target / "manifest.json").read_text())


def _tested_model(node: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    attached = node.get("attached_node") or next(iter((node.get("depends_on") or {}).get("nodes") or []), "")
    return (manifest["nodes"].get(attached) or {}).get("name") or attached.rsplit(".", 1)[-1] or "?"


def offending_ids(conn, compiled_sql: str) -> list[dict[str, Any]]:
    """A few rows of a failing test's own query, id-like columns only."""
    if not compiled_sql:
        return []
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM ({compiled_sql}) AS failing LIMIT {_SHOWN_ROWS}")
        names = [d[0] for d in cur.description]
        keep = [i for i, name in enumerate(names) if _ID_COLUMN.search(name.lower())]
        return [{names[i]: (str(row[i]) if row[i] is not None else None) for i in keep} for row in cur.fetchall()]


def test_failures(conn, run_results: Mapping[str, Any], manifest: Mapping[str, Any],
                  layer_of: Mapping[str, str]) -> tuple[list[Failure], dict[str, dict[str, Any]]]:
    """The failing tests (error or fail; warn passes) and each model's tests {passed, failed}."""
    failures, tests = [], {}
    for result in run_results["results"]:
        node = manifest["nodes"].get(result["unique_id"], {})
        model = _tested_model(node, manifest)
        counts = tests.setdefault(model, {"passed": 0, "failed": []})
        if result["status"] not in {"fail", "error"}:
            counts["passed"] += 1
            continue
        name = node.get("name") or result["unique_id"]
        counts["failed"].append(name)
        rows = []
        if result["status"] == "fail":
            try:
                rows = offending_ids(conn, result.get("compiled_code") or node.get("compiled_code") or "")
            except Exception as exc:  # noqa: BLE001 - the failure itself is what matters
                log.warning("could not fetch the offending rows of %s: %s", name, exc)
        message = (f"{result.get('failures')} failing row(s)" if result["status"] == "fail"
                   else (result.get("message") or "error").splitlines()[0][:300])
        failures.append(Failure(name, model, layer_of.get(model, "?"), message, rows))
    return failures, tests


def kpi_checks(conn, schemas: Mapping[str, str], include_path: Path, day: date, max_rooms_drop_share: float,
               max_daily_move_ins: int) -> list[Failure]:
    """The KPI sanity checks of the gold candidate's dump day (include/sql/publish/)."""
    folder = include_path / "sql" / "publish"
    failures = []
    with conn.cursor() as cur:
        cur.execute(sqlfiles.render(folder / "kpi_occupancy_rate.sql", schemas), {"day": day})
        rows = cur.fetchall()
        if rows:
            failures.append(Failure(
                "kpi:occupancy_rate_in_0_1", "occupancy_by_apartment", "gold",
                f"{len(rows)} apartment(s) with an occupancy rate outside [0, 1] on {day}",
                [{"snapshot_date": str(day), "apartment_id": str(r[0]), "occupancy_rate": str(r[1])} for r in rows]))
        # the first publication has no live gold to compare with
        has_live = "occupancy_by_apartment" in _tables(conn, schemas["gold"])
        if has_live:
            cur.execute(sqlfiles.render(folder / "kpi_total_rooms.sql", schemas), {"day": day})
        current, previous_day, previous = cur.fetchone() if has_live else (None, None, None)
        if previous and current is not None and float(previous - current) > max_rooms_drop_share * float(previous):
            failures.append(Failure(
                "kpi:total_rooms_drop", "occupancy_by_apartment", "gold",
                f"total_rooms fell from {previous} on {previous_day} to {current} on {day}, more than "
                f"KPI_MAX_ROOMS_DROP_SHARE={max_rooms_drop_share:g} of the previous day",
                [{"snapshot_date": str(day), "previous_snapshot_date": str(previous_day)}]))
        cur.execute(sqlfiles.render(folder / "kpi_move_ins.sql", schemas), {"day": day})
        (move_ins,) = cur.fetchone() or (None,)
        if move_ins is not None and move_ins > max_daily_move_ins:
            failures.append(Failure(
                "kpi:daily_move_ins_ceiling", "daily_activity_summary", "gold",
                f"{move_ins} move-ins on {day}, above KPI_MAX_DAILY_MOVE_INS={max_daily_move_ins}",
                [{"activity_date": str(day)}]))
    return failures


def model_rows(conn, schemas: Mapping[str, str], relations: Mapping[str, Mapping[str, Any]], layer: str,
               day: date, tests: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per candidate relation: rows (of the dump day for a daily table, else all) and its tests."""
    out = []
    schema = schemas[candidate(layer)]
    with conn.cursor() as cur:
        for relation, info in sorted(relations.items()):
            column = info["day_column"]
            try:
                cur.execute(f"SELECT COUNT(*) FROM `{schema}`.`{relation}`" + (f" WHERE `{column}` = %s" if column else ""),
                            (day,) if column else None)
                rows = cur.fetchone()[0]
            except Exception:  # noqa: BLE001 - a model that failed to build has no table; the audit says why
                rows = None
            out.append({"model": info["model"], "relation": f"{schemas[layer]}.{relation}", "rows": rows,
                        "rows_of": str(day) if column else "all",
                        "tests": tests.get(info["model"], {"passed": 0, "failed": []})})
    return out


def audit(conn, schemas: Mapping[str, str], include_path: Path, manifest: Mapping[str, Any], day: date, *,
          dbt_executable: str, profile_args: Sequence[str], env: Mapping[str, str],
          max_rooms_drop_share: float, max_daily_move_ins: int, publication_ids: Mapping[str, int] | None = None) -> Audit:
    started = time.monotonic()
    relations = layer_relations(manifest)
    require_built_twins(conn, schemas, publication_ids or {})
    layer_of = {info["model"]: layer for layer, rels in relations.items() for info in rels.values()}
    with tempfile.TemporaryDirectory(prefix="tokyobeta-audit-") as work:
        results, run_manifest = dbt_test(dbt_executable, include_path / "dbt", profile_args, env, Path(work))
    failures, tests = test_failures(conn, results, run_manifest, layer_of)
    if not any(f.layer == "silver" for f in failures):
        # gold read the silver candidate: the KPI checks only make sense on a sound silver
        failures += kpi_checks(conn, schemas, include_path, day, max_rooms_drop_share, max_daily_move_ins)
    models = {layer: model_rows(conn, schemas, relations[layer], layer, day, tests) for layer in LAYERS}
    invocation = (results.get("metadata") or {}).get("invocation_id")
    return Audit(failures, models, [invocation] if invocation else [], time.monotonic() - started)


def held_message(day: date, run_id: str, failures: Sequence[Failure], schemas: Mapping[str, str],
                 retry_task: str) -> tuple[str, str]:
    first = failures[0]
    subject = (f"HELD {day}: silver/gold not published, {first.check} failed on {first.model}"
               + (f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""))
    body = "\n".join([
        f"Dump day:  {day}",
        f"Run:       {run_id}",
        "Nothing was published: readers keep the previous silver and gold.",
        "",
        f"Failed checks ({len(failures)}):",
        *(f"  {f.line()}" for f in failures[:10]),
        "",
        f"The held build stays inspectable in {schemas[candidate('silver')]} and {schemas[candidate('gold')]} "
        "until the next build.",
        f"Fix the data or the model, then clear {retry_task} with Downstream.",
    ])
    return subject, body


# --- publish ---

def _pause(step: str) -> None:
    seconds = float(os.environ.get(PAUSE_ENV) or 0)
    if seconds:
        print(f"publish step: {step}", flush=True)
        time.sleep(seconds)


def _tables(conn, schema: str) -> set[str]:
    return {name for (name,) in _rows(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                                            "AND table_type = 'BASE TABLE'", (schema,))}


def _marker(conn, schema: str) -> int | None:
    if MARKER not in _tables(conn, schema):
        return None
    found = _rows(conn, f"SELECT publication_id FROM `{schema}`.`{MARKER}`")
    return found[0][0] if found else None


def require_built_twins(conn, schemas: Mapping[str, str], allowed: Mapping[str, int]) -> None:
    """Refuses twins that still hold a publication swapped out by an earlier publish (their
    marker names it; every candidate dbt build drops the marker): auditing or publishing those
    would put yesterday's tables back."""
    for layer in LAYERS:
        twin = schemas[candidate(layer)]
        held = _marker(conn, twin)
        if held is not None and held != allowed.get(layer):
            raise AirflowFailException(
                f"{twin} holds publication {held}, swapped out by an earlier publish, not a build of this run: "
                "clear dbt_silver with Downstream to build the candidates again")


def swap_statement(schemas: Mapping[str, str], relations: Mapping[str, Sequence[str]],
                   live_tables: Mapping[str, set[str]]) -> str:
    """One RENAME TABLE swapping every relation of both layers with its twin: live -> a parking
    name in the twin, twin -> live, parking -> twin (a relation new to the layer just moves)."""
    parts = []
    for layer, names in relations.items():
        live, twin = schemas[layer], schemas[candidate(layer)]
        for name in sorted(names):
            if name in live_tables[layer]:
                parked = f"`{twin}`.`{name}__publishing`"
                parts += [f"`{live}`.`{name}` TO {parked}", f"`{twin}`.`{name}` TO `{live}`.`{name}`",
                          f"{parked} TO `{twin}`.`{name}`"]
            else:
                parts.append(f"`{twin}`.`{name}` TO `{live}`.`{name}`")
    return "RENAME TABLE " + ", ".join(parts)


def publish(conn, schemas: Mapping[str, str], manifest: Mapping[str, Any], day: date, run_id: str) -> dict[str, Any]:
    """Swaps the audited candidates of this run's day in. Idempotent: when the live markers
    already name this run's publications (a rerun, or a crash after the swap), it only marks
    the ops rows published."""
    started = time.monotonic()
    ops = schemas["ops"]
    pending = dict(_rows(conn, f"SELECT layer, id FROM `{ops}`.publications WHERE dump_date = %s AND run_id = %s "
                               "AND status = 'candidate' AND audit IS NOT NULL ORDER BY id", (day, run_id)))
    if set(pending) != set(LAYERS):
        published = _rows(conn, f"SELECT layer, id FROM `{ops}`.publications WHERE dump_date = %s AND run_id = %s "
                                "AND status = 'published'", (day, run_id))
        if {layer for layer, _ in published} == set(LAYERS) and all(
                _marker(conn, schemas[layer]) == pub_id for layer, pub_id in published):
            log.info("the audited candidates of %s are already published: %s", day, dict(published))
            return {"published": dict(published), "already": True, "seconds": 0.0}
        raise AirflowFailException(
            f"no audited candidate of {day} for run {run_id} (ops.publications holds none with status candidate): "
            "clear audit_candidates with Downstream to audit the candidates first")

    if all(_marker(conn, schemas[layer]) == pub_id for layer, pub_id in pending.items()):
        log.info("the live schemas already hold publications %s (swapped before a crash): recording it", pending)
        swap_seconds = 0.0
    else:
        relations = {layer: sorted(rels) + [MARKER] for layer, rels in layer_relations(manifest).items()}
        require_built_twins(conn, schemas, pending)
        with conn.cursor() as cur:
            for layer, pub_id in pending.items():
                twin = schemas[candidate(layer)]
                missing = sorted(set(relations[layer]) - {MARKER} - _tables(conn, twin))
                if missing:
                    raise AirflowFailException(f"{twin} lacks {missing}: the candidates were not built; "
                                               "clear dbt_silver with Downstream")
                if _marker(conn, twin) != pub_id:
                    cur.execute(f"CREATE TABLE IF NOT EXISTS `{twin}`.`{MARKER}` (publication_id BIGINT UNSIGNED NOT NULL "
                                "PRIMARY KEY, dump_date DATE NOT NULL, run_id VARCHAR(250) NOT NULL) ENGINE=InnoDB")
                    cur.execute(f"DELETE FROM `{twin}`.`{MARKER}`")
                    cur.execute(f"INSERT INTO `{twin}`.`{MARKER}` VALUES (%s, %s, %s)", (pub_id, day, run_id))
                    conn.commit()
            _pause("markers written")
            statement = swap_statement(schemas, relations, {layer: _tables(conn, schemas[layer]) for layer in LAYERS})
            swap_started = time.monotonic()
            cur.execute(statement)
            swap_seconds = time.monotonic() - swap_started
        _pause("swapped")
    with conn.cursor() as cur:
        cur.execute(f"UPDATE `{ops}`.publications SET status = 'published', published_at = %s "
                    f"WHERE id IN ({', '.join(['%s'] * len(pending))})", (_utc_now(), *pending.values()))
    conn.commit()
    _pause("recorded")
    return {"published": pending, "already": False, "swap_seconds": round(swap_seconds, 3),
            "seconds": round(time.monotonic() - started, 3)}
