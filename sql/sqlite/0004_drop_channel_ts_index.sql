-- nats-streaming-server (TypeScript) schema migration 0004_drop_channel_ts_index, SQLite.
-- Generated from migrations/0004_drop_channel_ts_index.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   sqlite3 DIR/stan.db < sql/sqlite/0004_drop_channel_ts_index.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

drop index `stan_messages_channel_ts_idx`;

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(strftime('%s', 'now') AS INTEGER) * 1000, 1, '0004_drop_channel_ts_index');

COMMIT;
