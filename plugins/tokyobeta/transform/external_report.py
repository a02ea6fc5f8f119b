"""The operator's own figures, read from a CSV typed by a person (from an e-mail or a
spreadsheet) for `tokyobeta reconcile`. Liberal in what it accepts, and exact about it
(README, "Reconciliation against an outside report"): anything else is refused with the file,
the line and the fix, never guessed. Pure: no database, no Airflow."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# Header spellings, compared after NFKC, lower-casing and removing spaces, '-' and '_'.
PERIOD_HEADERS = {"date": "day", "day": "day", "日付": "day", "日": "day", "年月日": "day",
                  "month": "month", "月": "month", "年月": "month", "対象月": "month"}
METRIC_HEADERS = {"moveins": "move_ins", "movein": "move_ins", "入居": "move_ins", "入居数": "move_ins",
                  "入居者数": "move_ins", "入居件数": "move_ins",
                  "moveouts": "move_outs", "moveout": "move_outs", "退去": "move_outs", "退去数": "move_outs",
                  "退去者数": "move_outs", "退去件数": "move_outs"}
TOTAL_LABELS = {"total", "合計", "計", "総計", "月計"}
METRICS = ("move_ins", "move_outs")

_DAY = [re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
        re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")]
_MONTH = [re.compile(r"^(\d{4})-(\d{1,2})$"), re.compile(r"^(\d{4})/(\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月$")]
_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+$")
_ACCEPTED_DATES = "2026-02-03, 2026/2/3 or 2026年2月3日 (a month: 2026-02, 2026/2 or 2026年2月)"


class ReportError(ValueError):
    """Bad input: names the file, the line and the fix (the CLI exits 2)."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str):
        where = f"{path} line {line}" if line else str(path)
        super().__init__(f"{where}: {problem}; {fix}")


@dataclass
class ExternalReport:
    path: str
    granularity: str                      # "day" or "month"
    metrics: tuple[str, ...]              # the columns the report has, in METRICS order
    rows: dict[date, dict[str, int]]      # period (a day, or the 1st of the month) -> metric -> count
    lines: dict[date, int]                # period -> line in the file, for messages
    ignored_columns: list[str] = field(default_factory=list)
    total_line: int | None = None

    def for_month(self, month: date) -> "ExternalReport":
        """The rows of one calendar month; refused when the report has none for it."""
        rows = {p: v for p, v in self.rows.items() if (p.year, p.month) == (month.year, month.month)}
        if not rows:
            found = sorted({f"{p:%Y-%m}" for p in self.rows})
            raise ReportError(self.path, None, f"has no figures for {month:%Y-%m} (it has {', '.join(found)})",
                              "pass the month the report covers as --month, or the report of that month")
        return ExternalReport(self.path, self.granularity, self.metrics, rows,
                              {p: self.lines[p] for p in rows}, self.ignored_columns, self.total_line)

    def total(self, metric: str) -> int:
        return sum(v[metric] for v in self.rows.values())


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s\-_]", "", _norm(text).lower())


def parse_period(raw: str) -> tuple[str, date] | None:
    """('day', date) or ('month', 1st of the month) for an accepted spelling, else None."""
    text = re.sub(r"\s", "", _norm(raw))
    for kind, patterns in (("day", _DAY), ("month", _MONTH)):
        for pattern in patterns:
            m = pattern.match(text)
            if m:
                year, month, day = (int(g) for g in (*m.groups(), 1)[:3])
                try:
                    return kind, date(year, month, day)
                except ValueError:
                    return None
    return None


def parse_count(raw: str) -> int | None:
    """A count as typed: 1234, 1,234, full-width digits and commas; None if it is not one."""
    text = _norm(raw).replace(" ", "")
    return int(text.replace(",", "")) if _NUMBER.match(text) else None


def read(path: Path | str) -> ExternalReport:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReportError(path, None, f"cannot be read ({exc.strerror})", "check the path given to --external") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ReportError(path, line, "is not UTF-8 (Excel's plain 'CSV' is Shift-JIS)",
                          "save it as 'CSV UTF-8 (comma delimited)'") from None
    return parse(text, path)


def parse(text: str, path: Path | str = "<report>") -> ExternalReport:
    records = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1)
               if any(cell.strip() for cell in row)]
    if not records:
        raise ReportError(path, None, "is empty", "give a header line (e.g. date,move_ins,move_outs) and one line per day or month")
    header_line, header = records[0]
    period_col, columns, ignored = None, {}, []
    for i, name in enumerate(header):
        key = _header_key(name)
        if key in PERIOD_HEADERS:
            if period_col is not None:
                raise ReportError(path, header_line, f"has two date/month columns ({header[period_col]!r} and {name!r})",
                                  "keep one")
            period_col = i
        elif key in METRIC_HEADERS:
            metric = METRIC_HEADERS[key]
            if metric in columns:
                raise ReportError(path, header_line, f"has two {metric} columns ({header[columns[metric]]!r} and {name!r})",
                                  "keep one")
            columns[metric] = i
        elif name.strip():
            ignored.append(name.strip())
    if period_col is None or not columns:
        raise ReportError(path, header_line, f"header {','.join(header)!r} lacks a date or month column and a move-ins "
                          "or move-outs column",
                          "name them date/日付 or month/月, and move_ins/入居/入居数, move_outs/退去/退去数")
    metrics = tuple(m for m in METRICS if m in columns)
    rows: dict[date, dict[str, int]] = {}
    lines: dict[date, int] = {}
    granularity = None
    total: tuple[int, dict[str, int]] | None = None
    for n, row in records[1:]:
        cells = row + [""] * (len(header) - len(row))
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            raise ReportError(path, n, f"has {len(row)} cells, the header {len(header)}",
                              "quote a value that contains a comma (\"1,234\") or remove the extra cells")
        label = cells[period_col]
        values = {}
        for metric in metrics:
            count = parse_count(cells[columns[metric]])
            if count is None:
                raise ReportError(path, n, f"{header[columns[metric]]} {cells[columns[metric]].strip()!r} is not a count",
                                  "write a whole number such as 304 or 1,234 (0 when there were none)")
            values[metric] = count
        if _norm(label).lower().replace(" ", "") in TOTAL_LABELS:
            if total is not None:
                raise ReportError(path, n, "is a second total line", "keep one total line")
            total = (n, values)
            continue
        if total is not None:
            raise ReportError(path, n, f"follows the total line {total[0]}", "put the total line last")
        period = parse_period(label)
        if period is None:
            raise ReportError(path, n, f"{header[period_col]} {label.strip()!r} is not a date or month",
                              f"write it as {_ACCEPTED_DATES}")
        kind, when = period
        if granularity is None:
            granularity = kind
        elif kind != granularity:
            raise ReportError(path, n, f"is a {kind} but line {min(lines.values())} is a {granularity}",
                              "give one line per day or one line per month, not both (a total line may follow the days)")
        if when in rows:
            raise ReportError(path, n, f"repeats {label.strip()!r} (line {lines[when]})", "keep one line per day or month")
        rows[when], lines[when] = values, n
    if not rows:
        raise ReportError(path, None, "has a header but no day or month lines", "add one line per day or month")
    if total is not None:
        months = {(p.year, p.month) for p in rows}
        if len(months) > 1:
            raise ReportError(path, total[0], "is a total over several months", "split the report per month, or drop the total line")
        for metric in metrics:
            summed = sum(v[metric] for v in rows.values())
            if total[1][metric] != summed:
                raise ReportError(path, total[0], f"total {metric} is {total[1][metric]} but the lines above add up to {summed}",
                                  "correct the total or the lines (the total is checked, never used instead of them)")
    return ExternalReport(str(path), granularity, metrics, rows, lines, ignored, total[0] if total else None)
