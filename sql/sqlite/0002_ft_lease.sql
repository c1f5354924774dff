-- nats-streaming-server (TypeScript) schema migration 0002_ft_lease, SQLite.
-- Generated from migrations/0002_ft_lease.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   sqlite3 DIR/stan.db < sql/sqlite/0002_ft_lease.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

create table `stan_lease` (`group_name` varchar(255) not null, `owner` varchar(64) not null, `epoch` bigint not null, `expires_at` bigint not null, `writes` bigint not null, primary key (`group_name`));

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(strftime('%s', 'now') AS INTEGER) * 1000, 1, '0002_ft_lease');

COMMIT;
