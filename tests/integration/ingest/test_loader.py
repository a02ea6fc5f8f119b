"""The staging loader against MariaDB: real mariadb-dump output round-trips exactly (CHECKSUM
TABLE source vs staging), in both dump layouts, plain and gzip; every unfit dump is refused
with its reason while staging keeps the previous good load, nothing injected ever runs, and a
loader killed with SIGKILL mid-load leaves staging as it was."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from support.db import checksums, count
from support.hostile import HOSTILE_STRINGS, build_hostile_source
from support.dumps import DAY, gzipped, manifest_for, mariadb_dump, mysqldump_layout, row_counts, write_pair
from tokyobeta import settings
from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import staging as staging_module
from tokyobeta.ingest.staging import Loader, QuarantineDump


def make_loader(conn, schemas, cfg, **kwargs) -> Loader:
    from tokyobeta.io import mysql

    return Loader(conn, schemas, cfg.include_path, connect=lambda: mysql.connect(cfg.mysql_conn_id), **kwargs)


def load(loader: Loader, data: bytes, manifest, **kwargs):
    return loader.load(io.BytesIO(data), manifest, **kwargs)


def contract_checksums(conn, schema: str) -> dict[str, int]:
    return {t: c for t, c in checksums(conn, schema).items() if t in TABLE_NAMES}


def incoming_tables(conn, schema: str) -> int:
    return count(conn, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_name LIKE '%%\\_\\_incoming'", (schema,))


@pytest.fixture
def loader(mysql_conn, fresh_schemas, cfg):
    return make_loader(mysql_conn, fresh_schemas, cfg)


@pytest.fixture
def loaded(loader, sample_dump, admin_conn, fresh_schemas):
    """Staging holding a good load of DAY: the state every refused dump must leave alone."""
    load(loader, sample_dump.data, manifest_for(sample_dump.data, DAY, sample_dump.counts))
    return checksums(admin_conn, fresh_schemas["staging"])


# --- what loads, loads exactly ---------------------------------------------------------------

def indexes(conn, schema: str) -> dict[str, set[tuple]]:
    with conn.cursor() as cur:
        cur.execute("SELECT table_name, index_name, non_unique, seq_in_index, column_name FROM "
                    "information_schema.statistics WHERE table_schema = %s", (schema,))
        out: dict[str, set[tuple]] = {}
        for table, *rest in cur.fetchall():
            out.setdefault(table, set()).add(tuple(rest))
        return {t: v for t, v in out.items() if t in TABLE_NAMES}


@pytest.mark.parametrize("layout, compress, defer", [("mariadb-dump", False, False), ("mariadb-dump", True, True),
                                                     ("mysqldump", False, True), ("mysqldump", True, False)])
def test_dump_round_trips_exactly(loader, sample_dump, admin_conn, fresh_schemas, monkeypatch, layout, compress, defer):
    # defer: secondary indexes built after the rows (what big tables get), else in the CREATE
    monkeypatch.setattr(staging_module, "DEFER_INDEXES_FROM_ROWS", 0 if defer else 10**9)
    data = mysqldump_layout(sample_dump.data) if layout == "mysqldump" else sample_dump.data
    if layout == "mysqldump":
        assert data.count(b"\nINSERT INTO `tenants` VALUES (") == 1 and b"VALUES\n(" not in data
    body = gzipped(data) if compress else data
    result = load(loader, body, manifest_for(body, DAY, sample_dump.counts, gzip=compress))
    staging = fresh_schemas["staging"]
    assert result.swapped and result.row_counts == sample_dump.counts
    assert contract_checksums(admin_conn, staging) == contract_checksums(admin_conn, sample_dump.database)
    assert set(checksums(admin_conn, staging)) == {*TABLE_NAMES, "dump_info"}  # no other table came along
    assert result.skipped_statements > 0 and incoming_tables(admin_conn, staging) == 0
    assert indexes(admin_conn, staging) == indexes(admin_conn, sample_dump.database)
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.dump_info WHERE dump_date = %s AND dump_sha256 = %s",
                 (DAY, result.sha256)) == 1


@pytest.fixture
def hostile_source(admin_conn):
    """Contract tables full of values that break naive loaders (support/hostile.py)."""
    database = settings.Settings().schema("hostile_gghouse")
    build_hostile_source(admin_conn, database)
    yield database
    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")


def test_hostile_values_round_trip_exactly(loader, hostile_source, admin_conn, fresh_schemas):
    data = mariadb_dump(hostile_source)
    assert b"'0000-00-00'" in data and b"(0," in data and b"\\0" in data  # the hard cases made it into the dump
    counts = row_counts(admin_conn, hostile_source)
    result = load(loader, data, manifest_for(data, DAY, counts))
    assert result.row_counts == counts and counts["tenants"] == len(HOSTILE_STRINGS) + 1
    staging = fresh_schemas["staging"]
    assert contract_checksums(admin_conn, staging) == contract_checksums(admin_conn, hostile_source)
    # and spot checks that CHECKSUM TABLE would also catch: id 0 kept, zero dates, NULL vs ''
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.tenants WHERE id = 0 AND birth_date = '0000-00-00'") == 1
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.tenants WHERE nationality = ''") == \
        count(admin_conn, f"SELECT COUNT(*) FROM `{hostile_source}`.tenants WHERE nationality = ''") > 0
    # mysqldump's layout of the same data loads the same
    loader2 = make_loader(loader.conn, fresh_schemas, settings.Settings())
    one_line = mysqldump_layout(data)
    load(loader2, one_line, manifest_for(one_line, DAY + timedelta(days=1), counts))
    assert contract_checksums(admin_conn, staging) == contract_checksums(admin_conn, hostile_source)


# --- what does not load leaves staging alone ----------------------------------------------------

def assert_refused(loader, admin_conn, schemas, before, data, manifest, reasons, detail_fragment=""):
    with pytest.raises(QuarantineDump) as err:
        load(loader, data, manifest)
    assert err.value.reasons == reasons, err.value.detail
    assert detail_fragment in err.value.detail
    assert checksums(admin_conn, schemas["staging"]) == before
    assert incoming_tables(admin_conn, schemas["staging"]) == 0
    return err.value


def cut_inside_insert(data: bytes, table: str) -> bytes:
    start = data.index(f"INSERT INTO `{table}` VALUES".encode())
    return data[: data.index(b"),\n(", start) + 2]


def test_truncated_mid_insert(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    cut = cut_inside_insert(sample_dump.data, "movings")
    # the publisher's manifest describes the whole dump: short and wrong sha, and cut mid-statement
    exc = assert_refused(loader, admin_conn, fresh_schemas, loaded, cut,
                         manifest_for(sample_dump.data, DAY, sample_dump.counts),
                         ("TRUNCATED_DUMP", "CHECKSUM_MISMATCH"), "ends inside the statement")
    assert f"read {len(cut)} bytes" in exc.detail
    # a manifest written for the cut file itself: only the content can tell
    assert_refused(loader, admin_conn, fresh_schemas, loaded, cut, manifest_for(cut, DAY, sample_dump.counts),
                   ("TRUNCATED_DUMP",), "starts at byte")


def test_truncated_between_statements(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    cut = sample_dump.data[: sample_dump.data.index(b"\n--\n-- Table structure for table `tenants_archive`") + 1]
    assert_refused(loader, admin_conn, fresh_schemas, loaded, cut, manifest_for(cut, DAY, sample_dump.counts),
                   ("TRUNCATED_DUMP",), "no closing '-- Dump completed'")


def test_truncated_gzip(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    packed = gzipped(sample_dump.data)
    cut = packed[: len(packed) * 2 // 3]
    assert_refused(loader, admin_conn, fresh_schemas, loaded, cut, manifest_for(cut, DAY, sample_dump.counts, gzip=True),
                   ("TRUNCATED_DUMP",), "gzip")


def test_sha_size_and_row_count_mismatch(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    data, counts = sample_dump.data, sample_dump.counts
    # one byte changed inside another table's row: same size, other sha
    at = data.index(b"INSERT INTO `access_logs` VALUES") + 60
    tampered = data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
    assert_refused(loader, admin_conn, fresh_schemas, loaded, tampered, manifest_for(data, DAY, counts),
                   ("CHECKSUM_MISMATCH",), "sha256")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data,
                   manifest_for(data, DAY, counts, dump_bytes=len(data) + 1), ("TRUNCATED_DUMP",), "manifest says")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data + b"\n",
                   manifest_for(data, DAY, counts, dump_sha256=manifest_for(data + b"\n", DAY, counts).dump_sha256),
                   ("SIZE_MISMATCH",), "manifest says")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data,
                   manifest_for(data, DAY, {**counts, "rooms": counts["rooms"] + 1}),
                   ("ROW_COUNT_MISMATCH",), f"rooms: loaded {counts['rooms']}, manifest {counts['rooms'] + 1}")


def test_schema_drift(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    line = b"  `nationality` varchar(64) DEFAULT NULL,\n"
    assert line in sample_dump.data
    drifted = sample_dump.data.replace(line, b"")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, drifted, manifest_for(drifted, DAY, sample_dump.counts),
                   ("SCHEMA_DRIFT",), "tenants.nationality is missing")
    no_inquiries = sample_dump.data.replace(b"CREATE TABLE `inquiries`", b"CREATE TABLE `inquiries_old`").replace(
        b"INSERT INTO `inquiries`", b"INSERT INTO `inquiries_old`")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, no_inquiries,
                   manifest_for(no_inquiries, DAY, sample_dump.counts), ("SCHEMA_DRIFT",), "['inquiries']")


@pytest.fixture
def victim(admin_conn):
    """A schema injected statements would like to hurt."""
    name = settings.Settings().schema("victim_scratch")
    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.secrets (id INT PRIMARY KEY, secret VARCHAR(32))")
        cur.execute(f"INSERT INTO `{name}`.secrets VALUES (1, 'keep me')")
    yield name
    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


INJECTIONS = {
    # after the first row of the rooms INSERT: a second statement on an INSERT line
    "drop database on the insert line": (b"rooms", b";DROP DATABASE `{victim}`;\n"),
    "write to another schema on the insert line": (b"rooms", b";INSERT INTO `{victim}`.`secrets` VALUES (2,'x');\n"),
    "sub-select reading another schema": (b"rooms", b",\n(999999,1,(SELECT secret FROM `{victim}`.secrets),1,1,1,"
                                                   b"1,1,1,'2026-01-01','2026-01-01');\n"),
}
STANDALONE = {
    "drop database": b"DROP DATABASE `{victim}`;\n",
    "write to another schema": b"INSERT INTO `{victim}`.`secrets` VALUES (3,'x');\n",
    "update another schema": b"UPDATE `{victim}`.secrets SET secret='';\n",
    "update a contract table": b"UPDATE `tenants` SET status = 9;\n",
    "delete from a contract table": b"DELETE FROM `rooms`;\n",
    "drop after the data": b"DROP TABLE IF EXISTS `movings`;\n",
    "alter outside the framing": b"ALTER TABLE `apartments` ADD COLUMN x INT;\n",
    "replace into a contract table": b"REPLACE INTO `tenants` VALUES (1);\n",
    "executable comment": b"/*!40000 DROP DATABASE `{victim}` */;\n",
}


@pytest.mark.parametrize("case", sorted(INJECTIONS) + sorted(STANDALONE))
def test_injected_statements_are_refused_and_nothing_runs(loader, loaded, sample_dump, admin_conn, fresh_schemas,
                                                          victim, case):
    data = sample_dump.data
    if case in INJECTIONS:
        table, tail = INJECTIONS[case]
        start = data.index(b"INSERT INTO `" + table + b"` VALUES\n")
        first_row_end = data.index(b"),\n(", start) + 1
        # the rest of the INSERT goes on as a statement of its own so the dump stays well formed
        data = data[:first_row_end] + tail.replace(b"{victim}", victim.encode()) + \
            b"INSERT INTO `" + table + b"` VALUES\n" + data[first_row_end + 2:]
    else:
        marker = b"\n--\n-- Table structure for table `tenants_archive`"
        data = data.replace(marker, b"\n" + STANDALONE[case].replace(b"{victim}", victim.encode()) + marker)
    victim_before = checksums(admin_conn, victim)
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data, manifest_for(data, DAY, sample_dump.counts),
                   ("FORBIDDEN_STATEMENT",))
    assert checksums(admin_conn, victim) == victim_before
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{victim}`.secrets WHERE secret = 'keep me'") == 1


@pytest.mark.parametrize("case", ["create table select", "foreign engine", "data directory"])
def test_create_table_in_another_form_is_refused(loader, loaded, sample_dump, admin_conn, fresh_schemas, victim, case):
    start = sample_dump.data.index(b"CREATE TABLE `rooms` (")
    end = sample_dump.data.index(b";\n", start) + 1
    original = sample_dump.data[start:end]
    closing = original[original.rindex(b"\n) ENGINE=InnoDB"):]
    replacement = {
        "create table select": b"CREATE TABLE `rooms` AS SELECT * FROM `" + victim.encode() + b"`.`secrets`;",
        "foreign engine": original.replace(closing, b"\n) ENGINE=FEDERATED CONNECTION='mysql://u:p@127.0.0.1:3306/"
                                                    + victim.encode() + b"/secrets';"),
        "data directory": original.replace(closing, closing[:-1] + b" DATA DIRECTORY='/tmp';"),
    }[case]
    data = sample_dump.data[:start] + replacement + sample_dump.data[end:]
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data, manifest_for(data, DAY, sample_dump.counts),
                   ("FORBIDDEN_STATEMENT",), "CREATE TABLE")


def test_dump_in_another_charset_is_refused(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    data = sample_dump.data.replace(b"/*!40101 SET NAMES utf8mb4 */;", b"/*!40101 SET NAMES latin1 */;")
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data, manifest_for(data, DAY, sample_dump.counts),
                   ("FORBIDDEN_STATEMENT",), "latin1")


def test_rows_the_server_refuses(loader, loaded, sample_dump, admin_conn, fresh_schemas):
    # a duplicate primary key: the same rooms row twice
    start = sample_dump.data.index(b"INSERT INTO `rooms` VALUES\n")
    row_end = sample_dump.data.index(b"),\n(", start) + 1
    first_row = sample_dump.data[start + len(b"INSERT INTO `rooms` VALUES\n"):row_end]
    data = sample_dump.data[:row_end] + b",\n" + first_row + sample_dump.data[row_end:]
    assert_refused(loader, admin_conn, fresh_schemas, loaded, data, manifest_for(data, DAY, sample_dump.counts),
                   ("INVALID_DATA",), "(1062)")


# --- crash safety, idempotence, backups ---------------------------------------------------------

def test_same_day_twice_is_idempotent_and_backups_keep_the_last_three(loader, sample_dump, admin_conn, fresh_schemas):
    staging, backup = fresh_schemas["staging"], fresh_schemas["staging_backup"]
    load(loader, sample_dump.data, manifest_for(sample_dump.data, DAY, sample_dump.counts))
    first = checksums(admin_conn, staging)
    result = load(loader, sample_dump.data, manifest_for(sample_dump.data, DAY, sample_dump.counts))
    assert checksums(admin_conn, staging) == first
    assert result.backups == [f"{t}__{DAY:%Y%m%d}" for t in (*TABLE_NAMES, "dump_info")]
    for offset in range(1, 5):
        day = DAY + timedelta(days=offset)
        load(loader, sample_dump.data, manifest_for(sample_dump.data, day, sample_dump.counts))
    assert loader.backup_dates() == [f"{DAY + timedelta(days=d):%Y%m%d}" for d in (3, 2, 1)]
    assert count(admin_conn, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (backup,)) == 18


def test_restore_swaps_a_backup_back(loader, sample_dump, hostile_source, admin_conn, fresh_schemas):
    staging = fresh_schemas["staging"]
    load(loader, sample_dump.data, manifest_for(sample_dump.data, DAY, sample_dump.counts))
    day1 = checksums(admin_conn, staging)
    hostile = mariadb_dump(hostile_source)
    load(loader, hostile, manifest_for(hostile, DAY + timedelta(days=1), row_counts(admin_conn, hostile_source)))
    day2 = checksums(admin_conn, staging)
    assert day2 != day1
    parked = loader.restore(DAY)
    assert checksums(admin_conn, staging) == day1
    assert loader.current_dump_date() == DAY
    assert f"tenants__{DAY + timedelta(days=1):%Y%m%d}" in parked
    loader.restore(DAY + timedelta(days=1))
    assert checksums(admin_conn, staging) == day2
    with pytest.raises(FileNotFoundError, match="no complete backup for 2026-01-01"):
        loader.restore(date(2026, 1, 1))
    # into an empty staging (its tables dropped by hand): the backup simply moves in
    with admin_conn.cursor() as cur:
        for table in (*TABLE_NAMES, "dump_info"):
            cur.execute(f"DROP TABLE `{staging}`.`{table}`")
    assert loader.restore(DAY) == []
    assert checksums(admin_conn, staging) == day1


def test_loader_killed_mid_load_leaves_staging_and_the_next_load_succeeds(loader, loaded, sample_dump, admin_conn,
                                                                         fresh_schemas, tmp_path, monkeypatch):
    """A real `tokyobeta load-dump` process reading from a pipe, killed with SIGKILL after it
    has created and filled some __incoming tables."""
    staging = fresh_schemas["staging"]
    day2 = DAY + timedelta(days=1)
    manifest = manifest_for(sample_dump.data, day2, sample_dump.counts)
    _, manifest_path = write_pair(tmp_path, sample_dump.data, manifest)
    fifo = tmp_path / "dump.fifo"
    os.mkfifo(fifo)
    env = {**os.environ, "EXPECTED_SOURCE_HOST": "127.0.0.1", "EXPECTED_SOURCE_DATABASE": "gghouse"}
    proc = subprocess.Popen([sys.executable, "-m", "tokyobeta.cli", "load-dump", "--file", str(fifo),
                             "--manifest", str(manifest_path)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    half = sample_dump.data[: sample_dump.data.index(b"\n--\n-- Table structure for table `payments`") + 1]
    try:
        with open(fifo, "wb") as pipe:
            pipe.write(half)
            pipe.flush()
            deadline = time.monotonic() + 60
            while count(admin_conn, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
                                    "AND table_name = 'movings__incoming'", (staging,)) == 0 or \
                    count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.movings__incoming") < sample_dump.counts["movings"]:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the loader never got to movings"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(30) == -signal.SIGKILL
    except BrokenPipeError:
        pass
    # killed mid-load: its leftovers are there, staging is exactly as it was
    assert incoming_tables(admin_conn, staging) >= 3
    assert {t: c for t, c in checksums(admin_conn, staging).items() if not t.endswith("__incoming")} == loaded
    # the next load cleans up and succeeds
    result = load(loader, sample_dump.data, manifest)
    assert result.swapped and incoming_tables(admin_conn, staging) == 0
    assert loader.current_dump_date() == day2
