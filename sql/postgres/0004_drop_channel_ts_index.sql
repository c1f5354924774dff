-- nats-streaming-server (TypeScript) schema migration 0004_drop_channel_ts_index, PostgreSQL.
-- Generated from migrations/0004_drop_channel_ts_index.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/postgres/0004_drop_channel_ts_index.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

SET LOCAL lock_timeout = '5s';

drop index "stan_messages_channel_ts_idx";

-- record the migration: the server checks this table at start-up
insert into "stan_migrations" ("applied_at", "min_server_schema", "name") values (CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT), 1, '0004_drop_channel_ts_index');

COMMIT;
