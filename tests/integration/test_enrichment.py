"""An enrichment run against the real MariaDB: rules, cache, cap, the maps silver joins, and
the failures that replace the legacy silence. Model answers come from the offline provider,
or from the Bedrock provider on botocore's Stubber (no local Bedrock stand-in exists)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from botocore.stub import Stubber

from support.db import checksums, count
from tokyobeta.enrich import prompts
from tokyobeta.enrich.providers import BedrockProvider, OfflineProvider
from tokyobeta.enrich.run import Enricher, problems
from tokyobeta.io import bedrock

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TENANTS = [
    # id, full_name, nationality, email, birth_date
    (1, "NGUYEN VAN AN", "Vietnan", "nguyen.an@gmail.com", date(2001, 4, 5)),
    (2, "佐藤 健太", "日本", "kenta.sato@yahoo.co.jp", date(1998, 1, 2)),
    (3, "Tanaka Yui", "日本 ", "yui1999@icloud.com", None),
    (4, "JOHN SMITH", "Japan", "john.smith@outlook.com", date(1990, 7, 8)),
    (5, "MARIA SANTOS", "JAPAN", None, None),
    (6, "BUDI SANTOSO", "Indonesa", "budi_07@gmail.com", date(2000, 2, 3)),
    (7, "ｸﾞｴﾝ", "ﾍﾞﾄﾅﾑ", None, None),
    (8, "王 偉", None, "wang.wei@qq.com", None),
    (9, "LEE MINJUN", "不明", None, None),
    (10, "KIM JIWOO", "Vietnan", None, None),
]
APARTMENTS = [
    # id, address, prefecture, municipality
    (1, "東京都新宿区西新宿2-8-1", "東京都", None),
    (2, "中央区月島3-1-1", "東京都", None),
    (3, "東京都新宿西新宿7-1-1", "東京都", None),
    (4, "〒２２３－００６１ 神奈川県横浜市港北区日吉４－１－１", None, None),
    (5, None, "埼玉県", "入間郡三芳町"),
    (6, "府中市宮町1-1", "東京都", None),  # 府中市 is also in 広島県: the prefecture column decides
]


@pytest.fixture
def staging(fresh_schemas, admin_conn):
    db = fresh_schemas["staging"]
    with admin_conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.tenants (id INT PRIMARY KEY, full_name VARCHAR(191) NOT NULL, nationality VARCHAR(64), "
                    "email VARCHAR(191), birth_date DATE) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        cur.execute(f"CREATE TABLE `{db}`.apartments (id INT PRIMARY KEY, address VARCHAR(255), prefecture VARCHAR(32), "
                    "municipality VARCHAR(64)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        cur.executemany(f"INSERT INTO `{db}`.tenants VALUES (%s, %s, %s, %s, %s)", TENANTS)
        cur.executemany(f"INSERT INTO `{db}`.apartments VALUES (%s, %s, %s, %s)", APARTMENTS)
    return db


def enricher(mysql_conn, schemas, repo, provider, cap=300):
    return Enricher(mysql_conn, schemas, repo / "include", provider, cap)


def joined(conn, db: str) -> dict[int, tuple]:
    """What silver sees: each tenant's nationality through the map, joined as silver joins it."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT t.id, m.country_code, m.source FROM `{db}`.tenants t LEFT JOIN `{db}`.nationality_map m "
                    "ON m.raw_value = t.nationality COLLATE utf8mb4_bin ORDER BY t.id")
        return {row[0]: row[1:] for row in cur.fetchall()}


def places(conn, db: str) -> dict[int, tuple]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT apartment_id, prefecture, municipality, municipality_code, source "
                    f"FROM `{db}`.apartment_municipality_map ORDER BY apartment_id")
        return {row[0]: row[1:] for row in cur.fetchall()}


def test_rules_then_model_fill_the_maps_silver_joins(mysql_conn, schemas, repo, staging):
    offline = OfflineProvider()
    report = enricher(mysql_conn, schemas, repo, offline).run()
    assert joined(mysql_conn, staging) == {
        1: ("VN", "model"), 2: ("JP", "rule"), 3: ("JP", "rule"), 4: ("JP", "rule"), 5: ("JP", "rule"),
        6: ("ID", "model"), 7: ("VN", "rule"), 8: (None, None), 9: ("UNKNOWN", "rule"), 10: ("VN", "model")}
    assert places(mysql_conn, staging) == {
        1: ("東京都", "新宿区", "131041", "rule"), 2: ("東京都", "中央区", "131024", "rule"),
        3: ("東京都", "新宿区", "131041", "model"), 4: ("神奈川県", "横浜市港北区", "141097", "rule"),
        5: ("埼玉県", "入間郡三芳町", "113247", "rule"), 6: ("東京都", "府中市", "132063", "rule")}
    nat, muni = report["nationality"], report["municipality"]
    # distinct binary values: Vietnan, 日本(+"日本 "), Japan, JAPAN, Indonesa, ﾍﾞﾄﾅﾑ, NULL, 不明
    assert (nat["inputs"], nat["rows"], nat["rule_hits"], nat["model_calls"], nat["model_resolved"]) == (8, 10, 4, 2, 2)
    assert nat["inputs_by_outcome"] == {"rule": 4, "placeholder": 2, "model": 2}
    assert nat["rows_by_outcome"] == {"rule": 5, "placeholder": 2, "model": 3}
    assert (muni["inputs"], muni["rule_hits"], muni["model_calls"], muni["unresolved"]) == (6, 5, 1, 0)
    # answers the source's own columns helped with are not a function of the address: not cached
    cached = {text for (text,) in _rows(mysql_conn, f"SELECT address_normalized FROM `{staging}`.llm_property_municipality_cache")}
    assert cached == {"東京都新宿区西新宿2-8-1", "中央区月島3-1-1", "東京都新宿西新宿7-1-1", "〒223-0061 神奈川県横浜市港北区日吉4-1-1"}
    assert report["total"]["model_calls"] == 3 == len(offline.questions)
    assert sorted(offline.questions) == [("municipality", "東京都新宿西新宿7-1-1"), ("nationality", "indonesa"),
                                         ("nationality", "vietnan")]
    assert problems(report, 0.2) == []


def test_second_run_hits_the_cache_only_and_changes_no_table(mysql_conn, schemas, repo, staging):
    enricher(mysql_conn, schemas, repo, OfflineProvider()).run()
    before = checksums(mysql_conn, staging)
    again = OfflineProvider()
    report = enricher(mysql_conn, schemas, repo, again).run()
    assert again.questions == []
    assert report["total"]["model_calls"] == 0
    assert (report["nationality"]["cache_hits"], report["municipality"]["cache_hits"]) == (2, 1)
    assert checksums(mysql_conn, staging) == before
    # the cache records every answer with its source; the model's answers keep their reply
    rows = dict(_rows(mysql_conn, f"SELECT input_normalized, source FROM `{staging}`.llm_enrichment_cache"))
    assert rows["vietnan"] == "model" and rows["日本"] == "rule" and rows["不明"] == "rule"


def _rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_another_model_or_prompt_version_asks_again(mysql_conn, schemas, repo, staging):
    enricher(mysql_conn, schemas, repo, OfflineProvider("v1")).run()
    other = OfflineProvider("v1")
    other.model_id = "offline-fuzzy-2"
    assert enricher(mysql_conn, schemas, repo, other).run()["total"]["model_calls"] == 3


def test_the_cap_leaves_the_rest_for_the_next_run(mysql_conn, schemas, repo, staging, admin_conn):
    with admin_conn.cursor() as cur:
        cur.executemany(f"INSERT INTO `{staging}`.tenants VALUES (%s, 'X', %s, NULL, NULL)",
                        [(11, "Phillipins"), (12, "Asia")])
    first = enricher(mysql_conn, schemas, repo, OfflineProvider(), cap=2).run()
    nat = first["nationality"]
    assert (nat["model_calls"], nat["cap_reached"], nat["unanswered"]) == (2, True, 2)
    assert first["municipality"]["inputs_by_outcome"]["capped"] == 1
    # asked in the binary order of the raw values: Asia, Indonesa; Phillipins and Vietnan wait
    pending = {tenant: code for tenant, (code, source) in joined(mysql_conn, staging).items() if source == "pending"}
    assert pending == {1: "UNKNOWN", 10: "UNKNOWN", 11: "UNKNOWN"}
    assert problems(first, 0.2) == []  # the cap is a budget, not a failure: the rest waits for tomorrow
    second = enricher(mysql_conn, schemas, repo, OfflineProvider(), cap=2).run()
    assert (second["total"]["model_calls"], second["nationality"]["cache_hits"], second["total"]["unanswered"]) == (2, 2, 1)
    third = enricher(mysql_conn, schemas, repo, OfflineProvider(), cap=2).run()
    assert (third["total"]["model_calls"], third["total"]["cache_hits"], third["total"]["unanswered"]) == (1, 4, 0)
    fourth = enricher(mysql_conn, schemas, repo, OfflineProvider(), cap=2).run()
    assert (fourth["total"]["model_calls"], fourth["total"]["cache_hits"], fourth["total"]["cap_reached"]) == (0, 5, False)
    assert joined(mysql_conn, staging)[12] == ("UNKNOWN", "unknown")
    assert joined(mysql_conn, staging)[11] == ("PH", "model")


def test_nothing_attempted_fails_the_task_with_a_message(mysql_conn, schemas, repo, staging, monkeypatch):
    from airflow.exceptions import AirflowFailException

    from tokyobeta import daily

    report = enricher(mysql_conn, schemas, repo, OfflineProvider(), cap=0).run()
    found = problems(report, 0.2)
    assert len(found) == 1 and "made no model call although 3 inputs need one" in found[0]  # Vietnan, Indonesa, apartment 3
    assert "ENRICHMENT_MAX_MODEL_CALLS=0" in found[0]
    monkeypatch.setenv("ENRICHMENT_PROVIDER", "offline")
    with pytest.raises(AirflowFailException, match="enrichment failed: enrichment is enabled but made no model call"):
        daily.enrich(params={"enrichment_max_model_calls": 0})
    # the task still saved what the rules found
    assert joined(mysql_conn, staging)[2] == ("JP", "rule")


def test_bedrock_answers_are_validated_and_no_personal_data_is_sent(mysql_conn, schemas, repo, staging):
    client = bedrock.client("aws_default", "us-east-1", 5.0)
    sent: list[dict] = []
    client.meta.events.register("provide-client-params.bedrock-runtime.Converse", lambda params, **_: sent.append(params))
    provider = BedrockProvider(client, MODEL, "v1", max_attempts=2, sleep=lambda s: None)

    def reply(text):
        return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": "end_turn",
                "usage": {"inputTokens": 100, "outputTokens": 8, "totalTokens": 108}, "metrics": {"latencyMs": 250}}

    with Stubber(client) as stub:
        # nationality questions come in the binary order of the raw values: Indonesa, Vietnan
        stub.add_client_error("converse", "ThrottlingException", "Rate exceeded", 429)
        stub.add_response("converse", reply('{"country_code": "ID"}'))
        stub.add_response("converse", reply("Vietnam, probably"))          # malformed: recorded UNKNOWN
        stub.add_response("converse", reply('{"prefecture": "東京都", "municipality": "渋谷区"}'))  # not in the text
        report = enricher(mysql_conn, schemas, repo, provider).run()
        stub.assert_no_pending_responses()
    assert [p["messages"][0]["content"][0]["text"] for p in sent] == ["indonesa", "indonesa", "vietnan", "東京都新宿西新宿7-1-1"]
    assert all(p["modelId"] == MODEL and p["requestMetadata"]["prompt_version"] == "v1" for p in sent)
    assert all(p["system"][0]["text"] == prompts.system_prompt(p["requestMetadata"]["task"], "v1") for p in sent)
    everything_sent = json.dumps(sent, ensure_ascii=False, default=str)
    for _, name, _, email, birth in TENANTS:
        assert name not in everything_sent and (email is None or email not in everything_sent)
        assert birth is None or (str(birth) not in everything_sent and birth.strftime("%Y/%m/%d") not in everything_sent)
    total = report["total"]
    assert (total["model_calls"], total["model_resolved"], total["invalid_answers"], total["model_errors"]) == (3, 1, 2, 0)
    assert report["usage"] == {"attempts": 4, "input_tokens": 300, "output_tokens": 24}
    assert joined(mysql_conn, staging)[1] == ("UNKNOWN", "unknown") and joined(mysql_conn, staging)[6] == ("ID", "model")
    assert places(mysql_conn, staging)[3] == ("東京都", None, None, "unknown")
    assert "model failure rate 67%" in problems(report, 0.2)[0]
    # the invalid answers are cached as unknown (with the reply, for the log's reader): not asked again
    with Stubber(client):
        again = enricher(mysql_conn, schemas, repo, BedrockProvider(client, MODEL, "v1")).run()
    assert again["total"]["model_calls"] == 0 and again["total"]["cache_hits"] == 3
    assert count(mysql_conn, f"SELECT COUNT(*) FROM `{staging}`.llm_enrichment_cache WHERE source = 'unknown' "
                             "AND model_reply = 'Vietnam, probably'") == 1


def test_a_struggling_model_is_given_up_on_and_the_run_fails(mysql_conn, schemas, repo, staging, admin_conn):
    with admin_conn.cursor() as cur:
        cur.executemany(f"INSERT INTO `{staging}`.tenants VALUES (%s, 'X', %s, NULL, NULL)",
                        [(20 + i, f"Unknownland{i}") for i in range(6)])
    client = bedrock.client("aws_default", "us-east-1", 5.0)
    with Stubber(client) as stub:
        for _ in range(5):
            stub.add_client_error("converse", "ServiceUnavailableException", "try later", 503)
        report = enricher(mysql_conn, schemas, repo, BedrockProvider(client, MODEL, "v1", max_attempts=1)).run()
        stub.assert_no_pending_responses()
    assert report["total"]["model_calls"] == 5 and report["total"]["model_errors"] == 5
    assert "5 model calls in a row failed" in report["stopped"]
    assert report["total"]["inputs_by_outcome"]["stopped"] == 4  # 8 questions, 5 failed, 3+1 never asked
    assert count(mysql_conn, f"SELECT COUNT(*) FROM `{staging}`.llm_enrichment_cache WHERE source <> 'rule'") == 0
    assert "model failure rate 100%" in problems(report, 0.2)[0]


def test_a_cache_table_of_the_old_layout_is_named_with_the_fix(mysql_conn, schemas, repo, staging, admin_conn):
    with admin_conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{staging}`.llm_enrichment_cache (input_normalized VARCHAR(255) PRIMARY KEY, "
                    "provider VARCHAR(32), model_id VARCHAR(128), prompt_version VARCHAR(32))")
    with pytest.raises(RuntimeError, match=f"{staging}.llm_enrichment_cache has the pre-release layout .* drop it"):
        enricher(mysql_conn, schemas, repo, OfflineProvider()).run()
