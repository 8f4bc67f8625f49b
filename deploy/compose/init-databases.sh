#!/usr/bin/env bash
# Runs once, when the PostgreSQL container starts on an empty data directory
# (docker-entrypoint-initdb.d). Each service owns its own database; they share
# one login role on this single-host setup (Kubernetes gives each service its
# own server and credentials). The password comes from DATABASE_PASSWORD.
set -euo pipefail

: "${DATABASE_PASSWORD:?DATABASE_PASSWORD must be set (the password of the services role)}"
app_role="${DATABASE_ROLE:-referral}"
databases=(consent referrals matching notifications engagement outcomes gateway)
# Names take DATABASE_PREFIX (empty by default), as the services' URLs in docker-compose.yml do.
prefix="${DATABASE_PREFIX:-}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     --set role="$app_role" --set password="$DATABASE_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
SQL

for db in "${databases[@]}"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       --set db="${prefix}${db}" --set role="$app_role" <<'SQL'
CREATE DATABASE :"db" OWNER :"role";
-- Only the owner connects: no other role can wander into a service's data.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
done
