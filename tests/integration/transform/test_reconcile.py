"""`tokyobeta reconcile` on a hand-made month (tests/fixtures/transform/reconcile_story.yml, four
dumps built with `dbt build` through the warehouse of conftest.py, once for the module) against
the example report that ships with the project (include/reconcile/example_report.csv) and
variations of it. Every expected number and tenant-room is worked out by hand in the fixture's
header; the CLI runs as the operator runs it (a subprocess on the real MariaDB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import story as story_mod

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[3] / "include" / "reconcile" / "example_report.csv"
REPORT_TIME = "2026-04-11 18:00"


@pytest.fixture(scope="module")
def built(warehouse):
    story = story_mod.load(story_mod.FIXTURES / "reconcile_story.yml")
    for dump_day in story["dump_dates"]:
        warehouse.load_story(story, dump_day)
        warehouse.dbt("build")
    return story


def reconcile(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokyobeta.cli", "reconcile", "--month", "2026-04", *args],
                          capture_output=True, text=True)


def as_json(*args: str) -> dict:
    proc = reconcile(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def causes(result: dict, metric: str) -> dict[str, tuple[int, list]]:
    """cause -> (count, [(tenant_id, room_id, ours_day, theirs_day)]) of the adopted causes."""
    return {c["cause"]: (c["count"], [(r["tenant_id"], r["room_id"], r["ours"], r["theirs"]) for r in c["tenant_rooms"]])
            for c in result["metrics"][metric]["causes"] if c["adopted"]}


def test_every_cause_in_known_numbers_and_no_remainder(built):
    result = as_json("--external", str(EXAMPLE), "--as-of-report", REPORT_TIME)
    assert result["as_of_snapshot_date"] == "2026-04-14"
    assert result["report"]["report_snapshot_date"] == "2026-04-11"
    assert result["report"]["granularity"] == "day"
    assert result["adopted_causes"] == ["snapshot_lag", "cancellations", "moveout_plans_date", "renewals",
                                        "transfers", "status_semantics"]
    ins, outs = result["metrics"]["move_ins"], result["metrics"]["move_outs"]
    assert (ins["ours"], ins["theirs"], ins["explained"], ins["remainder"]) == (5, 6, 1, 0)
    assert (outs["ours"], outs["theirs"], outs["explained"], outs["remainder"]) == (4, 3, -1, 0)
    assert causes(result, "move_ins") == {
        # T4, T5 registered after the report; T6 cancelled after it (lag is tried before cancellations)
        "snapshot_lag": (-1, [(4, 104, "2026-04-20", None), (5, 106, "2026-04-25", None), (6, 201, None, "2026-04-22")]),
        "cancellations": (3, [(7, 202, None, "2026-04-24"), (8, 203, None, "2026-04-11"), (16, 209, None, "2026-04-28")]),
        "moveout_plans_date": (0, []),
        "renewals": (1, [(9, 107, None, "2026-04-12")]),
        "transfers": (-1, [(10, 205, "2026-04-11", None)]),
        "status_semantics": (-1, [(3, 103, "2026-04-14", None)]),
    }
    assert causes(result, "move_outs") == {
        "snapshot_lag": (0, []),
        "cancellations": (0, []),
        "moveout_plans_date": (1, [(12, 206, "2026-04-14", None), (13, 207, None, "2026-04-12"),
                                   (14, 208, None, "2026-04-20")]),
        "renewals": (0, []),
        "transfers": (-1, [(10, 105, "2026-04-11", None)]),
        "status_semantics": (-1, [(15, 109, "2026-04-12", None)]),
    }
    by_day = {p["period"]: p for p in result["periods"]}
    assert len(by_day) == 30
    assert by_day["2026-04-13"]["kind"] == "no_snapshot" and by_day["2026-04-20"]["kind"] == "projection"
    assert all(p[m]["derived"] == p[m]["theirs"] for p in by_day.values() for m in ("move_ins", "move_outs"))
    assert by_day["2026-04-11"]["move_ins"] == {"ours": 1, "theirs": 1, "derived": 1}   # T10 out, T8 in


def test_ours_is_what_tokyobeta_kpi_counts(built):
    result = as_json("--external", str(EXAMPLE), "--as-of-report", REPORT_TIME)
    kpi = subprocess.run([sys.executable, "-m", "tokyobeta.cli", "kpi", "--month", "2026-04", "--json"],
                         capture_output=True, text=True)
    assert kpi.returncode == 0, kpi.stderr
    kpi_days = {d["date"]: d for d in json.loads(kpi.stdout)["days"]}
    for period in result["periods"]:
        for metric in ("move_ins", "move_outs"):
            assert period[metric]["ours"] == (kpi_days[period["period"]][metric] or 0), (period["period"], metric)


def test_an_unexplained_day_is_reported_as_remainder(built, tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8-sig").replace("2026/4/5,0,0", "2026/4/5,2,0").replace("合計,6,3", "合計,8,3")
    report = tmp_path / "report.csv"
    report.write_text(text, encoding="utf-8")
    result = as_json("--external", str(report), "--as-of-report", REPORT_TIME)
    ins = result["metrics"]["move_ins"]
    assert (ins["ours"], ins["theirs"], ins["explained"], ins["derived"], ins["remainder"]) == (5, 8, 1, 6, 2)
    assert len(result["adopted_causes"]) == 6 and result["metrics"]["move_outs"]["remainder"] == 0
    by_day = {p["period"]: p for p in result["periods"]}
    assert by_day["2026-04-05"]["move_ins"] == {"ours": 0, "theirs": 2, "derived": 0}
    text_out = reconcile("--external", str(report), "--as-of-report", REPORT_TIME)
    assert text_out.returncode == 0
    assert "  +2  unexplained" in text_out.stdout


def test_a_month_total_far_off_keeps_its_remainder(built, tmp_path):
    report = tmp_path / "monthly.csv"
    report.write_text("month,move_ins,move_outs\n2026-04,20,4\n", encoding="utf-8")
    result = as_json("--external", str(report), "--as-of-report", REPORT_TIME)
    # lag is a fact (adopted); of the rules only those that raise move-ins help: 5 - 1 + 3 + 1 = 8
    assert result["adopted_causes"] == ["snapshot_lag", "cancellations", "renewals"]
    ins, outs = result["metrics"]["move_ins"], result["metrics"]["move_outs"]
    assert (ins["ours"], ins["derived"], ins["remainder"]) == (5, 8, 12)
    assert (outs["ours"], outs["derived"], outs["remainder"]) == (4, 4, 0)
    assert sum(c["count"] for c in ins["causes"]) + ins["remainder"] == ins["theirs"] - ins["ours"]
    rejected = {c["cause"]: (c["alone"], c["already_attributed"]) for c in ins["causes"] if not c["adopted"]}
    assert rejected == {"moveout_plans_date": (0, 0), "transfers": (-1, 0), "status_semantics": (-1, 0)}


def test_without_the_report_time_lag_is_not_evaluated(built):
    result = as_json("--external", str(EXAMPLE))
    assert "snapshot_lag" not in result["adopted_causes"]
    assert result["report"]["report_snapshot_date"] is None
    assert any("--as-of-report" in n for n in result["notes"])
    assert result["adopted_causes"] == ["cancellations", "moveout_plans_date", "renewals", "transfers",
                                        "status_semantics"]
    # without lag, T6 (cancelled after the report) falls to the cancellation rule, and T4, T5
    # (registered after it) stay unexplained: the remainder says so, on their days
    ins = result["metrics"]["move_ins"]
    assert causes(result, "move_ins")["cancellations"] == (4, [
        (6, 201, None, "2026-04-22"), (7, 202, None, "2026-04-24"), (8, 203, None, "2026-04-11"),
        (16, 209, None, "2026-04-28")])
    assert (ins["ours"], ins["theirs"], ins["explained"], ins["derived"], ins["remainder"]) == (5, 6, 3, 8, -2)
    by_day = {p["period"]: p["move_ins"] for p in result["periods"]}
    assert [d for d, v in by_day.items() if v["derived"] != v["theirs"]] == ["2026-04-20", "2026-04-25"]
    assert result["metrics"]["move_outs"]["remainder"] == 0


def test_text_output_side_by_side(built):
    proc = reconcile("--external", str(EXAMPLE), "--as-of-report", REPORT_TIME)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ours (as of snapshot 2026-04-14)" in out and "nearest snapshot 2026-04-11" in out
    assert "move_ins: ours 5, theirs 6, difference +1 (theirs - ours)" in out
    assert "T4/R104 (2026-04-20 -> -)" in out
    assert "   +0  unexplained" in out


def test_bad_input_exits_2_naming_the_line(built, tmp_path):
    report = tmp_path / "bad.csv"
    report.write_text("date,move_ins\n2026-04-01,3\n2026-04-02,three\n", encoding="utf-8")
    proc = reconcile("--external", str(report))
    assert proc.returncode == 2
    assert f"{report} line 3: move_ins 'three' is not a count" in proc.stderr
    other_month = tmp_path / "march.csv"
    other_month.write_text("month,move_ins\n2026-03,3\n", encoding="utf-8")
    proc = reconcile("--external", str(other_month))
    assert proc.returncode == 2 and "has no figures for 2026-04 (it has 2026-03)" in proc.stderr
    proc = reconcile("--external", str(EXAMPLE), "--as-of-report", "yesterday")
    assert proc.returncode == 2 and "--as-of-report 'yesterday' is not a time" in proc.stderr
