-- nats-streaming-server (TypeScript) schema migration 0003_import_marker, MySQL/MariaDB.
-- Generated from migrations/0003_import_marker.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   mysql --database=DBNAME < sql/mysql/0003_import_marker.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).
-- MySQL commits each CREATE implicitly: if a statement fails, fix the cause and run the rest.

create table `stan_import` (`id` int not null, `fingerprint` varchar(128) not null, `source` varchar(1024) not null, `status` varchar(16) not null, `updated_at` bigint not null, primary key (`id`)) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED), 1, '0003_import_marker');
