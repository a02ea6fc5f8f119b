"""The dbt project's manifest: cosmos renders the silver and gold task groups from it
(LoadMode.DBT_MANIFEST), so parsing a DAG file never runs dbt. Built by the bootstrap and by
packaging; rebuilt only when a project file changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

_SKIP_DIRS = {"target", "logs", "dbt_packages"}


def source_digest(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        rel = path.relative_to(project_dir)
        if path.is_file() and rel.parts[0] not in _SKIP_DIRS:
            digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def manifest_path(project_dir: Path) -> Path:
    return project_dir / "target" / "manifest.json"


def _run_dbt(project_dir: Path, dbt_executable: str, *args: str, target_path: Path | None = None) -> None:
    if not Path(dbt_executable).exists():
        raise FileNotFoundError(f"dbt not found at {dbt_executable}; set DBT_EXECUTABLE_PATH (make bootstrap builds it)")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    subprocess.run(
        [dbt_executable, *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--target-path", str(target_path or "target")],
        check=True, env=env, cwd=project_dir)


def build_manifest(project_dir: Path, dbt_executable: str, *, force: bool = False) -> bool:
    """Runs `dbt parse` when the project changed since the last build. Returns True if it ran."""
    stamp = project_dir / "target" / ".source-digest"
    digest = source_digest(project_dir)
    if not force and manifest_path(project_dir).exists() and stamp.exists() and stamp.read_text() == digest:
        return False
    _run_dbt(project_dir, dbt_executable, "parse", "--quiet")
    stamp.write_text(digest)
    return True


def generate_docs(project_dir: Path, dbt_executable: str, *, target_path: Path | None = None,
                  empty_catalog: bool = False) -> Path:
    """`dbt docs generate` into the project's target/ (what the Airflow UI serves) or
    `target_path`. The catalog (column types, row counts) needs the warehouse; without one,
    `empty_catalog` still documents every model and column from the project."""
    args = ["docs", "generate", "--quiet"] + (["--empty-catalog", "--no-compile"] if empty_catalog else [])
    _run_dbt(project_dir, dbt_executable, *args, target_path=target_path)
    return (target_path or project_dir / "target") / "index.html"
