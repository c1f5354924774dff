/**
 * Schema version 1: the event store's four tables (docs/design/event-store.md).
 * The `stan_migrations` table itself is created by the migrator (migrator.ts).
 */
import type { Knex } from 'knex';
import { INDEXES, TABLES } from '../src/store/sql/schema';
import { blobType, MigrationDef, mysqlTableOptions, SqlDialect } from '../src/store/sql/migration-types';

const S = TABLES.stan_server;
const E = TABLES.stan_events;
const M = TABLES.stan_messages;
const P = TABLES.stan_snapshots;

export const m0001_initial: MigrationDef = {
  name: '0001_initial',
  version: 1,
  minServerSchema: 1,
  build(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder[] {
    return [
      knex.schema.createTable('stan_server', (t) => {
        t.smallint(S[0]).notNullable().primary();
        t.string(S[1], 255).notNullable();
        t.bigInteger(S[2]).notNullable();
        mysqlTableOptions(t, dialect);
      }),
      knex.schema.createTable('stan_events', (t) => {
        t.bigIncrements(E[0], { primaryKey: true });
        t.smallint(E[1]).notNullable();
        t.bigInteger(E[2]).nullable();
        t.specificType(E[3], blobType(dialect, 'medium')).notNullable();
        mysqlTableOptions(t, dialect);
      }),
      knex.schema.createTable('stan_messages', (t) => {
        t.bigInteger(M[0]).notNullable();
        t.bigInteger(M[1]).notNullable();
        t.bigInteger(M[2]).notNullable();
        t.integer(M[3]).notNullable();
        t.specificType(M[4], blobType(dialect, 'medium')).notNullable();
        t.primary([M[0], M[1]]);
        t.index([M[0], M[2]], INDEXES.stan_messages_channel_ts);
        mysqlTableOptions(t, dialect);
      }),
      knex.schema.createTable('stan_snapshots', (t) => {
        t.bigIncrements(P[0], { primaryKey: true });
        t.bigInteger(P[1]).notNullable();
        t.bigInteger(P[2]).notNullable();
        t.specificType(P[3], blobType(dialect, 'long')).notNullable();
        mysqlTableOptions(t, dialect);
      }),
    ];
  },
};
