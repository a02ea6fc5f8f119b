"""The MWAA release bundle: everything one commit deploys, laid out as MWAA reads it.

    dist/tokyobeta-<commit>/
      dags/                   every file under the repository's dags/ (DAG files, .airflowignore)
      dags/include/           sql/ and the dbt project, with the prebuilt manifest and dbt docs
                              in dags/include/dbt/target/ (settings.INCLUDE_DIR's MWAA default)
      plugins.zip             the tokyobeta package, the Airflow plugin entry file and
                              .airflowignore at the zip root (MWAA unzips it into plugins/)
      requirements.txt        MWAA style, with the --constraint line of Airflow 2.11.2
      startup.sh              builds dbt's virtualenv on every component (dbt lock embedded)
      RELEASE.json            which commit this is
      SHA256SUMS              `sha256sum -c` list of every other file

The private-network variant (`tokyobeta package --private-network`, for an MWAA environment
that cannot reach PyPI) also puts into plugins.zip, which MWAA unzips into
/usr/local/airflow/plugins:
      wheels/airflow/         a wheel of every package requirements.txt needs that MWAA's image
                              (requirements/mwaa-2.11.2-image.txt) does not already hold
      wheels/dbt/             a wheel of every package of requirements/dbt.lock
      wheels/mwaa-2.11.2-constraints-py3.12.txt   the constraints (their URL is unreachable too)
and its requirements.txt installs with `--no-index --find-links` those wheels; startup.sh
installs dbt from wheels/dbt/ when that folder exists (one template for both variants).

Nothing here talks to AWS: `ops/deploy.py` uploads a bundle built by this module.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tokyobeta.ops import wheels
from tokyobeta.ops.wheels import sha256_of

CHECKSUMS = "SHA256SUMS"
RELEASE_INFO = "RELEASE.json"
PLUGIN_ENTRY_FILES = (".airflowignore", "tokyobeta_plugin.py")
DBT_DOCS_FILES = ("manifest.json", "catalog.json", "index.html")
STARTUP_TEMPLATE = Path("mwaa") / "startup.sh"
DBT_LOCK_PLACEHOLDER = "@DBT_REQUIREMENTS_LOCK@"
MWAA_PLUGINS_DIR = "/usr/local/airflow/plugins"
AIRFLOW_WHEELS = "wheels/airflow"
DBT_WHEELS = "wheels/dbt"
CONSTRAINTS = "mwaa-2.11.2-constraints-py3.12.txt"
CONSTRAINTS_URL = "https://raw.githubusercontent.com/apache/airflow/constraints-2.11.2/constraints-3.12.txt"
IMAGE_REQUIREMENTS = "mwaa-2.11.2-image.txt"
_SKIP_DIRS = {"__pycache__", ".pytest_cache"}
_SKIP_DBT_DIRS = {"target", "logs", "dbt_packages"}
# Fixed zip timestamps: the same commit gives a byte-identical plugins.zip (and checksum).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class ReleaseError(RuntimeError):
    """A bundle cannot be built or trusted; the message names the file and the fix."""


@dataclass(frozen=True)
class Commit:
    sha: str
    dirty: bool

    @property
    def release_id(self) -> str:
        return f"{self.sha}-dirty" if self.dirty else self.sha

    def release_name(self, private_network: bool = False) -> str:
        """The bundle's folder and S3 release prefix. The private variant of a commit is another
        release: both can sit in dist/ and in the immutable releases/ prefix side by side."""
        return f"{self.release_id}-private" if private_network else self.release_id


def git_commit(repo: Path) -> Commit:
    """HEAD of the repository, and whether files that go into a bundle differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        changes = git("status", "--porcelain", "--", "dags", "plugins", "include", "mwaa",
                      "requirements.txt", "requirements")
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ReleaseError(f"{repo} is not a git checkout ({exc}); a release is named by its commit") from exc
    return Commit(sha, bool(changes))


def _files_under(root: Path, skip_dirs: set[str]) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not skip_dirs & set(rel.parts[:-1]) and path.suffix != ".pyc":
            out.append(rel)
    return out


def _copy_tree(src: Path, dest: Path, skip_dirs: set[str]) -> None:
    for rel in _files_under(src, skip_dirs):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest / rel)


def build_plugins_zip(plugins_dir: Path, zip_path: Path, extra: dict[str, Path] | None = None) -> list[str]:
    """The tokyobeta package plus the plugin entry files, at the zip root; `extra` maps more
    zip members (the private bundle's wheels) to their files."""
    names: list[str] = []
    for name in PLUGIN_ENTRY_FILES:
        if not (plugins_dir / name).is_file():
            raise ReleaseError(f"{plugins_dir / name} is missing: plugins.zip needs it at its root")
    members = [Path(n) for n in PLUGIN_ENTRY_FILES]
    members += [Path("tokyobeta") / rel for rel in _files_under(plugins_dir / "tokyobeta", _SKIP_DIRS)]
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel in members:
            info = zipfile.ZipInfo(rel.as_posix(), date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (plugins_dir / rel).read_bytes())
            names.append(rel.as_posix())
        for name, path in sorted((extra or {}).items()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            # Wheels are zips already: deflating them again costs time and saves nothing.
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
            names.append(name)
    return names


def private_requirements(text: str, plugins_dir: str = MWAA_PLUGINS_DIR) -> str:
    """requirements.txt of the private bundle: the same requirements, installed from the wheels
    in plugins.zip with no index, under the constraints shipped beside them."""
    constraint = f'--constraint "{CONSTRAINTS_URL}"'
    lines = text.splitlines()
    if constraint not in lines:
        raise ReleaseError(f"requirements.txt has no line {constraint}: the private bundle replaces it by the "
                           f"local copy requirements/{CONSTRAINTS}; restore the line")
    header = ["# Private-network bundle: MWAA installs this with no index, from the wheels plugins.zip unpacks",
              f"# into {plugins_dir}/ (built by `tokyobeta package --private-network`).",
              "--no-index", f"--find-links {plugins_dir}/{AIRFLOW_WHEELS}"]
    body = [f'--constraint "{plugins_dir}/wheels/{CONSTRAINTS}"' if line == constraint else line for line in lines]
    return "\n".join(header + body) + "\n"


def airflow_side_pins(repo: Path) -> list:
    """The locked packages requirements.txt needs that MWAA's image does not hold: everything
    reachable from requirements.txt in airflow.lock's dependency graph, not descending into what
    is reachable from the image's packages (requirements/mwaa-2.11.2-image.txt)."""

    lock = repo / "requirements" / "airflow.lock"
    graph = wheels.lock_graph(lock)
    image_roots = [_requirement_name(line) for line in (repo / "requirements" / IMAGE_REQUIREMENTS).read_text().splitlines()]
    image = wheels.closure([n for n in image_roots if n], graph)
    wanted_roots = [_requirement_name(line) for line in (repo / "requirements.txt").read_text().splitlines()]
    wanted = wheels.closure([n for n in wanted_roots if n], graph, stop=image)
    pins = {pin.name: pin for pin in wheels.read_lock(lock)}
    unlocked = sorted(wanted - set(pins))
    if unlocked:
        raise ReleaseError(f"{unlocked} are needed by requirements.txt but not pinned in {lock}; run `make lock`")
    return [pins[name] for name in sorted(wanted)]


def _requirement_name(line: str) -> str | None:
    from packaging.utils import canonicalize_name

    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    for sep in ("[", "=", "<", ">", "~", "!", ";", " "):
        line = line.split(sep, 1)[0]
    return str(canonicalize_name(line))


def collect_private_wheels(repo: Path, cache: Path, wheelhouse: Path | None, scratch: Path) -> dict[str, Path]:
    """The zip members of the private bundle: wheels for both sides and the constraints file."""

    try:
        airflow = wheels.collect(airflow_side_pins(repo), scratch / "airflow", cache, wheelhouse)
        dbt = wheels.collect(wheels.read_lock(repo / "requirements" / "dbt.lock"), scratch / "dbt", cache, wheelhouse)
    except wheels.WheelError as exc:
        raise ReleaseError(str(exc)) from exc
    members = {f"{AIRFLOW_WHEELS}/{p.name}": p for p in airflow}
    members.update({f"{DBT_WHEELS}/{p.name}": p for p in dbt})
    members[f"wheels/{CONSTRAINTS}"] = repo / "requirements" / CONSTRAINTS
    return members


def render_startup_script(template: Path, dbt_lock: Path) -> str:
    text = template.read_text()
    if DBT_LOCK_PLACEHOLDER not in text:
        raise ReleaseError(f"{template} has no {DBT_LOCK_PLACEHOLDER} line for the dbt lock")
    lock = dbt_lock.read_text().strip()
    if "TOKYOBETA_DBT_LOCK" in lock:
        raise ReleaseError(f"{dbt_lock} contains the heredoc delimiter TOKYOBETA_DBT_LOCK")
    return text.replace(DBT_LOCK_PLACEHOLDER, lock)


def generate_dbt_docs(project_dir: Path, dbt_executable: str, env: dict[str, str], log_dir: Path) -> None:
    """`dbt docs generate` into the bundle's target/: the manifest cosmos renders from, and the
    docs site (index.html, catalog.json) the Airflow UI serves. The catalog reads the database
    the profile points at, so this needs the warehouse (locally: the local stack)."""
    if not Path(dbt_executable).exists():
        raise ReleaseError(f"dbt not found at {dbt_executable}; set DBT_EXECUTABLE_PATH (make bootstrap builds it)")
    target = project_dir / "target"
    subprocess.run(
        [dbt_executable, "docs", "generate", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--target-path", str(target), "--log-path", str(log_dir), "--quiet"],
        check=True, env=env, cwd=project_dir)
    for path in target.iterdir():
        if path.name not in DBT_DOCS_FILES:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    missing = [name for name in DBT_DOCS_FILES if not (target / name).is_file()]
    if missing:
        raise ReleaseError(f"dbt docs generate did not write {missing} in {target}")


def write_checksums(bundle: Path) -> dict[str, str]:
    sums = {rel.as_posix(): sha256_of(bundle / rel) for rel in _files_under(bundle, set()) if rel.name != CHECKSUMS}
    (bundle / CHECKSUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))
    return sums


def read_checksums(bundle: Path) -> dict[str, str]:
    path = bundle / CHECKSUMS
    if not path.is_file():
        raise ReleaseError(f"{path} is missing: rebuild the bundle with `make package`")
    sums = {}
    for line in path.read_text().splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    return sums


def verify_bundle(bundle: Path) -> dict[str, str]:
    """Every file listed with its checksum, and no file that is not listed."""
    sums = read_checksums(bundle)
    present = {rel.as_posix() for rel in _files_under(bundle, set()) if rel.name != CHECKSUMS}
    unlisted, absent = present - set(sums), set(sums) - present
    changed = sorted(name for name in set(sums) & present if sha256_of(bundle / name) != sums[name])
    if unlisted or absent or changed:
        raise ReleaseError(f"bundle {bundle} does not match its {CHECKSUMS}: changed {changed}, "
                           f"not listed {sorted(unlisted)}, missing {sorted(absent)}; rebuild it with `make package`")
    return sums


def release_info(bundle: Path) -> dict:
    path = bundle / RELEASE_INFO
    if not path.is_file():
        raise ReleaseError(f"{path} is missing: {bundle} is not a release bundle (build one with `make package`)")
    return json.loads(path.read_text())


def build_bundle(repo: Path, out_dir: Path, commit: Commit, dbt_executable: str,
                 dbt_env: dict[str, str] | None = None, *, private_network: bool = False,
                 wheel_cache: Path | None = None, wheelhouse: Path | None = None) -> Path:
    """Builds out_dir/tokyobeta-<release id>/ from the repository's working tree. A bundle that
    already exists is rebuilt from scratch, never patched. private_network: the variant that
    installs with no index (wheels in plugins.zip; wheel_cache keeps downloads between builds,
    wheelhouse holds wheels PyPI has none of)."""
    name = commit.release_name(private_network)
    bundle = out_dir / f"tokyobeta-{name}"
    if bundle.exists():
        shutil.rmtree(bundle)
    staging = out_dir / f".{bundle.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)

    dag_files = [p for p in (repo / "dags").glob("*.py")]
    if not dag_files:
        raise ReleaseError(f"no DAG files in {repo / 'dags'}")
    _copy_tree(repo / "dags", staging / "dags", _SKIP_DIRS)
    include = staging / "dags" / "include"
    _copy_tree(repo / "include" / "sql", include / "sql", _SKIP_DIRS)
    _copy_tree(repo / "include" / "dbt", include / "dbt", _SKIP_DIRS | _SKIP_DBT_DIRS)
    env = {**os.environ, **(dbt_env or {}), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    with tempfile.TemporaryDirectory(prefix="tokyobeta-dbt-logs-") as log_dir:
        generate_dbt_docs(include / "dbt", dbt_executable, env, Path(log_dir))

    requirements = (repo / "requirements.txt").read_text()
    if private_network:
        if wheel_cache is None:
            raise ReleaseError("a private-network bundle needs a wheel cache folder")
        with tempfile.TemporaryDirectory(prefix="tokyobeta-wheels-") as scratch:
            extra = collect_private_wheels(repo, wheel_cache, wheelhouse, Path(scratch))
            build_plugins_zip(repo / "plugins", staging / "plugins.zip", extra)
        (staging / "requirements.txt").write_text(private_requirements(requirements))
    else:
        build_plugins_zip(repo / "plugins", staging / "plugins.zip")
        shutil.copy2(repo / "requirements.txt", staging / "requirements.txt")
    startup = staging / "startup.sh"
    startup.write_text(render_startup_script(repo / STARTUP_TEMPLATE, repo / "requirements" / "dbt.lock"))
    startup.chmod(0o755)
    (staging / RELEASE_INFO).write_text(json.dumps(
        {"release": name, "commit": commit.sha, "dirty": commit.dirty,
         "network": "private" if private_network else "public",
         "dags": sorted(p.name for p in dag_files)}, indent=2) + "\n")
    write_checksums(staging)
    staging.rename(bundle)
    return bundle
