-- The DBA step: run once per cluster by a superuser (psql), before `jarvis migrate`.
-- Creates the three roles of DESIGN.md and the database; idempotent, and it resets the
-- passwords each run, which it reads from the environment (never from this file):
--   JARVIS_OWNER_PASSWORD, JARVIS_APP_PASSWORD, JARVIS_PLATFORM_PASSWORD, JARVIS_DB_NAME
\set ON_ERROR_STOP on
\getenv owner_password JARVIS_OWNER_PASSWORD
\getenv app_password JARVIS_APP_PASSWORD
\getenv platform_password JARVIS_PLATFORM_PASSWORD
\getenv db_name JARVIS_DB_NAME

SELECT 'CREATE ROLE jarvis_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_owner') \gexec
SELECT 'CREATE ROLE jarvis_app' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_app') \gexec
SELECT 'CREATE ROLE jarvis_platform' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_platform') \gexec

-- The owner runs migrations and owns the tables: it is subject to forced RLS like everyone else.
ALTER ROLE jarvis_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION PASSWORD :'owner_password';
-- Serves tenant-scoped requests: RLS always applies, it owns nothing and inherits nothing.
ALTER ROLE jarvis_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION NOINHERIT PASSWORD :'app_password';
-- Super-admin endpoints, credential lookups and background jobs only.
ALTER ROLE jarvis_platform LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS NOREPLICATION NOINHERIT PASSWORD :'platform_password';

SELECT format('CREATE DATABASE %I OWNER jarvis_owner', :'db_name')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db_name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db_name') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO jarvis_app, jarvis_platform', :'db_name') \gexec
