"""The enrich task inside the daily DAG: silver picks the enriched values up, and the caches
survive the next day's staging swap so the model is not asked again. The sample source is
made messier first with values only the (offline) model path can resolve."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tokyobeta.enrich import municipality, nationality

pytestmark = pytest.mark.slow

DAY1 = date(2026, 4, 6)
DAY2 = DAY1 + timedelta(days=1)
MESSY_NATIONALITIES = ("Vietnan", "Indonesa")
MESSY_ADDRESS = "東京都新宿西新宿1-2-3"  # no 区: the rules leave it, the offline provider finds 新宿区


def make_messy(pipeline) -> tuple[list[int], int]:
    db = pipeline.source_db
    with pipeline.admin.cursor() as cur:
        cur.execute(f"SELECT DISTINCT tenant_id FROM `{db}`.movings ORDER BY tenant_id LIMIT 3")
        tenants = [t for (t,) in cur.fetchall()]
        cur.execute(f"UPDATE `{db}`.tenants SET nationality = %s WHERE id IN (%s, %s)", (MESSY_NATIONALITIES[0], *tenants[:2]))
        cur.execute(f"UPDATE `{db}`.tenants SET nationality = %s WHERE id = %s", (MESSY_NATIONALITIES[1], tenants[2]))
        cur.execute(f"SELECT MIN(apartment_id) FROM `{db}`.movings")
        (apartment,) = cur.fetchone()
        cur.execute(f"UPDATE `{db}`.apartments SET address = %s, municipality = NULL WHERE id = %s", (MESSY_ADDRESS, apartment))
    return tenants, apartment


def enrich_report(pipeline, day: date) -> dict:
    from airflow.models import DagRun, XCom

    from tokyobeta.ops.rundag import logical_date_for

    (run,) = DagRun.find(dag_id="tokyobeta_daily_etl", execution_date=logical_date_for(day, pipeline.cfg.daily_schedule))
    return XCom.get_one(run_id=run.run_id, dag_id="tokyobeta_daily_etl", task_id="enrich", key="return_value")


def rows(conn, sql: str, args=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


@pytest.fixture(scope="module")
def first_day(pipeline):
    pipeline.build_source(DAY1)
    tenants, apartment = make_messy(pipeline)
    pipeline.publish(DAY1)
    state, tasks = pipeline.run(DAY1)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    return {"tenants": tenants, "apartment": apartment, "report": enrich_report(pipeline, DAY1)}


def test_only_the_messy_values_went_to_the_model(first_day):
    total = first_day["report"]["total"]
    assert (total["model_calls"], total["model_resolved"], total["unanswered"]) == (3, 3, 0)
    assert first_day["report"]["provider"] == "offline"
    assert total["rule_hits"] > 100 and total["cache_hits"] == 0


def test_silver_carries_the_enriched_values(pipeline, first_day):
    staging, silver = pipeline.schemas["staging"], pipeline.schemas["silver"]
    raw = dict(rows(pipeline.admin, f"SELECT id, nationality FROM `{staging}`.tenants"))
    silver_rows = rows(pipeline.admin, f"SELECT tenant_id, nationality_code, apartment_id, municipality "
                                       f"FROM `{silver}`.tokyo_beta_tenant_room_info")
    assert len(silver_rows) > 100
    codes = dict((tenant, code) for tenant, code, _, _ in silver_rows)
    t1, t2, t3 = first_day["tenants"]
    assert (codes[t1], codes[t2], codes[t3]) == ("VN", "VN", "ID")
    # every other tenant: what the rules say about the raw text staging holds
    for tenant, code in codes.items():
        if tenant not in first_day["tenants"]:
            found = nationality.resolve(raw[tenant])
            assert code == (found.code if found else "UNKNOWN"), (tenant, raw[tenant])
    addresses = {a: (addr, pref) for a, addr, pref in rows(pipeline.admin, f"SELECT id, address, prefecture FROM `{staging}`.apartments")}
    for _, _, apartment, muni in silver_rows:
        if apartment == first_day["apartment"]:
            assert muni == "新宿区"
        else:
            assert muni == municipality.resolve(*addresses[apartment]).municipality


def test_next_day_swaps_staging_but_keeps_the_caches(pipeline, first_day):
    staging = pipeline.schemas["staging"]
    cache_before = rows(pipeline.admin, f"SELECT input_sha256, source, created_at FROM `{staging}`.llm_enrichment_cache "
                                        "WHERE source = 'model'")
    assert len(cache_before) == 2
    pipeline.build_source(DAY2)
    make_messy(pipeline)
    pipeline.publish(DAY2)
    state, tasks = pipeline.run(DAY2)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    report = enrich_report(pipeline, DAY2)
    assert report["total"]["model_calls"] == 0
    assert report["total"]["cache_hits"] >= 3
    assert rows(pipeline.admin, f"SELECT input_sha256, source, created_at FROM `{staging}`.llm_enrichment_cache "
                                "WHERE source = 'model'") == cache_before
    assert rows(pipeline.admin, f"SELECT dump_date FROM `{staging}`.dump_info") == [(DAY2,)]
