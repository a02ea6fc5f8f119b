"""Manifest contract v1 (DESIGN section 3) and the verdict on a dump day.

Pure: no Airflow, no boto3. Validation names the exact field and what is wrong with it, so an
operator reading a quarantine alert knows what to fix in the publisher.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from tokyobeta.contract import TABLE_NAMES

MANIFEST_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DUMP_KEY = re.compile(r"^(?P<prefix>.*)gghouse_(?P<day>\d{8})\.sql(?:\.gz)?$")


class ReasonCode(str, enum.Enum):
    MISSING_DUMP = "MISSING_DUMP"
    INVALID_SOURCE = "INVALID_SOURCE"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    TRUNCATED_DUMP = "TRUNCATED_DUMP"
    SCHEMA_DRIFT = "SCHEMA_DRIFT"
    ROW_COUNT_MISMATCH = "ROW_COUNT_MISMATCH"
    MANIFEST_INVALID = "MANIFEST_INVALID"
    MANUAL_QUARANTINE = "MANUAL_QUARANTINE"
    DECLARED_INVALID = "DECLARED_INVALID"
    FORBIDDEN_STATEMENT = "FORBIDDEN_STATEMENT"
    CORRUPT_DUMP = "CORRUPT_DUMP"      # e.g. broken gzip data
    INVALID_DATA = "INVALID_DATA"      # the server refused a contract table's rows (strict mode)
    PUBLISH_FAILED = "PUBLISH_FAILED"  # the publisher failed; the manifest's detail says why
    REPUBLISH_IN_PROGRESS = "REPUBLISH_IN_PROGRESS"  # a republish is replacing the dump object


class ManifestError(ValueError):
    """The manifest does not follow contract v1. `field` names the offending field."""

    def __init__(self, field_name: str, problem: str):
        super().__init__(f"manifest field '{field_name}': {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True)
class Source:
    host: str
    database: str
    secret_id: str


@dataclass(frozen=True)
class Manifest:
    dump_date: date
    dump_key: str
    dump_bytes: int
    dump_sha256: str
    source: Source
    source_valid: bool
    valid_for_etl: bool
    reason_codes: tuple[str, ...]
    table_row_counts: Mapping[str, int]
    dump_started_at: datetime
    dump_finished_at: datetime
    published_at: datetime
    # Optional free text (why a day was declared invalid); omitted from the JSON when empty, so
    # a manifest without it is exactly contract v1's example.
    detail: str = ""

    @property
    def gzip(self) -> bool:
        return self.dump_key.endswith(".gz")

    def to_json(self) -> str:
        return json.dumps(to_dict(self), indent=2, sort_keys=False)


def to_dict(m: Manifest) -> dict[str, Any]:
    def ts(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    doc = {
        "manifest_version": MANIFEST_VERSION,
        "dump_date": m.dump_date.isoformat(),
        "dump_key": m.dump_key,
        "dump_bytes": m.dump_bytes,
        "dump_sha256": m.dump_sha256,
        "source": {"host": m.source.host, "database": m.source.database, "secret_id": m.source.secret_id},
        "source_valid": m.source_valid,
        "valid_for_etl": m.valid_for_etl,
        "reason_codes": list(m.reason_codes),
        "table_row_counts": dict(m.table_row_counts),
        "dump_started_at": ts(m.dump_started_at),
        "dump_finished_at": ts(m.dump_finished_at),
        "published_at": ts(m.published_at),
    }
    if m.detail:
        doc["detail"] = m.detail
    return doc


def _require(doc: Mapping[str, Any], name: str, kind: type | tuple[type, ...], path: str = "") -> Any:
    full = f"{path}{name}"
    if name not in doc:
        raise ManifestError(full, "missing")
    value = doc[name]
    # bool is an int in Python; a count of True is a publisher bug, not a number.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ManifestError(full, f"expected {_kind_name(kind)}, got a boolean")
    if not isinstance(value, kind):
        raise ManifestError(full, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _timestamp(doc: Mapping[str, Any], name: str) -> datetime:
    raw = _require(doc, name, str)
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ManifestError(name, f"{raw!r} is not an ISO-8601 timestamp") from None


def parse(raw: bytes | str, *, expected_date: date | None = None) -> Manifest:
    """Parse and validate a manifest. Raises ManifestError naming the field and the problem."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError("(document)", f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ManifestError("(document)", "expected a JSON object")

    version = _require(doc, "manifest_version", int)
    if version != MANIFEST_VERSION:
        raise ManifestError("manifest_version", f"unknown version {version}; this loader reads version {MANIFEST_VERSION}")

    raw_date = _require(doc, "dump_date", str)
    try:
        dump_date = date.fromisoformat(raw_date)
    except ValueError:
        raise ManifestError("dump_date", f"{raw_date!r} is not a date (YYYY-MM-DD)") from None
    if expected_date is not None and dump_date != expected_date:
        raise ManifestError("dump_date", f"{dump_date} but the manifest object is for {expected_date}")

    dump_key = _require(doc, "dump_key", str)
    match = _DUMP_KEY.match(dump_key)
    if not match:
        raise ManifestError("dump_key", f"{dump_key!r} is not of the form <prefix>gghouse_YYYYMMDD.sql[.gz]")
    if match["day"] != dump_date.strftime("%Y%m%d"):
        raise ManifestError("dump_key", f"{dump_key!r} does not match dump_date {dump_date}")

    dump_bytes = _require(doc, "dump_bytes", int)
    if dump_bytes < 0:
        raise ManifestError("dump_bytes", f"negative size {dump_bytes}")
    sha = _require(doc, "dump_sha256", str)
    if not _SHA256.match(sha):
        raise ManifestError("dump_sha256", f"{sha!r} is not 64 lower-case hex characters")

    src = _require(doc, "source", dict)
    source = Source(
        host=_require(src, "host", str, "source."),
        database=_require(src, "database", str, "source."),
        secret_id=_require(src, "secret_id", str, "source."),
    )
    source_valid = _require(doc, "source_valid", bool)
    valid_for_etl = _require(doc, "valid_for_etl", bool)
    reasons = _require(doc, "reason_codes", list)
    for i, code in enumerate(reasons):
        if not isinstance(code, str) or not code:
            raise ManifestError(f"reason_codes[{i}]", f"expected a non-empty string, got {code!r}")

    counts_doc = _require(doc, "table_row_counts", dict)
    counts: dict[str, int] = {}
    for table in TABLE_NAMES:
        counts[table] = _require(counts_doc, table, int, "table_row_counts.")
        if counts[table] < 0:
            raise ManifestError(f"table_row_counts.{table}", f"negative count {counts[table]}")

    detail = doc.get("detail", "")
    if not isinstance(detail, str):
        raise ManifestError("detail", f"expected a string, got {type(detail).__name__} {detail!r}")

    return Manifest(
        detail=detail,
        dump_date=dump_date, dump_key=dump_key, dump_bytes=dump_bytes, dump_sha256=sha,
        source=source, source_valid=source_valid, valid_for_etl=valid_for_etl,
        reason_codes=tuple(reasons), table_row_counts=counts,
        dump_started_at=_timestamp(doc, "dump_started_at"),
        dump_finished_at=_timestamp(doc, "dump_finished_at"),
        published_at=_timestamp(doc, "published_at"),
    )


class Status(str, enum.Enum):
    LOADABLE = "LOADABLE"
    QUARANTINED = "QUARANTINED"
    MISSING = "MISSING"


@dataclass(frozen=True)
class Verdict:
    dump_date: date
    status: Status
    reasons: tuple[str, ...] = ()
    detail: str = ""
    manifest: Manifest | None = field(default=None, compare=False)

    @property
    def loadable(self) -> bool:
        return self.status is Status.LOADABLE

    def to_dict(self) -> dict[str, Any]:
        return {
            "dump_date": self.dump_date.isoformat(),
            "status": self.status.value,
            "reasons": list(self.reasons),
            "detail": self.detail,
            "dump_key": self.manifest.dump_key if self.manifest else None,
            "dump_sha256": self.manifest.dump_sha256 if self.manifest else None,
        }


@dataclass(frozen=True)
class ExpectedSource:
    host: str
    database: str

    def matches(self, source: Source) -> bool:
        # Host names are case-insensitive and may carry DNS's trailing dot; database names are
        # case-sensitive on the Linux servers Aurora runs on. The manifest's secret_id is only
        # informational: which secret to trust is our configuration, never the manifest's.
        def host(name: str) -> str:
            return name.strip().rstrip(".").lower()

        return host(source.host) == host(self.host) and source.database == self.database


def judge(manifest: Manifest, expected: ExpectedSource, dump_size: int | None) -> Verdict:
    """The verdict from what can be known without reading the dump: the manifest's own
    declarations, provenance and the object's size. The sha256, row counts and schema are
    checked while the dump streams through the loader."""
    day = manifest.dump_date
    if not manifest.valid_for_etl or not manifest.source_valid:
        reasons = tuple(manifest.reason_codes) or (ReasonCode.DECLARED_INVALID.value,)
        said = f": {manifest.detail}" if manifest.detail else ""
        return Verdict(day, Status.QUARANTINED, reasons,
                       f"the publisher declared this dump not valid for ETL{said}", manifest)
    reasons: list[str] = []
    details: list[str] = []
    if not expected.matches(manifest.source):
        reasons.append(ReasonCode.INVALID_SOURCE.value)
        details.append(f"source {manifest.source.host}/{manifest.source.database} is not the expected "
                       f"{expected.host}/{expected.database}")
    if dump_size is None:
        reasons.append(ReasonCode.MISSING_DUMP.value)
        details.append(f"dump object {manifest.dump_key} does not exist")
    elif dump_size != manifest.dump_bytes:
        code = ReasonCode.TRUNCATED_DUMP if dump_size < manifest.dump_bytes else ReasonCode.SIZE_MISMATCH
        reasons.append(code.value)
        details.append(f"dump is {dump_size} bytes, manifest says {manifest.dump_bytes}")
    if reasons:
        return Verdict(day, Status.QUARANTINED, tuple(reasons), "; ".join(details), manifest)
    return Verdict(day, Status.LOADABLE, (), "manifest, source and size check out", manifest)
