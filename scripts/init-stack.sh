#!/usr/bin/env bash
# Creates what the pipeline needs inside running services: MySQL schemas and users, the Airflow
# metadata schema, the local AWS resources and the dbt manifest. Idempotent. Called by
# scripts/bootstrap.sh on this machine and by the airflow-init service of docker-compose.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

mysql_admin() {
  mariadb --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_ADMIN_USER" \
    ${MYSQL_ADMIN_PASSWORD:+-p"$MYSQL_ADMIN_PASSWORD"} "$@"
}

ensure_mysql_schemas() {
  # Schemas of DESIGN section 4, for the demo (SCHEMA_PREFIX, "") and the tests (TEST_SCHEMA_PREFIX,
  # "test_"): a second checkout with its own prefixes never touches these. Grants use a
  # leading wildcard so any SCHEMA_PREFIX (e.g. a second worktree) works without new grants.
  local sql="" schema
  for prefix in "${SCHEMA_PREFIX:-}" "${TEST_SCHEMA_PREFIX:-test_}"; do
    for schema in staging staging_backup silver gold silver_candidate gold_candidate ops scratch "$SOURCE_DATABASE"; do
      sql+="CREATE DATABASE IF NOT EXISTS \`${prefix}${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
  done
  for host in 127.0.0.1 localhost; do
    sql+="CREATE USER IF NOT EXISTS '$TOKYOBETA_DB_USER'@'$host' IDENTIFIED BY '$TOKYOBETA_DB_PASSWORD';"
    sql+="ALTER USER '$TOKYOBETA_DB_USER'@'$host' IDENTIFIED BY '$TOKYOBETA_DB_PASSWORD';"
    for schema in staging staging_backup silver gold silver_candidate gold_candidate ops scratch; do
      sql+="GRANT ALL PRIVILEGES ON \`%${schema}\`.* TO '$TOKYOBETA_DB_USER'@'$host';"
    done
    sql+="CREATE USER IF NOT EXISTS '$SOURCE_DB_USER'@'$host' IDENTIFIED BY '$SOURCE_DB_PASSWORD';"
    sql+="ALTER USER '$SOURCE_DB_USER'@'$host' IDENTIFIED BY '$SOURCE_DB_PASSWORD';"
    sql+="GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`%${SOURCE_DATABASE}\`.* TO '$SOURCE_DB_USER'@'$host';"
  done
  mysql_admin -e "$sql"
}

ensure_airflow_db() {
  mkdir -p "$AIRFLOW_HOME" "$TOKYOBETA_LOCAL"
  local stamp="$AIRFLOW_HOME/.migrated-$AIRFLOW_DB_NAME"
  if [ ! -f "$stamp" ] || ! airflow db check-migrations -t 0 >/dev/null 2>&1; then
    log "migrating the Airflow metadata database"
    airflow db migrate >"$TOKYOBETA_LOCAL/airflow-db-migrate.log" 2>&1 \
      || die "airflow db migrate failed; see $TOKYOBETA_LOCAL/airflow-db-migrate.log"
    touch "$stamp"
  fi
}

main() {
  ensure_mysql_schemas
  ensure_airflow_db
  python -m tokyobeta.cli local-aws-init
  python -m tokyobeta.cli dbt-manifest
}

main "$@"
