"""`tokyobeta load-dump` and `tokyobeta restore-staging` as an operator runs them: real
processes against MariaDB and moto, exit codes 0/1/2, a progress line on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from datetime import timedelta

import pytest

from support.db import checksums, count
from support.dumps import DAY, gzipped, manifest_for, upload_pair, write_pair

SOURCE = {"host": "db.example", "database": "gghouse"}


@pytest.fixture
def env(bucket, inbox, fresh_schemas, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("EXPECTED_SOURCE_HOST", SOURCE["host"])
    monkeypatch.setenv("EXPECTED_SOURCE_DATABASE", SOURCE["database"])
    return dict(os.environ)


def tokyobeta(env: dict[str, str], *args: str, stderr_tty: bool = False) -> tuple[int, str, str]:
    command = [sys.executable, "-m", "tokyobeta.cli", *args]
    if not stderr_tty:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        return proc.returncode, proc.stdout, proc.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    terminal = b""
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not data:
            break
        terminal += data
    os.close(leader)
    out = proc.stdout.read()
    return proc.wait(300), out, terminal.decode("utf-8", "replace")


def test_load_from_local_files_with_a_progress_line_on_a_terminal(env, sample_dump, tmp_path, admin_conn, fresh_schemas):
    packed = gzipped(sample_dump.data)
    dump_path, manifest_path = write_pair(tmp_path, packed, manifest_for(packed, DAY, sample_dump.counts, gzip=True,
                                                                          **SOURCE))
    code, out, terminal = tokyobeta(env, "load-dump", "--file", str(dump_path), "--manifest", str(manifest_path),
                                    stderr_tty=True)
    assert code == 0, out + terminal
    assert out.startswith(f"LOADED: {dump_path} for 2026-03-02") and f"tenants {sample_dump.counts['tenants']:,}" in out
    assert "\r" in terminal and " MB/s " in terminal and " rows " in terminal and " table " in terminal
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{fresh_schemas['staging']}`.tenants") == sample_dump.counts["tenants"]
    # no terminal, no progress line
    code, _, err = tokyobeta(env, "load-dump", "--file", str(dump_path), "--manifest", str(manifest_path))
    assert code == 0 and "MB/s" not in err


def test_dry_run_verifies_without_swapping(env, sample_dump, tmp_path, admin_conn, fresh_schemas):
    dump_path, manifest_path = write_pair(tmp_path, sample_dump.data, manifest_for(sample_dump.data, DAY,
                                                                                   sample_dump.counts, **SOURCE))
    before = checksums(admin_conn, fresh_schemas["staging"])
    code, out, _ = tokyobeta(env, "load-dump", "--dry-run", "--file", str(dump_path), "--manifest", str(manifest_path))
    assert code == 0 and out.startswith("VERIFIED (dry run, nothing swapped)"), out
    assert checksums(admin_conn, fresh_schemas["staging"]) == before
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{fresh_schemas['ops']}`.load_history WHERE status = 'dry_run'") == 1


def test_exit_2_when_quarantined_and_1_when_failed(env, sample_dump, tmp_path, admin_conn, fresh_schemas):
    data = sample_dump.data
    wrong_source = manifest_for(data, DAY, sample_dump.counts, host="evil.example", database="gghouse")
    dump_path, manifest_path = write_pair(tmp_path, data, wrong_source)
    code, out, _ = tokyobeta(env, "load-dump", "--file", str(dump_path), "--manifest", str(manifest_path))
    assert code == 2 and out.startswith("QUARANTINED: INVALID_SOURCE"), out
    tampered = data.replace(b"INSERT INTO `rooms` VALUES", b"UPDATE `rooms` SET rent = 0;\nINSERT INTO `rooms` VALUES")
    dump_path, manifest_path = write_pair(tmp_path, tampered, manifest_for(tampered, DAY, sample_dump.counts, **SOURCE))
    code, out, _ = tokyobeta(env, "load-dump", "--file", str(dump_path), "--manifest", str(manifest_path))
    assert code == 2 and out.startswith("QUARANTINED: FORBIDDEN_STATEMENT") and "UPDATE `rooms`" in out, out
    assert checksums(admin_conn, fresh_schemas["staging"]) == {}
    # a configuration error is a failure, not a verdict on the dump
    broken = {**env, "EXPECTED_SOURCE_DATABASE": ""}
    code, out, _ = tokyobeta(broken, "load-dump", "--file", str(dump_path), "--manifest", str(manifest_path))
    assert code == 1 and "FAILED: ProvenanceConfigError" in out, out
    code, _, err = tokyobeta(env, "load-dump", "--file", str(dump_path))
    assert code == 1 and "--manifest" in err


def test_load_from_the_bucket_and_restore_a_backup(env, sample_dump, s3, bucket, admin_conn, fresh_schemas):
    for offset in (0, 1):
        manifest = manifest_for(sample_dump.data, DAY + timedelta(days=offset), sample_dump.counts, **SOURCE)
        upload_pair(s3, bucket, sample_dump.data, manifest)
        code, out, _ = tokyobeta(env, "load-dump", "--date", f"{DAY + timedelta(days=offset)}")
        assert code == 0, out
        assert out.startswith(f"LOADED: s3://{bucket}/dumps/gghouse_{DAY + timedelta(days=offset):%Y%m%d}.sql")
    staging = fresh_schemas["staging"]
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.dump_info WHERE dump_date = %s", (DAY + timedelta(days=1),)) == 1
    code, out, _ = tokyobeta(env, "restore-staging", "--date", f"{DAY}")
    assert code == 0 and out.startswith(f"RESTORED: {staging} now holds the load of {DAY}"), out
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{staging}`.dump_info WHERE dump_date = %s", (DAY,)) == 1
    assert count(admin_conn, f"SELECT COUNT(*) FROM `{fresh_schemas['ops']}`.load_history WHERE status = 'restored' "
                             "AND dump_date = %s", (DAY,)) == 1
    code, out, _ = tokyobeta(env, "restore-staging", "--date", "2020-01-01")
    assert code == 1 and "no complete backup for 2020-01-01" in out
    # a day with no manifest: nothing to load
    code, out, _ = tokyobeta(env, "load-dump", "--date", "2020-01-01")
    assert code == 2 and out.startswith("NOT LOADED (missing)"), out


def test_load_dump_starts_without_airflow(env, sample_dump, tmp_path, secretsmanager, monkeypatch):
    """The operator's command reads its connections from the environment (no secrets backend
    here) and the trusted source from its secret, without importing Airflow (1-1.5 s)."""
    from conftest import unique
    from tokyobeta.ops import localstack

    secret_id = unique("tokyobeta/test/source")
    localstack.ensure_secret(secretsmanager, secret_id, {"host": SOURCE["host"], "dbname": SOURCE["database"],
                                                         "port": 3306, "username": "u", "password": "p"})
    env = {k: v for k, v in env.items() if not k.startswith("EXPECTED_SOURCE_")}
    env["SOURCE_SECRET_ID"] = secret_id
    dump_path, manifest_path = write_pair(tmp_path, sample_dump.data, manifest_for(sample_dump.data, DAY,
                                                                                   sample_dump.counts, **SOURCE))
    script = ("import sys; from tokyobeta import cli; code = cli.main(sys.argv[1:]); "
              "print('airflow imported' if 'airflow' in sys.modules else 'no airflow'); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script, "load-dump", "--dry-run", "--file", str(dump_path),
                           "--manifest", str(manifest_path)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("VERIFIED"), proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("no airflow"), proc.stdout
