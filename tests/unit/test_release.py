"""Pure parts of the release bundle: startup.sh rendering, checksums, and naming by commit."""

from __future__ import annotations

import subprocess

import pytest

from tokyobeta.ops import release


def test_startup_script_gets_the_dbt_lock(tmp_path):
    template = tmp_path / "startup.sh"
    template.write_text(f"before\n{release.DBT_LOCK_PLACEHOLDER}\nafter\n")
    lock = tmp_path / "dbt.lock"
    lock.write_text("dbt-core==1.7.20\ndbt-mysql==1.7.0\n")
    assert release.render_startup_script(template, lock) == "before\ndbt-core==1.7.20\ndbt-mysql==1.7.0\nafter\n"
    lock.write_text("TOKYOBETA_DBT_LOCK\n")
    with pytest.raises(release.ReleaseError, match="heredoc delimiter"):
        release.render_startup_script(template, lock)
    template.write_text("no placeholder\n")
    with pytest.raises(release.ReleaseError, match="has no @DBT_REQUIREMENTS_LOCK@ line"):
        release.render_startup_script(template, lock)


def test_the_repository_template_has_the_placeholder(repo):
    assert release.DBT_LOCK_PLACEHOLDER in (repo / release.STARTUP_TEMPLATE).read_text()


def test_checksums_round_trip_and_catch_every_kind_of_change(tmp_path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "a.py").write_text("a")
    (tmp_path / "requirements.txt").write_text("r")
    sums = release.write_checksums(tmp_path)
    assert set(sums) == {"dags/a.py", "requirements.txt"}
    assert release.verify_bundle(tmp_path) == sums
    (tmp_path / "requirements.txt").unlink()
    with pytest.raises(release.ReleaseError, match=r"missing \['requirements.txt'\]"):
        release.verify_bundle(tmp_path)


def test_missing_checksum_list_is_a_clear_error(tmp_path):
    with pytest.raises(release.ReleaseError, match="SHA256SUMS is missing: rebuild the bundle with `make package`"):
        release.verify_bundle(tmp_path)


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_release_is_named_by_the_commit_and_marks_uncommitted_bundle_files(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "daily.py").write_text("v1")
    (tmp_path / "notes.txt").write_text("not in a bundle")
    git(tmp_path, "add", "dags")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "v1")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert release.git_commit(tmp_path) == release.Commit(head, dirty=False)  # notes.txt is not bundled
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "new.py").write_text("")
    commit = release.git_commit(tmp_path)
    assert commit.dirty and commit.release_id == f"{head}-dirty"
    assert commit.release_name(private_network=True) == f"{head}-dirty-private"
    assert commit.release_name() == commit.release_id


def test_not_a_git_checkout(tmp_path):
    with pytest.raises(release.ReleaseError, match="is not a git checkout"):
        release.git_commit(tmp_path)
