#!/usr/bin/env bash
# Brings this machine to a runnable local stack. Idempotent: every step checks before it acts,
# so a second run takes seconds. Called by `make bootstrap` (and so by demo, test and run).
#   scripts/bootstrap.sh --py312   the same stack with the Python 3.12 venvs (`make test-py312`)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") ;;
  # Set before env.sh, which points VENV_AIRFLOW and VENV_DBT at the lane's venvs.
  --py312) export TOKYOBETA_PYTHON_LANE=3.12 ;;
  *) echo "usage: $0 [--py312]" >&2; exit 2 ;;
esac
source scripts/env.sh

APT_PACKAGES=(default-libmysqlclient-dev pkg-config build-essential mariadb-server mariadb-client
              postgresql docker-compose
              # the operator-UI test drives this browser headless (Playwright never downloads one)
              chromium chromium-driver)

ensure_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing apt packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

mysql_admin() {
  mariadb --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" \
    ${MYSQL_ADMIN_PASSWORD:+-p"$MYSQL_ADMIN_PASSWORD"} "$@"
}

ensure_mariadb() {
  if ! mysql_admin -e 'SELECT 1' >/dev/null 2>&1; then
    log "MariaDB not answering on $MYSQL_HOST:$MYSQL_PORT; starting it"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 60); do mysql_admin -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
    mysql_admin -e 'SELECT 1' >/dev/null || die "MariaDB did not start; see /var/log/mysql/"
  fi
}

ensure_postgres() {
  if ! pg_isready -q -h "$AIRFLOW_DB_HOST" -p "$AIRFLOW_DB_PORT"; then
    log "PostgreSQL not answering; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 30); do pg_isready -q -h "$AIRFLOW_DB_HOST" -p "$AIRFLOW_DB_PORT" && break; sleep 1; done
  fi
  if ! psql -h "$AIRFLOW_DB_HOST" -p "$AIRFLOW_DB_PORT" -U "$AIRFLOW_DB_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$AIRFLOW_DB_NAME'" | grep -q 1; then
    log "creating Airflow metadata database $AIRFLOW_DB_NAME"
    psql -h "$AIRFLOW_DB_HOST" -p "$AIRFLOW_DB_PORT" -U "$AIRFLOW_DB_USER" -d postgres -qc \
      "CREATE DATABASE \"$AIRFLOW_DB_NAME\""
  fi
}

# A venv is rebuilt only when the inputs that define it change, the interpreter among them.
sync_venv() {
  local venv="$1" lock="$2"; shift 2
  local python="${VENV_PYTHON:-python3}" interpreter stamp
  interpreter="$("$python" -c 'import sys; print(sys.version)')" || die "no usable Python at $python"
  stamp="$( { cat "$lock" "$@"; echo "$interpreter"; } | sha256sum | cut -d' ' -f1)"
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$stamp" ]; then return 0; fi
  log "syncing $venv from $lock (Python ${interpreter%% *})"
  # A venv of another interpreter cannot be synced in place: its site-packages is per version.
  if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import sys; print(sys.version)')" != "$interpreter" ]; then
    rm -rf "$venv"
  fi
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  # Bytecode compiled at install: without it every Airflow process compiles thousands of
  # modules at start (it doubled the DAG file parse time).
  "$UV" pip sync --quiet --compile-bytecode --python "$venv/bin/python" "$lock"
  echo "$stamp" > "$venv/.stamp.pending"
  return 1
}

ensure_venvs() {
  ensure_uv
  if [ "${TOKYOBETA_PYTHON_LANE:-}" = 3.12 ]; then VENV_PYTHON="$(python312)"; fi
  if ! sync_venv "$VENV_AIRFLOW" requirements/airflow.lock pyproject.toml; then
    "$UV" pip install --quiet --python "$VENV_AIRFLOW/bin/python" --no-deps -e .
    mv "$VENV_AIRFLOW/.stamp.pending" "$VENV_AIRFLOW/.stamp"
  fi
  if ! sync_venv "$VENV_DBT" requirements/dbt.lock; then
    mv "$VENV_DBT/.stamp.pending" "$VENV_DBT/.stamp"
  fi
}

ensure_moto() {
  local dir="$TOKYOBETA_LOCAL/moto"
  mkdir -p "$dir"
  if curl -fs -o /dev/null "$MOTO_ENDPOINT/moto-api/"; then return 0; fi
  log "starting moto server on $MOTO_ENDPOINT (log: $dir/moto.log)"
  setsid nohup "$VENV_AIRFLOW/bin/moto_server" -H "$MOTO_HOST" -p "$MOTO_PORT" \
    >"$dir/moto.log" 2>&1 < /dev/null &
  echo $! > "$dir/moto.pid"
  for _ in $(seq 50); do curl -fs -o /dev/null "$MOTO_ENDPOINT/moto-api/" && return 0; sleep 0.2; done
  die "moto server did not start; see $dir/moto.log"
}

main() {
  mkdir -p "$TOKYOBETA_LOCAL"
  ensure_apt_packages
  ensure_mariadb
  ensure_postgres
  ensure_venvs
  ensure_moto
  scripts/init-stack.sh
  log "bootstrap done"
}

main "$@"
