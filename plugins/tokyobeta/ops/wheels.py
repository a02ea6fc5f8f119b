"""Wheels for an MWAA environment that cannot reach PyPI (the private-network bundle).

MWAA 2.11.2 runs CPython 3.12 on Amazon Linux 2023 (x86_64, glibc 2.34): a wheel installs there
when one of its tags is for CPython 3.12 (or pure Python / the stable ABI) on `any` or a
manylinux platform no newer than glibc 2.34. Wheels come from, in this order: the download cache
(so a second `make package PRIVATE_NETWORK=1` downloads nothing), the operator's wheelhouse
(for packages PyPI has no manylinux wheel of, e.g. mysqlclient), `pip download` of the locked
version, and last an sdist built here, accepted only if the result is pure Python.

Pure module: no Airflow, no boto3 (`tokyobeta package` runs it on a build machine).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

PYTHON_VERSION = "3.12"
ABI = "cp312"
ARCH = "x86_64"
# Amazon Linux 2023, the base of MWAA's 2.9+ images, ships glibc 2.34.
GLIBC_MAX = (2, 34)
# Every manylinux tag up to that glibc, spelled out: the pip of a build machine may not expand
# `manylinux_2_34` to the older tags (pip 23 does not, and would miss a manylinux_2_28 wheel).
PIP_PLATFORMS = (f"manylinux1_{ARCH}", f"manylinux2010_{ARCH}", f"manylinux2014_{ARCH}",
                 *(f"manylinux_2_{minor}_{ARCH}" for minor in range(5, GLIBC_MAX[1] + 1)))
# pip's markers of the target, for the `; python_full_version >= '3.12'` lines of a lock.
MARKER_ENV = {"python_version": "3.12", "python_full_version": "3.12.1", "implementation_name": "cpython",
              "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
              "platform_machine": ARCH, "os_name": "posix", "extra": ""}
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# Some sdists build optional C speedups when they can; these switches make them build pure
# Python (which is also what they fall back to at run time without the extension).
PURE_BUILD_ENV = {"logbook": {"DISABLE_LOGBOOK_CEXT": "1"}}
# pip settings that would let a build machine's own mirrors or wheel folders stand in for PyPI.
_PIP_ENV_KEPT = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "PIP_PROXY",
                 "PIP_TRUSTED_HOST", "PIP_RETRIES"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;([^\\#]*))?")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


class WheelError(RuntimeError):
    """A wheel cannot be had for the target; the message names the package and the fix."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: frozenset[str] = field(default_factory=frozenset)

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"


def read_lock(path: Path) -> list[Pin]:
    """The `name==version` lines of a pip-compile / uv lock whose marker holds on the target,
    with the sha256 hashes the lock gives (if any)."""
    pins: list[Pin] = []
    current: tuple[str, str, set[str]] | None = None
    for line in path.read_text().splitlines() + [""]:
        stripped = line.strip()
        match = _PIN.match(stripped)
        if match or not line.startswith((" ", "\t")):
            if current:
                pins.append(Pin(current[0], current[1], frozenset(current[2])))
            current = None
        if match:
            name, version, marker = match.groups()
            if marker and marker.strip() and not Marker(marker.strip()).evaluate(MARKER_ENV):
                continue
            current = (str(canonicalize_name(name)), version, set(_HASH.findall(stripped)))
        elif current:
            current[2].update(_HASH.findall(stripped))
    return pins


def lock_graph(path: Path) -> dict[str, set[str]]:
    """package -> the packages it depends on, from the `# via` comments of a pip-compile lock
    (`-r`/`-c` origins are not packages)."""
    needs: dict[str, set[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match and not line.startswith((" ", "\t")):
            current = str(canonicalize_name(match.group(1)))
            needs.setdefault(current, set())
            continue
        comment = line.strip().lstrip("#").strip()
        if current and comment.startswith("via "):
            comment = comment[4:].strip()
        if current and comment and comment != "via" and not comment.startswith(("-r ", "-c ")):
            needs.setdefault(str(canonicalize_name(comment)), set()).add(current)
    return needs


def closure(roots: Iterable[str], needs: dict[str, set[str]], stop: Iterable[str] = ()) -> set[str]:
    """roots and everything they need, not descending into (nor including) `stop`."""
    stop, seen = {str(canonicalize_name(s)) for s in stop}, set()
    todo = [str(canonicalize_name(r)) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name in stop:
            continue
        seen.add(name)
        todo.extend(needs.get(name, ()))
    return seen


def _glibc(platform: str) -> tuple[int, int] | None:
    for legacy, version in _LEGACY_MANYLINUX.items():
        if platform == f"{legacy}_{ARCH}":
            return version
    match = re.fullmatch(rf"manylinux_(\d+)_(\d+)_{ARCH}", platform)
    return (int(match.group(1)), int(match.group(2))) if match else None


def tag_fits(tag: Tag) -> bool:
    """Whether one wheel tag installs on MWAA 2.11.2 (CPython 3.12, Linux x86_64, glibc 2.34)."""
    if tag.abi == "none":
        python_ok = tag.interpreter in {"py3", "py312", "cp312"}
    elif tag.abi == ABI:
        python_ok = tag.interpreter == "cp312"
    elif tag.abi == "abi3":
        minor = re.fullmatch(r"cp3(\d+)", tag.interpreter)
        python_ok = bool(minor) and int(minor.group(1)) <= 12
    else:
        python_ok = False
    if not python_ok:
        return False
    if tag.platform == "any":
        return True
    glibc = _glibc(tag.platform)
    return glibc is not None and glibc <= GLIBC_MAX


def wheel_fits(filename: str) -> bool:
    _, _, _, tags = parse_wheel_filename(filename)
    return any(tag_fits(tag) for tag in tags)


def is_pure(filename: str) -> bool:
    _, _, _, tags = parse_wheel_filename(filename)
    return all(tag.abi == "none" and tag.platform == "any" for tag in tags)


def _matches(path: Path, pin: Pin) -> bool:
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except ValueError:
        return False
    return str(name) == pin.name and version == Version(pin.version)


def find_wheel(folder: Path, pin: Pin) -> Path | None:
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.whl")):
        if _matches(path, pin) and wheel_fits(path.name):
            return path
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pip_env() -> dict[str, str]:
    """The environment pip runs in here: the machine's pip.conf, find-links and extra indexes
    are switched off, so what the bundle gets comes from PyPI (or PIP_INDEX_URL) alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in _PIP_ENV_KEPT}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _pip(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=env)


def _download(pins: list[Pin], cache: Path) -> subprocess.CompletedProcess:
    platforms = [arg for p in PIP_PLATFORMS for arg in ("--platform", p)]
    return _pip(["download", "--quiet", "--no-deps", "--only-binary=:all:", *platforms,
                 "--python-version", PYTHON_VERSION, "--implementation", "cp", "--abi", ABI,
                 "--dest", str(cache), *(p.spec for p in pins)], pip_env())


def _build_pure(pin: Pin, cache: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="tokyobeta-sdist-") as scratch:
        env = {**pip_env(), **PURE_BUILD_ENV.get(pin.name, {})}
        built = _pip(["wheel", "--quiet", "--no-deps", "--no-binary", pin.name, "--wheel-dir", scratch, pin.spec], env)
        wheels = list(Path(scratch).glob("*.whl"))
        if built.returncode != 0 or len(wheels) != 1:
            raise WheelError(f"{pin.spec}: PyPI has no wheel for CPython {PYTHON_VERSION} manylinux {ARCH}, and its "
                             f"sdist did not build here:\n{built.stderr.strip()[-2000:]}\n{_FIX.format(pin=pin)}")
        [wheel] = wheels
        if not is_pure(wheel.name) and not has_compiled_code(wheel):
            wheel = retag_pure(wheel)
        if not is_pure(wheel.name):
            raise WheelError(f"{pin.spec}: PyPI has no wheel for CPython {PYTHON_VERSION} manylinux {ARCH}, and its sdist "
                             f"builds a compiled wheel ({wheel.name}) that is not portable to MWAA. "
                             + _FIX.format(pin=pin))
        return Path(shutil.copy2(wheel, cache / wheel.name))


_COMPILED = (".so", ".pyd", ".dll", ".dylib")


def has_compiled_code(wheel: Path) -> bool:
    with zipfile.ZipFile(wheel) as zf:
        return any(name.endswith(_COMPILED) or ".so." in name for name in zf.namelist())


def retag_pure(wheel: Path) -> Path:
    """A copy of a wheel that holds no compiled code, tagged py3-none-any. Some setup.py files
    (Logbook's) claim a C extension even when they build none, which tags a pure wheel
    cp3xx-linux_x86_64: the tag, not the content, is what is wrong."""
    name, version, build, _ = parse_wheel_filename(wheel.name)
    stem = wheel.name.split("-")[0]
    out = wheel.with_name(f"{stem}-{version}{f'-{build[0]}{build[1]}' if build else ''}-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        members = {info.filename: src.read(info) for info in src.infolist()}
        [meta] = [n for n in members if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")]
        lines = [line for line in members[meta].decode().splitlines()
                 if not line.startswith(("Tag:", "Root-Is-Purelib:"))]
        members[meta] = ("\n".join(lines + ["Root-Is-Purelib: true", "Tag: py3-none-any"]) + "\n").encode()
        record = meta.rsplit("/", 1)[0] + "/RECORD"
        rows = []
        for row in members[record].decode().splitlines():
            path = row.split(",", 1)[0]
            if path == meta:
                digest = base64.urlsafe_b64encode(hashlib.sha256(members[meta]).digest()).rstrip(b"=").decode()
                row = f"{meta},sha256={digest},{len(members[meta])}"
            rows.append(row)
        members[record] = ("\n".join(rows) + "\n").encode()
        for member, data in members.items():
            dst.writestr(member, data)
    return out


_FIX = ("Fix: build a manylinux wheel of {pin.spec} for CPython 3.12 x86_64 (glibc <= 2.34), e.g. "
        "`scripts/private-wheelhouse.sh` (pip wheel + auditwheel repair) or `pip wheel` inside MWAA's image "
        "(aws/amazon-mwaa-docker-images 2.11.2), and put it in the wheelhouse folder "
        "(PRIVATE_WHEELHOUSE, or `tokyobeta package --wheelhouse DIR`).")


def collect(pins: Iterable[Pin], dest: Path, cache: Path, wheelhouse: Path | None = None,
            log: Callable[[str], None] = print) -> list[Path]:
    """One wheel per pin in dest/, each fitting MWAA's Python and platform. Raises WheelError
    naming the package when there is none, or when a file's hash differs from the lock's."""
    pins = list(pins)
    cache.mkdir(parents=True, exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    found: dict[Pin, Path] = {}
    for pin in pins:
        hit = find_wheel(cache, pin) or (find_wheel(wheelhouse, pin) if wheelhouse else None)
        if hit:
            found[pin] = hit
    missing = [pin for pin in pins if pin not in found]
    if missing:
        log(f"downloading {len(missing)} wheels for CPython {PYTHON_VERSION} manylinux {ARCH} into {cache}")
        # One pip run for all of them is fast; when it fails, one run each tells which failed.
        if _download(missing, cache).returncode != 0:
            for pin in missing:
                if _download([pin], cache).returncode != 0:
                    log(f"  {pin.spec}: no wheel on the index; building its sdist (accepted only if pure Python)")
                    _build_pure(pin, cache)
        for pin in missing:
            hit = find_wheel(cache, pin)
            if hit is None:
                raise WheelError(f"{pin.spec}: pip fetched no wheel that fits CPython {PYTHON_VERSION} manylinux "
                                 f"{ARCH} into {cache}. " + _FIX.format(pin=pin))
            found[pin] = hit
    out = []
    for pin in pins:
        path = found[pin]
        if pin.hashes and sha256_of(path) not in pin.hashes:
            raise WheelError(f"{path.name}: sha256 {sha256_of(path)} is not one the lock allows for {pin.spec}; "
                             f"delete it from {path.parent} and package again (or fix the lock)")
        out.append(Path(shutil.copy2(path, dest / path.name)))
    return out
