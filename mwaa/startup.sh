# tokyobeta startup script for Amazon MWAA (Airflow 2.11.2). A TEMPLATE: `make package` puts the
# dbt lock in place of the placeholder line below; deploy the bundle's startup.sh, not this file.
#
# MWAA sources this script on every component (scheduler, workers, webserver) before Airflow
# starts, and gives it 5 minutes. The scheduler needs dbt as much as the workers do: cosmos
# renders the dbt task groups when it parses the DAG files. dbt lives in its own virtualenv
# (dbt-core 1.7 pins protobuf 4, Airflow on MWAA pins 5), rebuilt only when the lock or the
# Python changed, so a restart with the venv in place takes a second.
#
# Because it is sourced, it never calls `exit` nor changes shell options: a failure is reported
# and Airflow still starts (the dbt tasks then fail with the reason in their log).
# The private-network bundle ships dbt's wheels in plugins.zip: when $AIRFLOW_HOME/plugins/wheels/dbt
# exists, the venv is built from it alone (--no-index), as such an environment cannot reach PyPI.
# Knobs (environment): AIRFLOW_HOME (MWAA: /usr/local/airflow), TOKYOBETA_DBT_VENV (default
# $AIRFLOW_HOME/dbt_venv), TOKYOBETA_PYTHON (default python3); pip honours PIP_INDEX_URL etc.

tokyobeta_dbt_lock() {
  cat <<'TOKYOBETA_DBT_LOCK'
@DBT_REQUIREMENTS_LOCK@
TOKYOBETA_DBT_LOCK
}

# Every step checks its own status: `set -e` would be void here, because the caller runs this
# function as an `if` condition (and must not leave errexit on in the sourcing shell).
tokyobeta_build_dbt_venv() {
  local venv="$1" python="${TOKYOBETA_PYTHON:-python3}" started=$SECONDS interpreter want source
  local wheels="${AIRFLOW_HOME:-/usr/local/airflow}/plugins/wheels/dbt"
  local -a index=()
  if [ -d "$wheels" ]; then
    index=(--no-index --find-links "$wheels") source="the bundle's wheels in $wheels"
  else
    source="the package index"
  fi
  interpreter="$("$python" -c 'import sys; print(sys.version)' 2>&1)" \
    || { echo "tokyobeta startup: no usable Python at $python: $interpreter" >&2; return 1; }
  # The stamp names what the venv was built from: the lock and the interpreter.
  want="$( { tokyobeta_dbt_lock; echo "$interpreter"; } | sha256sum | cut -d' ' -f1)"
  if [ -x "$venv/bin/dbt" ] && [ "$(cat "$venv/.tokyobeta-lock-sha256" 2>/dev/null)" = "$want" ]; then
    echo "tokyobeta startup: dbt venv $venv is up to date (lock ${want:0:12})"
    return 0
  fi
  echo "tokyobeta startup: building dbt venv $venv (lock ${want:0:12}) with Python ${interpreter%% *} from $source"
  rm -rf "$venv" && "$python" -m venv "$venv" || return 1
  tokyobeta_dbt_lock > "$venv/requirements.lock" || return 1
  # --no-deps: the lock is complete, and skipping resolution is what keeps this fast.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${index[@]}" \
    -r "$venv/requirements.lock" || return 1
  DBT_SEND_ANONYMOUS_USAGE_STATS=False DBT_VERSION_CHECK=False "$venv/bin/dbt" --version >/dev/null || return 1
  # Written last: a build cut short leaves no stamp, so the next start builds again.
  echo "$want" > "$venv/.tokyobeta-lock-sha256" || return 1
  echo "tokyobeta startup: dbt venv ready in $((SECONDS - started)) s"
}

tokyobeta_dbt_venv="${TOKYOBETA_DBT_VENV:-${AIRFLOW_HOME:-/usr/local/airflow}/dbt_venv}"
echo "tokyobeta startup on ${MWAA_AIRFLOW_COMPONENT:-an Airflow component}"
if tokyobeta_build_dbt_venv "$tokyobeta_dbt_venv"; then
  export DBT_EXECUTABLE_PATH="$tokyobeta_dbt_venv/bin/dbt"
else
  echo "tokyobeta startup: ERROR building the dbt venv at $tokyobeta_dbt_venv; dbt tasks will fail" >&2
fi
export DBT_SEND_ANONYMOUS_USAGE_STATS=False
export DO_NOT_TRACK=1
unset tokyobeta_dbt_venv
unset -f tokyobeta_dbt_lock tokyobeta_build_dbt_venv
