-- nats-streaming-server (TypeScript) schema migration 0001_initial, PostgreSQL.
-- Generated from migrations/0001_initial.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/postgres/0001_initial.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

-- the table of applied migrations (Umzug storage)
create table "stan_migrations" ("name" varchar(255) not null, "applied_at" bigint not null, "min_server_schema" integer not null, constraint "stan_migrations_pkey" primary key ("name"));

create table "stan_server" ("id" smallint not null, "cluster_id" varchar(255) not null, "created_at" bigint not null, constraint "stan_server_pkey" primary key ("id"));

create table "stan_events" ("event_id" bigserial primary key, "kind" smallint not null, "channel_id" bigint null, "body" bytea not null);

create table "stan_messages" ("channel_id" bigint not null, "seq" bigint not null, "ts" bigint not null, "size" integer not null, "data" bytea not null, constraint "stan_messages_pkey" primary key ("channel_id", "seq"));

create index "stan_messages_channel_ts_idx" on "stan_messages" ("channel_id", "ts");

create table "stan_snapshots" ("snapshot_id" bigserial primary key, "last_event_id" bigint not null, "created_at" bigint not null, "body" bytea not null);

-- record the migration: the server checks this table at start-up
insert into "stan_migrations" ("applied_at", "min_server_schema", "name") values (CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT), 1, '0001_initial');

COMMIT;
