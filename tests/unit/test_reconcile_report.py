"""The operator's report as a person types it (transform/external_report.py): every accepted
spelling, and every refusal names the file, the line and the fix. Plus the attribution's
arithmetic (transform/reconcile.attribute) on hand-made sets, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from tokyobeta.transform import external_report as er
from tokyobeta.transform import reconcile as rc

D = date(2026, 2, 3)


@pytest.mark.parametrize("header", [
    "date,move_ins,move_outs", "Date,Move-ins,Move-outs", "day,move ins,move outs", "日付,入居,退去",
    "日付,入居数,退去数", "年月日,入居者数,退去者数", " date , MoveIns , MOVE_OUTS ", "ｄａｔｅ,ｍｏｖｅ＿ｉｎｓ,ｍｏｖｅ＿ｏｕｔｓ",
])
def test_header_spellings(header):
    report = er.parse(f"{header}\n2026-02-03,1,2\n", "r.csv")
    assert report.metrics == ("move_ins", "move_outs") and report.rows == {D: {"move_ins": 1, "move_outs": 2}}


@pytest.mark.parametrize("raw", ["2026-02-03", "2026/2/3", "2026/02/03", "2026年2月3日", "２０２６年２月３日",
                                 "２０２６－０２－０３", " 2026 / 2 / 3 "])
def test_day_spellings(raw):
    assert er.parse(f"date,move_ins\n{raw},1\n").rows == {D: {"move_ins": 1}}


@pytest.mark.parametrize("raw", ["2026-02", "2026/2", "2026年2月", "２０２６年２月"])
def test_month_spellings(raw):
    report = er.parse(f"month,move_ins,move_outs\n{raw},304,200\n")
    assert report.granularity == "month" and report.rows == {date(2026, 2, 1): {"move_ins": 304, "move_outs": 200}}


@pytest.mark.parametrize("raw,value", [("304", 304), ('"1,234"', 1234), ("１，２３４", 1234), ("３０４", 304),
                                       (" 7 ", 7), ("0", 0), ('"12,345,678"', 12345678)])
def test_number_spellings(raw, value):
    assert er.parse(f"月,入居数\n2026年2月,{raw}\n").rows[date(2026, 2, 1)]["move_ins"] == value


def test_bom_blank_lines_total_row_and_ignored_columns(tmp_path):
    path = tmp_path / "excel.csv"
    text = "日付,入居,退去,備考\r\n\r\n2026/2/1,3,1,雨\r\n,,,\r\n2026/2/2,\"1,000\",0,\r\n合計,\"1,003\",1,\r\n\r\n"
    path.write_bytes(text.encode("utf-8-sig"))
    report = er.read(path)
    assert report.granularity == "day" and report.ignored_columns == ["備考"] and report.total_line == 6
    assert report.rows == {date(2026, 2, 1): {"move_ins": 3, "move_outs": 1},
                           date(2026, 2, 2): {"move_ins": 1000, "move_outs": 0}}
    assert report.lines == {date(2026, 2, 1): 3, date(2026, 2, 2): 5}


def test_only_one_metric_is_enough():
    assert er.parse("month,退去\n2026-02,5\n").metrics == ("move_outs",)


def test_for_month_keeps_that_month():
    report = er.parse("month,move_ins\n2026-01,1\n2026-02,2\n", "r.csv").for_month(date(2026, 2, 1))
    assert report.rows == {date(2026, 2, 1): {"move_ins": 2}}
    with pytest.raises(er.ReportError, match=r"r.csv: has no figures for 2026-03 \(it has 2026-01, 2026-02\); pass"):
        er.parse("month,move_ins\n2026-01,1\n2026-02,2\n", "r.csv").for_month(date(2026, 3, 1))


@pytest.mark.parametrize("text,message", [
    ("", "r.csv: is empty; give a header line"),
    ("\n\n", "r.csv: is empty"),
    ("when,count\n2026-02-03,1\n", "r.csv line 1: header 'when,count' lacks a date or month column"),
    ("date,move_ins\n", "r.csv: has a header but no day or month lines"),
    ("date,日付,move_ins\n2026-02-03,2026-02-03,1\n", "r.csv line 1: has two date/month columns ('date' and '日付'); keep one"),
    ("date,入居,入居数\n2026-02-03,1,1\n", "r.csv line 1: has two move_ins columns ('入居' and '入居数')"),
    ("date,move_ins\n2026-02-03,one\n", "r.csv line 2: move_ins 'one' is not a count; write a whole number"),
    ("date,move_ins\n2026-02-03,-1\n", "r.csv line 2: move_ins '-1' is not a count"),
    ("date,move_ins\n2026-02-03,1.5\n", "r.csv line 2: move_ins '1.5' is not a count"),
    ("date,move_ins\n2026-02-03,\n", "r.csv line 2: move_ins '' is not a count; write a whole number such as 304 or 1,234 (0 when"),
    ("date,move_ins\n2026-02-03,12,34\n", "r.csv line 2: has 3 cells, the header 2; quote a value that contains a comma"),
    ("date,move_ins\n\n03/02/2026,1\n", "r.csv line 3: date '03/02/2026' is not a date or month; write it as 2026-02-03"),
    ("date,move_ins\n2026-02-30,1\n", "r.csv line 2: date '2026-02-30' is not a date or month"),
    ("date,move_ins\nFeb 3,1\n", "r.csv line 2: date 'Feb 3' is not a date or month"),
    ("date,move_ins\n2026-02-03,1\n2026-02,1\n", "r.csv line 3: is a month but line 2 is a day; give one line per day or one"),
    ("date,move_ins\n2026-02-03,1\n2026/2/3,1\n", "r.csv line 3: repeats '2026/2/3' (line 2); keep one line"),
    ("date,move_ins\n2026-02-03,1\n2026-02-04,2\ntotal,4\n", "r.csv line 4: total move_ins is 4 but the lines above add up to 3"),
    ("date,move_ins\n2026-02-03,1\ntotal,1\n2026-02-04,2\n", "r.csv line 4: follows the total line 3; put the total line last"),
    ("date,move_ins\n2026-02-03,1\n合計,1\n計,1\n", "r.csv line 4: is a second total line"),
    ("month,move_ins\n2026-01,1\n2026-02,1\n合計,2\n", "r.csv line 4: is a total over several months"),
])
def test_refusals_name_the_line_and_the_fix(text, message):
    with pytest.raises(er.ReportError) as exc:
        er.parse(text, "r.csv")
    assert str(exc.value).startswith(message)


def test_a_shift_jis_file_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "sjis.csv"
    path.write_bytes("日付,入居\n2026/2/3,1\n".encode("shift_jis"))
    with pytest.raises(er.ReportError, match=r"sjis.csv line 1: is not UTF-8 .*save it as 'CSV UTF-8"):
        er.read(path)


def test_a_missing_file_names_the_flag(tmp_path):
    with pytest.raises(er.ReportError, match=r"nope.csv: cannot be read .*check the path given to --external"):
        er.read(tmp_path / "nope.csv")


# --- the attribution, on hand-made sets -----------------------------------------------------

def _d(n: int) -> date:
    return date(2026, 2, n)


def _moves(ins: dict, outs: dict | None = None) -> rc.Moves:
    return rc.Moves({"move_ins": ins, "move_outs": outs or {}}, {"move_ins": (), "move_outs": ()})


def _alts(**by_cause) -> dict:
    out = {c: {"move_ins": {}, "move_outs": {}} for c in rc.CAUSES}
    for cause, changes in by_cause.items():
        out[cause]["move_ins"] = changes
    return out


MONTH = {_d(1) + (_d(2) - _d(1)) * n for n in range(28)}


def test_a_tenant_room_goes_to_the_first_adopted_cause_only():
    ours = _moves({(1, 1): _d(5), (2, 2): _d(6)})
    alts = _alts(snapshot_lag={(3, 3): _d(9)}, cancellations={(3, 3): _d(9), (4, 4): _d(10)},
                 status_semantics={(1, 1): None}, transfers={(3, 3): None})
    result = rc.attribute(ours, alts, {"move_ins": {_d(1): 4}}, MONTH, "month", lag_evaluated=True)
    m = result["metrics"]["move_ins"]
    counts = {c["cause"]: (c["count"], [(r["tenant_id"], r["room_id"]) for r in c["tenant_rooms"]])
              for c in m["causes"] if c["adopted"]}
    # (3, 3) is lag's, not also a cancellation; status semantics would move away from 4
    assert counts == {"snapshot_lag": (1, [(3, 3)]), "cancellations": (1, [(4, 4)])}
    rejected = next(c for c in m["causes"] if c["cause"] == "status_semantics")
    assert (rejected["adopted"], rejected["alone"], rejected["already_attributed"]) == (False, -1, 0)
    subsumed = next(c for c in m["causes"] if c["cause"] == "transfers")   # (3, 3) is already lag's
    assert (subsumed["adopted"], subsumed["alone"], subsumed["already_attributed"]) == (False, 0, 1)
    assert (m["ours"], m["theirs"], m["explained"], m["derived"], m["remainder"]) == (2, 4, 2, 4, 0)


def test_causes_plus_remainder_add_up_to_the_difference_whatever_the_report():
    ours = _moves({(1, 1): _d(5), (2, 2): _d(6)}, {(5, 5): _d(7)})
    alts = _alts(cancellations={(3, 3): _d(9)}, renewals={(4, 4): _d(12)}, status_semantics={(2, 2): None})
    alts["moveout_plans_date"]["move_outs"] = {(5, 5): None, (6, 6): _d(20)}
    for theirs_in in range(0, 7):
        for theirs_out in range(0, 4):
            result = rc.attribute(ours, alts, {"move_ins": {_d(1): theirs_in}, "move_outs": {_d(1): theirs_out}},
                                  MONTH, "month", lag_evaluated=False)
            for metric, theirs in (("move_ins", theirs_in), ("move_outs", theirs_out)):
                m = result["metrics"][metric]
                assert m["explained"] + m["remainder"] == theirs - m["ours"]
                assert m["remainder"] == theirs - m["derived"]


def test_per_day_reports_pick_the_rule_that_fits_each_day_and_keep_the_rest():
    ours = _moves({(1, 1): _d(5), (2, 2): _d(6)})
    alts = _alts(cancellations={(3, 3): _d(9)}, status_semantics={(2, 2): None})
    theirs = {"move_ins": {_d(5): 1, _d(6): 1, _d(9): 1, _d(10): 1}}
    result = rc.attribute(ours, alts, theirs, set(theirs["move_ins"]), "day", lag_evaluated=False)
    assert result["adopted"] == ["cancellations"]
    m = result["metrics"]["move_ins"]
    assert (m["ours"], m["theirs"], m["derived"], m["remainder"]) == (2, 4, 3, 1)
    assert result["derived_counts"]["move_ins"] == {_d(5): 1, _d(6): 1, _d(9): 1}


def test_a_day_outside_the_reported_days_is_not_compared():
    ours = _moves({(1, 1): _d(5), (2, 2): _d(6)})
    result = rc.attribute(ours, _alts(), {"move_ins": {_d(5): 1}}, {_d(5)}, "day", lag_evaluated=False)
    assert result["metrics"]["move_ins"]["ours"] == 1 and result["metrics"]["move_ins"]["remainder"] == 0


def test_the_report_snapshot_is_the_latest_on_or_before_the_report_day():
    from datetime import datetime

    snaps = [_d(1), _d(2), _d(4)]
    assert rc.report_snapshot(datetime(2026, 2, 3, 18, 0), snaps) == _d(2)
    assert rc.report_snapshot(datetime(2026, 2, 4, 0, 5), snaps) == _d(4)
    assert rc.report_snapshot(datetime(2026, 1, 31, 9, 0), snaps) is None
    assert rc.report_snapshot(None, snaps) is None


def test_days_without_a_snapshot_are_named_as_ranges():
    assert rc._ranges(["2026-04-01", "2026-04-02", "2026-04-03", "2026-04-05", "2026-04-07", "2026-04-08"]) == \
        "2026-04-01..2026-04-03, 2026-04-05, 2026-04-07..2026-04-08"
