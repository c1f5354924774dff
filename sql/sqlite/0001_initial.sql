-- nats-streaming-server (TypeScript) schema migration 0001_initial, SQLite.
-- Generated from migrations/0001_initial.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   sqlite3 DIR/stan.db < sql/sqlite/0001_initial.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

-- the table of applied migrations (Umzug storage)
create table `stan_migrations` (`name` varchar(255) not null, `applied_at` bigint not null, `min_server_schema` integer not null, primary key (`name`));

create table `stan_server` (`id` integer not null, `cluster_id` varchar(255) not null, `created_at` bigint not null, primary key (`id`));

create table `stan_events` (`event_id` integer not null primary key autoincrement, `kind` integer not null, `channel_id` bigint null, `body` blob not null);

create table `stan_messages` (`channel_id` bigint not null, `seq` bigint not null, `ts` bigint not null, `size` integer not null, `data` blob not null, primary key (`channel_id`, `seq`));

create index `stan_messages_channel_ts_idx` on `stan_messages` (`channel_id`, `ts`);

create table `stan_snapshots` (`snapshot_id` integer not null primary key autoincrement, `last_event_id` bigint not null, `created_at` bigint not null, `body` blob not null);

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(strftime('%s', 'now') AS INTEGER) * 1000, 1, '0001_initial');

COMMIT;
