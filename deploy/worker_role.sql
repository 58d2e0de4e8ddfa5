-- The least-privilege role the workers use for application data (DATABASE_URL of the code server,
-- daemon, webserver and run workers): read and write rows, nothing else. No DDL (migrations run as the
-- owner: `whisper-assets db upgrade`, compose's `migrate` service), no TRUNCATE, no other database.
-- Run as the owner of the application database, connected to it:
--   psql "$OWNER_URL" -v worker_password="$WORKER_PASSWORD" [-v worker_role=NAME] -f deploy/worker_role.sql
-- Dagster's own storage (DAGSTER_POSTGRES_URL) stays with the owner: Dagster migrates its schema itself.
\set ON_ERROR_STOP on
\if :{?worker_role}
\else
\set worker_role whisper_worker
\endif
SELECT format('CREATE ROLE %I LOGIN', :'worker_role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'worker_role') \gexec
ALTER ROLE :"worker_role" WITH LOGIN PASSWORD :'worker_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;

SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'worker_role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"worker_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"worker_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"worker_role";
-- Tables and sequences that later migrations create (run as this owner) get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"worker_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"worker_role";
