#!/usr/bin/env bash
# Runs a command inside the local environment (config/local.env + derived settings):
#   scripts/with-env.sh tokyobeta settings
#   scripts/with-env.sh airflow dags list
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$@"
