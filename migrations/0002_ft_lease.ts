/**
 * Schema version 2: the fault-tolerance lease (`--ft_group`). An *expand* migration: it only
 * adds a table, so a version-1 server keeps running on it (minServerSchema stays 1).
 */
import type { Knex } from 'knex';
import { TABLES } from '../src/store/sql/schema';
import { MigrationDef, mysqlTableOptions, SqlDialect } from '../src/store/sql/migration-types';

const L = TABLES.stan_lease;

export const m0002_ft_lease: MigrationDef = {
  name: '0002_ft_lease',
  version: 2,
  minServerSchema: 1,
  build(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder[] {
    return [
      knex.schema.createTable('stan_lease', (t) => {
        t.string(L[0], 255).notNullable().primary();
        t.string(L[1], 64).notNullable();
        t.bigInteger(L[2]).notNullable();
        t.bigInteger(L[3]).notNullable();
        t.bigInteger(L[4]).notNullable();
        mysqlTableOptions(t, dialect);
      }),
    ];
  },
};
