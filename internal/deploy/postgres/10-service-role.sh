#!/bin/sh
# Run once by the postgres image when its data directory is new: the role
# the parcours processes connect as (DATABASE_URL). It owns nothing and is
# no superuser; the migrations (PARCOURS_MIGRATE_DATABASE_URL, the owner)
# grant it what it needs at every start, and only INSERT and SELECT on the
# audit log.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$PARCOURS_SERVICE_PASSWORD" <<'SQL'
CREATE ROLE parcours_service LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
SQL
