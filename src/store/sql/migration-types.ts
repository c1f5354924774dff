/**
 * What a schema migration is: a numbered, forward-only list of DDL statements built with
 * Knex's schema builder for the dialect at hand (so `migrate --dry-run` and
 * `src/store/sql/gen-sql.ts` can print them without running them).
 */
import type { Knex } from 'knex';

import type { DialectName } from './dialect/types';

/** The dialect union, defined once in dialect/types.ts. */
export type SqlDialect = DialectName;

export const SQL_DIALECTS: readonly SqlDialect[] = ['postgres', 'mysql', 'sqlite'];

/**
 * How long a migration's DDL waits for a lock on a table in use (PostgreSQL lock_timeout,
 * MySQL lock_wait_timeout). While it waits, every write to that table queues behind it, so a
 * running server's publishing stalls for as long: a few seconds, then the migration fails
 * with what to do (migrator.ts) instead of a stall as long as the transaction in the way.
 */
export const DDL_LOCK_WAIT_S = 5;

export interface MigrationDef {
  /** `NNNN_description`: the name recorded in `stan_migrations`. */
  readonly name: string;
  /** NNNN: the schema version this migration brings the database to. */
  readonly version: number;
  /**
   * The oldest schema version a server release must know (its `MAX_SCHEMA`) to run on a
   * database where this migration is applied. An *expand* migration keeps the previous
   * migration's value (older releases keep working on the expanded schema); a *contract*
   * migration raises it (see migrations/README.md). Recorded in `stan_migrations`, so an
   * older release can tell an expanded schema it can run on from one it cannot.
   */
  readonly minServerSchema: number;
  /** The DDL, one schema builder per statement group, for this dialect. Never executed here. */
  build(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder[];
}

/** Version number from a migration name (`0002_add_x` → 2); NaN when not of that form. */
export function versionOf(name: string): number {
  const m = /^(\d{4,})_/.exec(name);
  return m ? Number(m[1]) : Number.NaN;
}

/** The dialect of a Knex instance. */
export function dialectOf(knex: Knex): SqlDialect {
  const d = knex.client.dialect;
  if (d === 'postgresql' || d === 'postgres') return 'postgres';
  if (d === 'mysql' || d === 'mysql2') return 'mysql';
  if (d === 'sqlite3' || d === 'better-sqlite3' || d === 'sqlite') return 'sqlite';
  throw new Error(`unsupported SQL dialect: ${String(d)}`);
}

/** The column type of binary payloads: `size` is `medium` (≤ 16 MB) or `long`. */
export function blobType(dialect: SqlDialect, size: 'medium' | 'long'): string {
  switch (dialect) {
    case 'postgres':
      return 'bytea';
    case 'mysql':
      return size === 'long' ? 'longblob' : 'mediumblob';
    case 'sqlite':
      return 'blob';
  }
}

/** InnoDB, utf8mb4 and binary collation (exact cluster IDs and names) on MySQL. */
export function mysqlTableOptions(t: Knex.CreateTableBuilder, dialect: SqlDialect): void {
  if (dialect !== 'mysql') return;
  t.engine('InnoDB');
  t.charset('utf8mb4');
  t.collate('utf8mb4_bin');
}
