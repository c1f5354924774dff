-- nats-streaming-server (TypeScript) schema migration 0003_import_marker, PostgreSQL.
-- Generated from migrations/0003_import_marker.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/postgres/0003_import_marker.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

create table "stan_import" ("id" integer not null, "fingerprint" varchar(128) not null, "source" varchar(1024) not null, "status" varchar(16) not null, "updated_at" bigint not null, constraint "stan_import_pkey" primary key ("id"));

-- record the migration: the server checks this table at start-up
insert into "stan_migrations" ("applied_at", "min_server_schema", "name") values (CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT), 1, '0003_import_marker');

COMMIT;
