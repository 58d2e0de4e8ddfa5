#!/bin/bash
# docker-compose.yml mounts this into postgres' /docker-entrypoint-initdb.d: on the first start, the
# `dagster` database (Dagster's run, event and schedule storage) and the worker role (worker_role.sql).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -c 'CREATE DATABASE dagster'
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v worker_password="$WORKER_PASSWORD" -f /docker-entrypoint-initdb.d/worker_role.sql.in
