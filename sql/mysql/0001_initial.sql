-- nats-streaming-server (TypeScript) schema migration 0001_initial, MySQL/MariaDB.
-- Generated from migrations/0001_initial.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   mysql --database=DBNAME < sql/mysql/0001_initial.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).
-- MySQL commits each CREATE implicitly: if a statement fails, fix the cause and run the rest.

-- the table of applied migrations (Umzug storage)
create table `stan_migrations` (`name` varchar(255) not null, `applied_at` bigint not null, `min_server_schema` int not null, primary key (`name`)) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

create table `stan_server` (`id` smallint not null, `cluster_id` varchar(255) not null, `created_at` bigint not null, primary key (`id`)) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

create table `stan_events` (`event_id` bigint unsigned not null auto_increment primary key, `kind` smallint not null, `channel_id` bigint null, `body` mediumblob not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

create table `stan_messages` (`channel_id` bigint not null, `seq` bigint not null, `ts` bigint not null, `size` int not null, `data` mediumblob not null, primary key (`channel_id`, `seq`)) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

alter table `stan_messages` add index `stan_messages_channel_ts_idx`(`channel_id`, `ts`);

create table `stan_snapshots` (`snapshot_id` bigint unsigned not null auto_increment primary key, `last_event_id` bigint not null, `created_at` bigint not null, `body` longblob not null) default character set utf8mb4 collate utf8mb4_bin engine = InnoDB;

-- record the migration: the server checks this table at start-up
insert into `stan_migrations` (`applied_at`, `min_server_schema`, `name`) values (CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED), 1, '0001_initial');
