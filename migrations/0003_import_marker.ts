/**
 * Schema version 3: the import marker (`nats-streaming-server import`, src/import/resume.ts):
 * which reference store filled this database and whether the import finished, so that an
 * interrupted import can be resumed and a store filled from another source is refused. An
 * *expand* migration: it only adds a table, so older servers keep running on it
 * (minServerSchema stays 1).
 */
import type { Knex } from 'knex';
import { TABLES } from '../src/store/sql/schema';
import { MigrationDef, mysqlTableOptions, SqlDialect } from '../src/store/sql/migration-types';

const I = TABLES.stan_import;

export const m0003_import_marker: MigrationDef = {
  name: '0003_import_marker',
  version: 3,
  minServerSchema: 1,
  build(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder[] {
    return [
      knex.schema.createTable('stan_import', (t) => {
        t.integer(I[0]).notNullable().primary();
        t.string(I[1], 128).notNullable();
        t.string(I[2], 1024).notNullable();
        t.string(I[3], 16).notNullable();
        t.bigInteger(I[4]).notNullable();
        mysqlTableOptions(t, dialect);
      }),
    ];
  },
};
