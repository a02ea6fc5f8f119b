"""The lineage chain builder and its renderings, on the ops rows a day leaves (no database):
a complete day, a quarantined day, a held gold publication, a republished day, bad --table."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from tokyobeta.ops import lineage

DAY = date(2026, 3, 2)
RUN = "scheduled__2026-03-01T17:00:00+00:00"
KEY = "dumps/gghouse_20260302.sql"
SHA = "ab" * 32
INCLUDE = Path(__file__).resolve().parents[2] / "include"


def models(layer: str, failed: tuple[str, ...] = ()) -> str:
    names = {"silver": ["tenant_room_snapshot_daily"], "gold": ["daily_activity_summary", "occupancy_by_apartment"]}[layer]
    return json.dumps([{"model": m, "relation": f"{layer}.{m}", "rows": 10 + i,
                        "tests": {"passed": 3, "failed": list(failed) if i == 0 else []}}
                       for i, m in enumerate(names)])


def publication(pid: int, layer: str, status: str, published: datetime | None = None, **extra) -> dict:
    return {"id": pid, "layer": layer, "dump_date": DAY, "status": status, "dump_key": KEY,
            "dump_version_id": "v-dump", "dump_sha256": SHA, "manifest_key": "dumps-manifest/gghouse_20260302.json",
            "load_history_id": 7, "run_id": RUN, "dbt_invocation_ids": json.dumps([f"inv-{layer}"]),
            "models": models(layer), "audit": None, "started_at": datetime(2026, 3, 1, 17, 10),
            "published_at": published, **extra}


def complete_records() -> dict:
    return {
        "verdicts": [{"id": 3, "dump_date": DAY, "status": "LOADABLE", "reasons": "", "detail": "ok",
                      "dump_key": KEY, "dump_sha256": SHA, "run_id": RUN, "decided_at": datetime(2026, 3, 1, 17, 1)}],
        "loads": [{"id": 7, "dump_date": DAY, "dump_key": KEY, "dump_sha256": SHA, "dump_bytes": 1234,
                   "dump_version_id": "v-dump", "status": "loaded", "row_counts": json.dumps({"tenants": 5, "rooms": 4}),
                   "run_id": RUN, "finished_at": datetime(2026, 3, 1, 17, 3), "detail": ""}],
        "publications": [publication(11, "silver", "published", datetime(2026, 3, 1, 17, 20)),
                         publication(12, "gold", "published", datetime(2026, 3, 1, 17, 25))],
        "steps": [
            {"id": 1, "dump_date": DAY, "step": "upsert_kpis", "run_id": RUN, "status": "done",
             "detail": json.dumps({"as_of_snapshot_date": "2026-03-02", "first_day": "2026-01-31",
                                   "last_day": "2026-05-01", "actual_rows": 1, "projected_rows": 60,
                                   "gold_publication_id": 12}), "finished_at": datetime(2026, 3, 1, 17, 26)},
            {"id": 2, "dump_date": DAY, "step": "archive_dump", "run_id": RUN, "status": "done",
             "detail": json.dumps({"bucket": "b", "key": "dumps-archive/gghouse_20260302.sql", "version_id": "v-arch"}),
             "finished_at": datetime(2026, 3, 1, 17, 27)}],
        "live": {"silver": 11, "gold": 12},
        "manifest_key": "dumps-manifest/gghouse_20260302.json",
    }


def test_a_complete_day_names_every_key_version_and_run():
    chain = lineage.build(DAY, complete_records(), bucket="b")
    assert [link.step for link in chain.links] == list(lineage.STEPS)
    assert chain.complete
    dump, manifest, load, silver, gold, kpi, archive = chain.links
    assert (dump.facts["key"], dump.facts["version_id"], dump.facts["sha256"], dump.facts["bytes"]) == (KEY, "v-dump", SHA, 1234)
    assert manifest.facts["verdict"] == "LOADABLE" and manifest.facts["run_id"] == RUN
    assert load.facts["load_history_id"] == 7 and load.facts["rows"] == {"tenants": 5, "rooms": 4}
    assert silver.facts["publication_id"] == 11 and gold.facts["publication_id"] == 12
    assert gold.facts["dbt_invocation_ids"] == ["inv-gold"] and "live in gold" in gold.summary
    assert kpi.facts["gold_publication_id"] == 12 and "gold publication #12" in kpi.summary
    assert archive.facts["version_id"] == "v-arch"
    text = lineage.render(chain)
    for expected in (f"s3://b/{KEY} version v-dump", "LOADABLE", "load #7 loaded, 9 rows in 2 tables",
                     "publication #12 published", "s3://b/dumps-archive/gghouse_20260302.sql version v-arch", RUN):
        assert expected in text
    assert "INCOMPLETE" not in text


def test_a_quarantined_day_shows_the_missing_links_with_the_reason():
    records = {"verdicts": [{"id": 1, "dump_date": DAY, "status": "QUARANTINED", "reasons": "TRUNCATED_DUMP",
                             "detail": "dump has 10 bytes, manifest says 20", "dump_key": KEY, "dump_sha256": SHA,
                             "run_id": RUN, "decided_at": datetime(2026, 3, 1, 17, 1)}],
               "manifest_key": "m.json", "live": {"silver": 4, "gold": 5}}
    chain = lineage.build(DAY, records, bucket="b")
    by_step = {link.step: link for link in chain.links}
    assert not chain.complete
    assert by_step["dump"].ok and by_step["dump"].facts["version_id"] is None   # named by the manifest, never read
    assert by_step["manifest"].status == "quarantined" and "10 bytes" in by_step["manifest"].reason
    assert by_step["load"].status == "missing" and "quarantined (TRUNCATED_DUMP)" in by_step["load"].reason
    for step in ("silver", "gold"):
        assert by_step[step].reason == "nothing to publish: the day has no load"
    for step in ("kpi", "archive"):
        assert by_step[step].status == "missing" and by_step[step].reason.startswith("not run: not loaded")
    text = lineage.render(chain)
    assert "INCOMPLETE" in text and "! " in text


def test_a_day_never_run_is_missing_from_its_first_link():
    chain = lineage.build(DAY, {"manifest_key": "m.json"}, bucket="b")
    assert [link.status for link in chain.links] == ["missing"] * len(lineage.STEPS)
    assert chain.link("manifest").reason.startswith("not run yet")
    assert chain.link("kpi").reason.startswith("not run: not run yet")


def test_a_held_gold_publication_is_shown_held_and_the_later_steps_not_run():
    records = complete_records()
    audit = {"failed": [{"test": "unique_daily_activity_summary_activity_date", "ids": [3, 4]}]}
    records["publications"][1] = publication(12, "gold", "held", None, audit=json.dumps(audit))
    records["steps"] = []
    records["live"] = {"silver": 11, "gold": 9}
    chain = lineage.build(DAY, records, bucket="b")
    gold = chain.link("gold")
    assert gold.status == "held" and "unique_daily_activity_summary_activity_date" in gold.reason
    assert gold.facts["audit"] == audit and gold.facts["live_publication_id"] == 9
    assert chain.link("kpi").reason == "not run: gold of the day was not published (held)"


def test_a_republished_day_reads_the_newest_published_publication():
    records = complete_records()
    records["publications"].append(publication(20, "gold", "published", datetime(2026, 3, 3, 9, 0)))
    records["publications"].append(publication(21, "gold", "held", None))   # a later failed rerun
    records["live"]["gold"] = 30   # gold moved on to another day since
    gold = lineage.build(DAY, records, bucket="b").link("gold")
    assert gold.ok and gold.facts["publication_id"] == 20
    assert "since replaced in gold by publication #30" in gold.summary


def test_json_has_one_entry_per_step_and_survives_a_round_trip():
    doc = lineage.as_json(lineage.build(DAY, complete_records(), "daily_activity_summary", bucket="b"))
    assert json.loads(json.dumps(doc)) == doc
    assert doc["dump_date"] == "2026-03-02" and doc["complete"] is True and doc["table"] == "gold.daily_activity_summary"
    assert [(link["step"], link["status"], link["ok"]) for link in doc["links"]] == [(s, "ok", True) for s in lineage.STEPS]
    assert doc["links"][2]["facts"]["load_history_id"] == 7 and doc["links"][0]["facts"]["version_id"] == "v-dump"
    assert doc["table_detail"]["publication"] == 12
    assert doc["table_detail"]["model"]["relation"] == "gold.daily_activity_summary"


def test_the_note_fits_airflows_1000_characters_and_names_other_runs_only():
    records = complete_records()
    records["loads"][0]["run_id"] = "manual__2026-03-02T01:00:00+00:00"
    note = lineage.render_note(lineage.build(DAY, records, bucket="b"), run_id=RUN)
    assert len(note) <= 1000
    assert note.count("manual__2026-03-02T01:00:00+00:00") == 1 and RUN not in note
    assert f"s3://b/{KEY} v=v-dump" in note and "gold #12" in note


@pytest.mark.parametrize("raw", ["gold.nope", "silver.daily_activity_summary", "daily activity"])
def test_an_unknown_table_is_refused_with_the_choices(raw):
    known = list(lineage.gold_day_columns(INCLUDE))
    with pytest.raises(lineage.LineageError, match="gold.daily_activity_summary"):
        lineage.parse_table(raw, known)
    assert lineage.parse_table("gold.occupancy_daily_metrics", known) == "occupancy_daily_metrics"
    assert lineage.parse_table("daily_activity_summary", known) == "daily_activity_summary"


def test_every_gold_model_has_a_day_column():
    columns = lineage.gold_day_columns(INCLUDE)
    models_on_disk = {p.stem for p in (INCLUDE / "dbt" / "models" / "gold").glob("*.sql")}
    assert models_on_disk and models_on_disk | {"occupancy_daily_metrics"} == set(columns)


def test_openlineage_events_one_per_link_that_happened():
    chain = lineage.build(DAY, complete_records(), bucket="b", warehouse="mysql://db:3306")
    events = lineage.openlineage_events(chain)
    assert [e.job.name for e in events] == [f"tokyobeta_daily_etl.{s}" for s in lineage.STEPS]
    load = events[2]
    assert [(d.namespace, d.name) for d in load.inputs] == [("s3://b", KEY)]
    assert sorted(d.name for d in load.outputs) == ["staging.rooms", "staging.tenants"]
    assert [d.name for d in events[5].outputs] == ["gold.occupancy_daily_metrics"]
    assert len({e.run.runId for e in events}) == len(events)
    assert [e.run.runId for e in events] == [e.run.runId for e in lineage.openlineage_events(chain)]  # stable ids
    quarantined = lineage.build(DAY, {"verdicts": [{"id": 1, "status": "QUARANTINED", "reasons": "X", "detail": "d",
                                                    "dump_key": KEY, "dump_sha256": SHA, "run_id": RUN}]}, bucket="b")
    assert [e.job.name for e in lineage.openlineage_events(quarantined)] == ["tokyobeta_daily_etl.dump"]


def test_openlineage_datasets_use_the_configured_schema_names():
    chain = lineage.build(DAY, complete_records(), bucket="b", warehouse="mysql://db",
                          schemas={"staging": "lin_staging", "gold": "lin_gold"})
    events = {e.job.name.rsplit(".", 1)[1]: e for e in lineage.openlineage_events(chain)}
    assert sorted(d.name for d in events["load"].outputs) == ["lin_staging.rooms", "lin_staging.tenants"]
    assert [d.name for d in events["kpi"].outputs] == ["lin_gold.occupancy_daily_metrics"]


def test_a_long_chain_still_fits_the_note():
    records = {"verdicts": [{"id": 1, "status": "QUARANTINED", "reasons": "SOURCE_MISMATCH " * 20,
                             "detail": "x" * 3000, "dump_key": KEY, "dump_sha256": SHA, "run_id": RUN}]}
    note = lineage.render_note(lineage.build(DAY, records, bucket="b"), run_id=RUN)
    assert note.startswith(f"Lineage of {DAY} (incomplete)")
    # a 3000-character verdict detail is cut in its line, so every link stays in the note
    assert len(note) <= 1000 and note.count("\n") == len(lineage.STEPS)
    assert all(f"{label}:" in note for label in ("dump", "manifest verdict", "load", "gold publication", "archive"))
