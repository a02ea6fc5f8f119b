"""Source freshness (`dbt source freshness`, dbt 1.7 top-level syntax): warn after a day, error
after two, measured in UTC although the source writes naive JST."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support import story as story_mod

pytestmark = pytest.mark.slow

JST = timezone(timedelta(hours=9))


def test_freshness_thresholds_in_jst(warehouse):
    from tokyobeta.sample import staging

    today_jst = datetime.now(JST).date()
    story = story_mod.load()
    warehouse.load_story(story, story["dump_dates"][-1])
    staging.set_dump_date(warehouse.admin, warehouse.schemas, warehouse.cfg.include_path, today_jst)
    now_jst = "CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', '+09:00')"
    with warehouse.admin.cursor() as cur:
        # 30 hours old: warn; 50 hours old: error. Read as UTC, these JST times would look 9 h
        # fresher: a pass and a warning.
        cur.execute(f"UPDATE `{warehouse.schemas['staging']}`.movings SET updated_at = {now_jst} - INTERVAL 30 HOUR")
        cur.execute(f"UPDATE `{warehouse.schemas['staging']}`.tenants SET updated_at = {now_jst} - INTERVAL 50 HOUR")
    result = warehouse.dbt("source", "freshness", "--select", "source:staging", check=False)
    statuses = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in result["results"]["results"]}
    assert statuses == {"dump_info": "pass", "movings": "warn", "tenants": "error"}, result["output"][-3000:]
    assert result["returncode"] != 0   # an error fails the command, as the morning check needs


def test_freshness_of_a_dump_two_days_old_is_an_error(warehouse):
    from tokyobeta.sample import staging

    staging.set_dump_date(warehouse.admin, warehouse.schemas, warehouse.cfg.include_path,
                          datetime.now(JST).date() - timedelta(days=2))
    result = warehouse.dbt("source", "freshness", "--select", "source:staging.dump_info", check=False)
    assert [r["status"] for r in result["results"]["results"]] == ["error"]
