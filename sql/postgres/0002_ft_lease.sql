-- nats-streaming-server (TypeScript) schema migration 0002_ft_lease, PostgreSQL.
-- Generated from migrations/0002_ft_lease.ts by src/store/sql/gen-sql.ts: do not edit.
-- Apply the scripts in order, each once, as a role allowed to create tables:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/postgres/0002_ft_lease.sql
-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).

BEGIN;

create table "stan_lease" ("group_name" varchar(255) not null, "owner" varchar(64) not null, "epoch" bigint not null, "expires_at" bigint not null, "writes" bigint not null, constraint "stan_lease_pkey" primary key ("group_name"));

-- record the migration: the server checks this table at start-up
insert into "stan_migrations" ("applied_at", "min_server_schema", "name") values (CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT), 1, '0002_ft_lease');

COMMIT;
