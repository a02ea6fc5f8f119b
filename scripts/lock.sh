#!/usr/bin/env bash
# Regenerates the committed locks. Run after editing requirements/*.in; the bootstrap then
# refreshes the venvs because the lock files changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_uv
"$UV" pip compile requirements/airflow.in \
  --constraint requirements/mwaa-2.11.2-constraints-py3.12.txt \
  --python-version 3.11 --universal --no-header -o requirements/airflow.lock
"$UV" pip compile requirements/dbt.in \
  --python-version 3.11 --universal --no-header -o requirements/dbt.lock
