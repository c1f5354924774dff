-- nats-streaming-server (TypeScript) schema migration 0004_drop_channel_ts_index, MySQL/MariaDB.
-- Generated from migrations/0004_drop_channel_ts_index.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   mysql --database=DBNAME < sql/mysql/0004_drop_channel_ts_index.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).
-- MySQL commits each CREATE implicitly: if a statement fails, fix the cause and run the rest.

SET SESSION lock_wait_timeout = 5;

alter table `stan_messages` drop index `stan_messages_channel_ts_idx`;

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED), 1, '0004_drop_channel_ts_index');
