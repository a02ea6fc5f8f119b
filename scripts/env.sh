# Sourced by every local script (and by the docker-compose services): loads config/local.env
# and derives the rest of the environment (Airflow home, connections, endpoints) from it, so
# one file holds every name. Anything already set in the environment wins.
# shellcheck shell=bash

TOKYOBETA_ROOT="${TOKYOBETA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export TOKYOBETA_ROOT

# Values already in the environment win, so CI or a developer can point at other services.
# .local/env (git-ignored, optional) holds this checkout's own overrides, e.g. a second
# worktree using its own schemas, bucket and Airflow database on the same machine.
_load_env_file() {
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '#'*|'') continue ;; esac
    key="${line%%=*}"
    [ -n "${!key+x}" ] || export "$key=${line#*=}"
  done < "$1"
}
[ -f "$TOKYOBETA_ROOT/.local/env" ] && _load_env_file "$TOKYOBETA_ROOT/.local/env"
_load_env_file "$TOKYOBETA_ROOT/config/local.env"

: "${TOKYOBETA_LOCAL:=$TOKYOBETA_ROOT/.local}"; export TOKYOBETA_LOCAL
: "${VENV_TOOLS:=$TOKYOBETA_LOCAL/venvs/tools}"; export VENV_TOOLS
# The Python 3.12 lane (`make test-py312`, MWAA's Python) has venvs of its own; all else is shared.
case "${TOKYOBETA_PYTHON_LANE:-}" in
  "") ;;
  3.12) : "${VENV_AIRFLOW:=$TOKYOBETA_LOCAL/venvs/airflow312}" "${VENV_DBT:=$TOKYOBETA_LOCAL/venvs/dbt312}" ;;
  *) echo "TOKYOBETA_PYTHON_LANE=$TOKYOBETA_PYTHON_LANE: the only lane besides the default is 3.12" >&2; return 1 ;;
esac
: "${VENV_AIRFLOW:=$TOKYOBETA_LOCAL/venvs/airflow}"; export VENV_AIRFLOW
: "${VENV_DBT:=$TOKYOBETA_LOCAL/venvs/dbt}"; export VENV_DBT
: "${UV:=$VENV_TOOLS/bin/uv}"; export UV
# wheels PyPI has none of for MWAA, built by scripts/private-wheelhouse.sh (private-network bundle)
: "${PRIVATE_WHEELHOUSE:=$TOKYOBETA_LOCAL/wheelhouse}"; export PRIVATE_WHEELHOUSE
export PATH="$VENV_AIRFLOW/bin:$PATH"

# --- AWS: everything goes to the local moto server, never to a real account ---
: "${MOTO_ENDPOINT:=http://$MOTO_HOST:$MOTO_PORT}"; export MOTO_ENDPOINT
: "${AWS_ENDPOINT_URL:=$MOTO_ENDPOINT}"; export AWS_ENDPOINT_URL
# A task's S3 buttons open a presigned moto URL: there is no S3 console locally.
: "${S3_LINKS:=presigned}"; export S3_LINKS
export ALERT_TOPIC_ARN="${ALERT_TOPIC_ARN:-arn:aws:sns:$AWS_DEFAULT_REGION:$AWS_ACCOUNT_ID:$ALERT_TOPIC_NAME}"
# botocore models the local stack needs (CloudWatch over the Query protocol that moto 5.0.11
# parses); written by `tokyobeta local-aws-init`, see ops/localstack.py.
: "${AWS_DATA_PATH:=$TOKYOBETA_LOCAL/aws-models}"; export AWS_DATA_PATH
export AIRFLOW_CONN_AWS_DEFAULT="{\"conn_type\": \"aws\", \"login\": \"$AWS_ACCESS_KEY_ID\", \"password\": \"$AWS_SECRET_ACCESS_KEY\", \"extra\": {\"region_name\": \"$AWS_DEFAULT_REGION\", \"endpoint_url\": \"$MOTO_ENDPOINT\"}}"
export AIRFLOW_CONN_TOKYOBETA_MYSQL="{\"conn_type\": \"mysql\", \"host\": \"$MYSQL_HOST\", \"port\": $MYSQL_PORT, \"login\": \"$TOKYOBETA_DB_USER\", \"password\": \"$TOKYOBETA_DB_PASSWORD\", \"schema\": \"staging\"}"

# --- Airflow ---
: "${AIRFLOW_HOME:=$TOKYOBETA_LOCAL/airflow}"; export AIRFLOW_HOME
: "${AIRFLOW__CORE__DAGS_FOLDER:=$TOKYOBETA_ROOT/dags}"; export AIRFLOW__CORE__DAGS_FOLDER
: "${AIRFLOW__CORE__PLUGINS_FOLDER:=$TOKYOBETA_ROOT/plugins}"; export AIRFLOW__CORE__PLUGINS_FOLDER
: "${AIRFLOW__CORE__LOAD_EXAMPLES:=False}"; export AIRFLOW__CORE__LOAD_EXAMPLES
: "${AIRFLOW__CORE__EXECUTOR:=LocalExecutor}"; export AIRFLOW__CORE__EXECUTOR
: "${AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE:=True}"; export AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE
: "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:=postgresql+psycopg2://$AIRFLOW_DB_USER@$AIRFLOW_DB_HOST:$AIRFLOW_DB_PORT/$AIRFLOW_DB_NAME}"; export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
: "${AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS:=False}"; export AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS
: "${AIRFLOW__WEBSERVER__WEB_SERVER_PORT:=$AIRFLOW_WEBSERVER_PORT}"; export AIRFLOW__WEBSERVER__WEB_SERVER_PORT
: "${AIRFLOW__WEBSERVER__BASE_URL:=http://127.0.0.1:$AIRFLOW_WEBSERVER_PORT}"; export AIRFLOW__WEBSERVER__BASE_URL
# basic auth on the REST API (local stack only): `tokyobeta backfill --target local` talks to it
: "${AIRFLOW__API__AUTH_BACKENDS:=airflow.api.auth.backend.session,airflow.api.auth.backend.basic_auth}"; export AIRFLOW__API__AUTH_BACKENDS
: "${AIRFLOW__USAGE_DATA_COLLECTION__ENABLED:=False}"; export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED
: "${AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY:=True}"; export AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY
: "${SCARF_ANALYTICS:=false}"; export SCARF_ANALYTICS
: "${AIRFLOW__COSMOS__ENABLE_TELEMETRY:=False}"; export AIRFLOW__COSMOS__ENABLE_TELEMETRY
: "${AIRFLOW__COSMOS__CACHE_DIR:=$TOKYOBETA_LOCAL/cosmos-cache}"; export AIRFLOW__COSMOS__CACHE_DIR

# --- dbt (its own virtualenv) ---
: "${DBT_EXECUTABLE_PATH:=$VENV_DBT/bin/dbt}"; export DBT_EXECUTABLE_PATH
: "${DBT_SEND_ANONYMOUS_USAGE_STATS:=False}"; export DBT_SEND_ANONYMOUS_USAGE_STATS
: "${DO_NOT_TRACK:=1}"; export DO_NOT_TRACK

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ensure_uv() {
  local want="0.10.7"  # the uv that MWAA 2.11.2's constraints pin
  if [ ! -x "$UV" ] || [ "$("$UV" --version | awk '{print $2}')" != "$want" ]; then
    log "installing uv $want into $VENV_TOOLS"
    python3 -m venv "$VENV_TOOLS"
    "$VENV_TOOLS/bin/pip" install --quiet "uv==$want"
  fi
}

# The interpreter of the Python 3.12 lane: MWAA 2.11.2 runs CPython 3.12, and this machine kind
# ships 3.12.1 under pyenv.
python312() {
  local want=3.12.1 pyenv prefix
  # Only interactive shells put pyenv on PATH (~/.bashrc); CI's shell may not have read it.
  pyenv="$(command -v pyenv || echo "${PYENV_ROOT:-$HOME/.pyenv}/bin/pyenv")"
  [ -x "$pyenv" ] \
    || die "the Python 3.12 lane needs pyenv with CPython $want, and there is no pyenv (PATH, \$PYENV_ROOT/bin):" \
           "install pyenv (https://github.com/pyenv/pyenv#installation), then run 'pyenv install $want'"
  prefix="$("$pyenv" prefix "$want" 2>/dev/null)" && [ -x "$prefix/bin/python3" ] \
    || die "the Python 3.12 lane needs CPython $want and pyenv does not have it: run 'pyenv install $want'"
  echo "$prefix/bin/python3"
}
