"""The release bundle holds what MWAA reads, where it reads it, and proves its own integrity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tokyobeta.ops import release


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_every_dag_file_and_the_include_folder_are_in_the_dags_folder(bundle, repo):
    assert files_under(repo / "dags") <= files_under(bundle / "dags")
    assert {f"{p.name}" for p in (repo / "dags").glob("*.py")} == {p.name for p in (bundle / "dags").glob("*.py")}
    include = bundle / "dags" / "include"
    assert files_under(repo / "include" / "sql") == files_under(include / "sql")
    project = {f for f in files_under(repo / "include" / "dbt") if f.split("/")[0] not in {"target", "logs", "dbt_packages"}}
    assert files_under(include / "dbt") == project | {f"target/{n}" for n in release.DBT_DOCS_FILES}
    assert json.loads((bundle / "RELEASE.json").read_text())["dags"] == sorted(p.name for p in (repo / "dags").glob("*.py"))


def test_dbt_docs_and_manifest_describe_production_schemas(bundle):
    target = bundle / "dags" / "include" / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    models = {n["name"]: n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert models and set(models.values()) == {"silver", "gold"}, models
    assert "occupancy_by_apartment" in models
    assert json.loads((target / "catalog.json").read_text())["metadata"]["dbt_version"].startswith("1.7.")
    assert "<title>dbt Docs</title>" in (target / "index.html").read_text()


def test_plugins_zip_has_the_package_and_plugin_entry_at_its_root(bundle, repo):
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        names = set(zf.namelist())
        assert zf.read(".airflowignore") == (repo / "plugins" / ".airflowignore").read_bytes()
    package = {f"tokyobeta/{f}" for f in files_under(repo / "plugins" / "tokyobeta")}
    assert names == package | {".airflowignore", "tokyobeta_plugin.py"}
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)


def test_plugins_zip_is_byte_identical_for_the_same_tree(tmp_path, repo):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    release.build_plugins_zip(repo / "plugins", first)
    release.build_plugins_zip(repo / "plugins", second)
    assert release.sha256_of(first) == release.sha256_of(second)


def test_airflow_loads_the_unzipped_plugins_folder_as_mwaa_does(bundle, tmp_path):
    """MWAA unzips plugins.zip into its plugins folder: the plugin manager must find the tokyobeta
    plugin (and cosmos's), and import the package from there, not from this checkout."""
    plugins = tmp_path / "plugins"
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        zf.extractall(plugins)
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins), "PYTHONPATH": str(plugins)}
    probe = ("import json, tokyobeta; from airflow import plugins_manager as pm; pm.ensure_plugins_loaded(); "
             "print(json.dumps({'package': tokyobeta.__file__, 'plugins': sorted(p.name for p in pm.plugins), "
             "'sources': sorted(str(p.source) for p in pm.plugins)}))")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["package"].startswith(str(plugins))
    assert loaded["plugins"] == ["cosmos", "tokyobeta"]
    assert "$PLUGINS_FOLDER/tokyobeta_plugin.py" in loaded["sources"]


def test_requirements_and_startup_script(bundle, repo):
    assert (bundle / "requirements.txt").read_bytes() == (repo / "requirements.txt").read_bytes()
    startup = (bundle / "startup.sh").read_text()
    assert release.DBT_LOCK_PLACEHOLDER not in startup
    lock_lines = [line for line in (repo / "requirements" / "dbt.lock").read_text().splitlines() if line.strip()]
    assert all(line in startup.splitlines() for line in lock_lines)
    assert os.access(bundle / "startup.sh", os.X_OK)
    subprocess.run(["bash", "-n", str(bundle / "startup.sh")], check=True)


def test_checksum_list_covers_every_file_and_sha256sum_agrees(bundle):
    listed = set(release.read_checksums(bundle))
    assert listed == files_under(bundle) - {release.CHECKSUMS}
    check = subprocess.run(["sha256sum", "--check", "--strict", release.CHECKSUMS], cwd=bundle,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(listed)


def test_a_changed_or_added_file_breaks_the_bundle(bundle, tmp_path):
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    release.verify_bundle(copy)
    (copy / "dags" / "tokyobeta_daily_etl.py").write_text("# edited after packaging\n")
    (copy / "dags" / "extra.py").write_text("")
    with pytest.raises(release.ReleaseError, match=r"changed \['dags/tokyobeta_daily_etl.py'\].*not listed \['dags/extra.py'\]"):
        release.verify_bundle(copy)


def test_make_package_names_the_bundle_by_the_commit(repo, tmp_path):
    out = subprocess.run([sys.executable, "-m", "tokyobeta.cli", "package", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=repo)
    assert out.returncode == 0, out.stderr
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "dags", "plugins", "include", "mwaa",
                                 "requirements.txt", "requirements"], cwd=repo, capture_output=True, text=True).stdout.strip())
    name = f"tokyobeta-{head}{'-dirty' if dirty else ''}"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [name]
    info = json.loads((tmp_path / name / "RELEASE.json").read_text())
    assert info["commit"] == head and info["dirty"] is dirty
