"""Where a gold number came from: the chain of one dump day, read from the ops tables.

  dump -> manifest verdict -> load -> silver publication -> gold publication -> KPI upsert -> archive

  collect(conn, cfg, day, table)   the database side: the ops rows of the day (and of the table)
  build(day, records, table)       pure: the chain, each link ok or not with the reason
  render / render_note / as_json   the operator's text, the run note (1000 characters), machines
  openlineage_events / emit        the same chain as OpenLineage RunEvents

A link that is not there is shown as missing with the reason the other records give (the day
was quarantined, its gold was held, the step has not run), never filled in from another day.
Every model is built one dump day at a time (daily_partition), so a gold row of day d comes from
the newest published gold publication with dump_date = d (view ops.current_publications);
gold.occupancy_daily_metrics names its publication in each row (gold_publication_id).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

STEPS = ("dump", "manifest", "load", "silver", "gold", "kpi", "archive")
KPI_TABLE = "occupancy_daily_metrics"
JOB_NAMESPACE = "tokyobeta"
DAG_ID = "tokyobeta_daily_etl"
_DAY_COLUMN = re.compile(r"day_column\s*=\s*['\"](\w+)['\"]")


class LineageError(ValueError):
    """Bad input (a table lineage does not know): the message names it and the choices."""


@dataclass
class Link:
    step: str
    status: str           # ok | missing | quarantined | failed | held | candidate | skipped
    summary: str          # one line for people
    facts: dict[str, Any] = field(default_factory=dict)
    reason: str = ""      # why the link is not ok

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Chain:
    dump_date: date
    links: list[Link]
    table: str | None = None
    table_detail: dict[str, Any] | None = None
    bucket: str = ""
    warehouse: str = ""
    schemas: Mapping[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(link.ok for link in self.links)

    def link(self, step: str) -> Link:
        return next(link for link in self.links if link.step == step)


# --- the tables lineage can narrow to -----------------------------------------------------------

def gold_day_columns(include_dir: Path) -> dict[str, str]:
    """Gold table -> the column holding its dump day: each dbt gold model's daily_partition
    day_column, and the KPI table's metric_date."""
    out: dict[str, str] = {}
    for path in sorted((include_dir / "dbt" / "models" / "gold").glob("*.sql")):
        m = _DAY_COLUMN.search(path.read_text(encoding="utf-8"))
        if m:
            out[path.stem] = m.group(1)
    out[KPI_TABLE] = "metric_date"
    return out


def parse_table(raw: str, known: Sequence[str]) -> str:
    """'gold.X' (or 'X') -> 'X' when X is a gold table; else a LineageError naming the choices."""
    layer, _, name = raw.strip().rpartition(".")
    if layer not in ("", "gold") or name not in known:
        raise LineageError(f"--table {raw!r} is not a gold table lineage knows: use one of "
                           f"{', '.join('gold.' + t for t in sorted(known))}")
    return name


# --- the database side --------------------------------------------------------------------------

def _dicts(conn: Any, sql: str, args: Any = None) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def _exists(conn: Any, schema: str, table: str) -> bool:
    return bool(_dicts(conn, "SELECT 1 AS x FROM information_schema.tables WHERE table_schema = %s "
                             "AND table_name = %s", (schema, table)))


def collect(conn: Any, cfg: Any, day: date, table: str | None = None) -> Chain:
    """The day's records from ops (and the table's rows of the day), built into the chain.
    `table` is a gold table name already checked by parse_table."""
    from tokyobeta.ops.history import History
    from tokyobeta.transform.kpi import live_publication

    schemas = cfg.schemas()
    ops = schemas["ops"]
    History(conn, schemas, cfg.include_path).ensure_tables()
    records: dict[str, Any] = {
        "verdicts": _dicts(conn, f"SELECT * FROM `{ops}`.`manifest_verdicts` WHERE dump_date = %s ORDER BY id", (day,)),
        "loads": _dicts(conn, f"SELECT * FROM `{ops}`.`load_history` WHERE dump_date = %s ORDER BY id", (day,)),
        "publications": _dicts(conn, f"SELECT * FROM `{ops}`.`publications` WHERE dump_date = %s ORDER BY id", (day,)),
        "steps": _dicts(conn, f"SELECT * FROM `{ops}`.`step_log` WHERE dump_date = %s ORDER BY id", (day,)),
        "live": {layer: live_publication(conn, schemas[layer]) for layer in ("silver", "gold")},
        "manifest_key": cfg.manifest_key(day),
    }
    if table is not None:
        gold = schemas["gold"]
        column = gold_day_columns(cfg.include_path)[table]
        detail: dict[str, Any] = {"relation": f"{gold}.{table}", "day_column": column, "exists": _exists(conn, gold, table)}
        if detail["exists"]:
            detail["rows_of_day"] = _dicts(conn, f"SELECT COUNT(*) AS n FROM `{gold}`.`{table}` WHERE `{column}` = %s",
                                           (day,))[0]["n"]
            if table == KPI_TABLE:
                detail["kpi_rows"] = _dicts(
                    conn, f"SELECT metric_date, as_of_snapshot_date, is_projection, gold_publication_id "
                          f"FROM `{gold}`.`{table}` WHERE metric_date = %s", (day,))
        records["table"] = detail
    return build(day, records, table, bucket=cfg.dump_bucket, warehouse=_warehouse(conn), schemas=schemas)


def _warehouse(conn: Any) -> str:
    """The OpenLineage namespace of the warehouse: mysql://host:port of the connection."""
    try:
        host = conn.get_host_info().split(" via ")[0]
    except Exception:  # noqa: BLE001 - a name only; the chain does not depend on it
        host = "warehouse"
    return f"mysql://{host}"


# --- the chain (pure) ---------------------------------------------------------------------------

def _iso(value: Any) -> Any:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else (
        value.isoformat() if isinstance(value, date) else value)


def _json(text: Any, default: Any) -> Any:
    if text in (None, ""):
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def _newest(rows: Sequence[Mapping[str, Any]], **match: Any) -> Mapping[str, Any] | None:
    found = [r for r in rows if all(r.get(k) == v or (isinstance(v, tuple) and r.get(k) in v) for k, v in match.items())]
    return found[-1] if found else None


def _publication(rows: Sequence[Mapping[str, Any]], layer: str) -> Mapping[str, Any] | None:
    """The layer's publication of the day: the newest published one (what its rows come from),
    else the newest attempt (held or candidate) to say why none was published."""
    published = [r for r in rows if r["layer"] == layer and r["status"] == "published"]
    if published:
        return max(published, key=lambda r: (r.get("published_at") or datetime.min, r["id"]))
    return _newest(rows, layer=layer)


def build(day: date, records: Mapping[str, Any], table: str | None = None, *, bucket: str = "",
          warehouse: str = "", schemas: Mapping[str, str] | None = None) -> Chain:
    verdict = _newest(records.get("verdicts", []))
    loads = records.get("loads", [])
    load = _newest(loads, status=("loaded", "restored")) or _newest(loads)
    pubs = records.get("publications", [])
    steps = records.get("steps", [])
    live = records.get("live", {})
    links: list[Link] = []

    # dump: the object the load read (key, S3 version, sha256, size), else the one the manifest named
    source = load or verdict
    if source and source.get("dump_key"):
        facts = {"bucket": bucket, "key": source["dump_key"], "version_id": (load or {}).get("dump_version_id"),
                 "sha256": source.get("dump_sha256"), "bytes": (load or {}).get("dump_bytes")}
        version = (f" version {facts['version_id']}" if facts["version_id"] else
                   " (no S3 version: not read by a load)" if load is None else " (no S3 version recorded)")
        links.append(Link("dump", "ok", f"s3://{bucket}/{facts['key']}{version}, sha256 {facts['sha256'] or '?'}"
                          + (f", {facts['bytes']} bytes" if facts["bytes"] is not None else ""), facts))
    else:
        links.append(Link("dump", "missing", "no dump recorded for the day", {},
                          "the daily run has not checked this day yet" if verdict is None
                          else f"the manifest names no dump ({verdict.get('detail') or verdict['status']})"))

    # manifest verdict
    manifest_key = records.get("manifest_key")
    if verdict is None:
        links.append(Link("manifest", "missing", "no verdict", {"key": manifest_key},
                          "not run yet: no tokyobeta_daily_etl run has checked this day's manifest"))
    else:
        facts = {"key": manifest_key, "verdict": verdict["status"], "reasons": verdict.get("reasons") or "",
                 "run_id": verdict.get("run_id"), "decided_at": _iso(verdict.get("decided_at"))}
        if verdict["status"] == "LOADABLE":
            links.append(Link("manifest", "ok", f"LOADABLE ({manifest_key})", facts))
        else:
            status = "quarantined" if verdict["status"] == "QUARANTINED" else "missing"
            links.append(Link("manifest", status, f"{verdict['status']} {facts['reasons']}".strip(), facts,
                              f"{verdict['status'].lower()}: {verdict.get('detail') or facts['reasons']}"))
    day_blocked = verdict is not None and verdict["status"] != "LOADABLE"

    # load
    if load is None:
        reason = (f"not loaded: the day was {verdict['status'].lower()} ({verdict.get('reasons') or verdict.get('detail')})"
                  if day_blocked else "not run yet: no load of this day in ops.load_history")
        links.append(Link("load", "missing", "no load", {}, reason))
    else:
        rows = _json(load.get("row_counts"), {}) or {}
        facts = {"load_history_id": load["id"], "status": load["status"], "run_id": load.get("run_id"),
                 "rows": rows, "finished_at": _iso(load.get("finished_at"))}
        if load["status"] in ("loaded", "restored"):
            total = sum(int(v) for v in rows.values()) if rows else None
            links.append(Link("load", "ok", f"load #{load['id']} {load['status']}"
                              + (f", {total} rows in {len(rows)} tables" if total is not None else ""), facts))
        else:
            status = "quarantined" if load["status"] == "quarantined" else "failed"
            links.append(Link("load", status, f"load #{load['id']} {load['status']}", facts,
                              f"{load['status']}: {load.get('detail') or ''}".strip()))
    loaded = links[-1].ok

    # silver and gold publications
    for layer in ("silver", "gold"):
        pub = _publication(pubs, layer)
        if pub is None:
            reason = ("nothing to publish: the day has no load" if not loaded else
                      "no publication recorded: the layer was built without the publish step "
                      "(write-audit-publish), or the run has not reached it")
            links.append(Link(layer, "missing", "no publication", {"live_publication_id": live.get(layer)}, reason))
            continue
        models = _json(pub.get("models"), []) or []
        facts = {"publication_id": pub["id"], "status": pub["status"], "run_id": pub.get("run_id"),
                 "load_history_id": pub.get("load_history_id"), "dump_version_id": pub.get("dump_version_id"),
                 "dbt_invocation_ids": _json(pub.get("dbt_invocation_ids"), []),
                 "models": models, "published_at": _iso(pub.get("published_at")),
                 "live_publication_id": live.get(layer)}
        where = ("live in " + layer if live.get(layer) == pub["id"] else
                 f"since replaced in {layer} by publication #{live[layer]}" if live.get(layer) else "no live marker")
        failed = sum(len((m.get("tests") or {}).get("failed") or []) for m in models)
        passed = sum(int((m.get("tests") or {}).get("passed") or 0) for m in models)
        if pub["status"] == "published":
            links.append(Link(layer, "ok", f"publication #{pub['id']} published {facts['published_at']} UTC, "
                              f"{len(models)} models, tests {passed} passed / {failed} failed ({where})", facts))
        elif pub["status"] == "held":
            audit = _json(pub.get("audit"), pub.get("audit"))
            facts["audit"] = audit
            links.append(Link(layer, "held", f"publication #{pub['id']} held", facts,
                              f"held: the audit failed ({_short(audit)}); readers keep the previous {layer}, the "
                              f"candidate stays in {layer}_candidate"))
        else:
            links.append(Link(layer, pub["status"], f"publication #{pub['id']} {pub['status']}", facts,
                              f"{pub['status']}: built, not published (audit running, or the run stopped)"))
    gold_link = links[-1]

    # the steps after publish
    for step, name in (("kpi", "upsert_kpis"), ("archive", "archive_dump")):
        row = _newest(steps, step=name)
        if row is None:
            if day_blocked or not loaded:
                reason = f"not run: {links[2].reason or 'the day has no load'}"
            elif gold_link.status in ("held", "candidate"):
                reason = f"not run: gold of the day was not published ({gold_link.status})"
            else:
                reason = f"not run yet: no {name} record for the day in ops.step_log"
            links.append(Link(step, "missing", f"no {name}", {}, reason))
            continue
        detail = _json(row.get("detail"), {}) or {}
        facts = {"run_id": row.get("run_id"), "finished_at": _iso(row.get("finished_at")), **detail}
        if row["status"] != "done":
            links.append(Link(step, row["status"], f"{name} {row['status']}", facts,
                              f"{row['status']}: {detail.get('error') or detail.get('reason') or ''}".strip()))
        elif step == "kpi":
            pub_id = detail.get("gold_publication_id")
            note = f", from gold publication #{pub_id}" if pub_id is not None else ", gold publication unknown (no marker)"
            links.append(Link(step, "ok", f"as of snapshot {detail.get('as_of_snapshot_date')}: "
                              f"{detail.get('actual_rows')} actual + {detail.get('projected_rows')} projected rows "
                              f"[{detail.get('first_day')} .. {detail.get('last_day')}]{note}", facts))
        else:
            version = f" version {detail['version_id']}" if detail.get("version_id") else ""
            links.append(Link(step, "ok", f"s3://{detail.get('bucket', bucket)}/{detail.get('key')}{version}", facts))

    table_detail = None
    if table is not None:
        table_detail = dict(records.get("table") or {"relation": f"gold.{table}"})
        gold_pub = gold_link.facts if gold_link.ok else None
        if table == KPI_TABLE:
            kpi = links[STEPS.index("kpi")]
            table_detail["publication"] = kpi.facts.get("gold_publication_id") if kpi.ok else None
            table_detail["from"] = "the KPI upsert (not a dbt model)"
        else:
            models = (gold_link.facts.get("models") or []) if gold_link.facts else []
            table_detail["model"] = next((m for m in models if m.get("model") == table
                                          or str(m.get("relation", "")).endswith(f".{table}")), None)
            table_detail["publication"] = gold_pub["publication_id"] if gold_pub else None
    return Chain(day, links, table, table_detail, bucket, warehouse, dict(schemas or {}))


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- renderings ---------------------------------------------------------------------------------

_LABELS = {"dump": "dump", "manifest": "manifest verdict", "load": "load", "silver": "silver publication",
           "gold": "gold publication", "kpi": "KPI upsert", "archive": "archive"}


def _run_of(link: Link) -> str | None:
    return link.facts.get("run_id")


def _main_run(chain: Chain) -> str | None:
    """The run most links came from (the day's run); links of other runs name theirs."""
    runs = [_run_of(link) for link in chain.links if _run_of(link)]
    return max(set(runs), key=runs.count) if runs else None


def render(chain: Chain) -> str:
    head = f"Lineage of dump day {chain.dump_date}" + (f", table gold.{chain.table}" if chain.table else "")
    main = _main_run(chain)
    out = [head + (": complete" if chain.complete else ": INCOMPLETE (see the links marked !)"),
           f"  run {main}" + ("" if all(_run_of(link) in (None, main) for link in chain.links)
                              else " (links of another run name theirs)") if main else "  no run recorded"]
    for link in chain.links:
        mark = "ok" if link.ok else "! "
        out.append(f"  {mark} {_LABELS[link.step]:19} {link.summary}")
        if link.reason:
            out.append(f"     {'':19} {link.reason}")
        if _run_of(link) not in (None, main):
            out.append(f"     {'':19} run {_run_of(link)}")
    if chain.table_detail is not None:
        t = chain.table_detail
        out.append(f"  table {t.get('relation')}: "
                   + (f"{t.get('rows_of_day')} rows with {t.get('day_column')} = {chain.dump_date}"
                      if t.get("exists", True) else "does not exist"))
        if t.get("publication") is not None:
            out.append(f"    its rows of the day come from gold publication #{t['publication']}")
        else:
            out.append("    no published gold publication for its rows of the day")
        model = t.get("model")
        if model:
            tests = model.get("tests") or {}
            out.append(f"    model {model.get('model')}: {model.get('rows')} rows, tests {tests.get('passed', 0)} passed"
                       + (f", failed: {', '.join(tests['failed'])}" if tests.get("failed") else ""))
        for row in t.get("kpi_rows") or []:
            out.append(f"    metric_date {_iso(row['metric_date'])}: as_of_snapshot_date {_iso(row['as_of_snapshot_date'])}, "
                       f"{'projection' if row['is_projection'] else 'actual'}, gold_publication_id "
                       f"{row['gold_publication_id'] if row['gold_publication_id'] is not None else 'NULL'}")
    return "\n".join(out)


def render_note(chain: Chain, run_id: str | None = None) -> str:
    """The run note: one short line per link (Airflow keeps 1000 characters); run ids only
    where a link came from another run than the note's."""
    lines = [f"Lineage of {chain.dump_date}" + ("" if chain.complete else " (incomplete)")]
    for link in chain.links:
        f = link.facts
        if link.step == "dump" and link.ok:
            text = f"s3://{chain.bucket}/{f['key']} v={f.get('version_id') or '-'} sha256={str(f.get('sha256'))[:12]}"
        elif link.step == "load" and link.ok:
            text = f"#{f['load_history_id']} {f['status']}, {sum(int(v) for v in (f.get('rows') or {}).values())} rows"
        elif link.step in ("silver", "gold") and link.ok:
            text = f"publication #{f['publication_id']} at {f.get('published_at')}"
        elif link.step == "kpi" and link.ok:
            text = (f"as of {f.get('as_of_snapshot_date')}, {f.get('actual_rows')}+{f.get('projected_rows')} rows, "
                    f"gold #{f.get('gold_publication_id') if f.get('gold_publication_id') is not None else '-'}")
        elif link.step == "archive" and link.ok:
            text = f"{f.get('key')} v={f.get('version_id') or '-'}"
        elif link.ok:
            text = link.summary
        else:
            # a long reason (a verdict's detail) must not push the later links out of the note
            text = _short(f"{link.status.upper()}: {link.reason or link.summary}", 110)
        other_run = _run_of(link) and run_id and _run_of(link) != run_id
        lines.append(f"{_LABELS[link.step]}: {text}" + (f" (run {_run_of(link)})" if other_run else ""))
    return "\n".join(lines)


def as_json(chain: Chain) -> dict[str, Any]:
    return json.loads(json.dumps({
        "dump_date": chain.dump_date.isoformat(), "table": f"gold.{chain.table}" if chain.table else None,
        "complete": chain.complete, "bucket": chain.bucket,
        "links": [{**asdict(link), "ok": link.ok} for link in chain.links],
        "table_detail": chain.table_detail,
    }, default=_iso))


# --- OpenLineage --------------------------------------------------------------------------------

def _run_uuid(chain: Chain, link: Link) -> str:
    """A stable run id per link: the same chain emits the same ids (OpenLineage wants UUIDs)."""
    basis = f"{chain.dump_date}|{link.step}|{_run_of(link) or ''}|{json.dumps(link.facts, default=str, sort_keys=True)}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tokyobeta:{basis}"))


def openlineage_events(chain: Chain, producer: str = "https://github.com/tokyobeta/tokyobeta") -> list[Any]:
    """One COMPLETE RunEvent per link that happened (missing links emit nothing: an event says
    a run happened), job tokyobeta_daily_etl.<step>, with its S3 and warehouse datasets."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import parent_run

    s3 = f"s3://{chain.bucket}"
    def schema(layer: str) -> str:
        return chain.schemas.get(layer, layer)
    dump = chain.link("dump").facts
    dump_ds = [InputDataset(s3, dump["key"])] if dump.get("key") else []
    def tables(link: Link) -> list[OutputDataset]:
        return [OutputDataset(chain.warehouse, str(m.get("relation") or m.get("model")))
                for m in link.facts.get("models") or []]
    load_rows = chain.link("load").facts.get("rows") or {}
    io: dict[str, tuple[list, list]] = {
        "dump": ([], [OutputDataset(s3, dump["key"])] if dump.get("key") else []),
        "manifest": ([InputDataset(s3, str(chain.link("manifest").facts.get("key")))], []),
        "load": (dump_ds, [OutputDataset(chain.warehouse, f"{schema('staging')}.{t}") for t in sorted(load_rows)]),
        "silver": ([], tables(chain.link("silver"))),
        "gold": ([InputDataset(o.namespace, o.name) for o in tables(chain.link("silver"))], tables(chain.link("gold"))),
        "kpi": ([InputDataset(o.namespace, o.name) for o in tables(chain.link("gold"))],
                [OutputDataset(chain.warehouse, f"{schema('gold')}.{KPI_TABLE}")]),
        "archive": (dump_ds, [OutputDataset(s3, str(chain.link("archive").facts.get("key")))]),
    }
    events = []
    now = datetime.now(timezone.utc).isoformat()
    for link in chain.links:
        if not link.ok:
            continue
        facets: dict[str, Any] = {}
        if _run_of(link):
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"tokyobeta:{DAG_ID}:{_run_of(link)}"))),
                job=parent_run.Job(namespace=JOB_NAMESPACE, name=DAG_ID))
        inputs, outputs = io[link.step]
        finished = link.facts.get("finished_at") or link.facts.get("published_at") or link.facts.get("decided_at")
        when = f"{str(finished).replace(' ', 'T')}Z" if finished else now
        events.append(RunEvent(eventType=RunState.COMPLETE, eventTime=when,
                               run=Run(runId=_run_uuid(chain, link), facets=facets),
                               job=Job(namespace=JOB_NAMESPACE, name=f"{DAG_ID}.{link.step}"),
                               inputs=inputs, outputs=outputs, producer=producer))
    return events


def emit_openlineage(chain: Chain, client: Any = None) -> int:
    """Sends the chain's events through the OpenLineage client, configured the client's own way
    (OPENLINEAGE_URL, OPENLINEAGE__TRANSPORT__* or OPENLINEAGE_CONFIG). Returns how many."""
    from openlineage.client import OpenLineageClient

    client = client or OpenLineageClient()
    events = openlineage_events(chain)
    for event in events:
        client.emit(event)
    return len(events)
