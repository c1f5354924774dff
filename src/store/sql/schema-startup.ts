/**
 * The schema check of a server start-up, read straight on a driver connection of the store
 * (the reader pool's, or the FILE store's reader), without Knex: a start-up on a database
 * whose schema is up to date then needs Knex neither to build the two statements nor to
 * open its own connection first. On PostgreSQL and MariaDB that takes the writer's
 * connection (TCP, authentication, Knex's `select version()`) off the way to the first
 * answered connect: the reader connection the check runs on is the one the recovery reads
 * on next. FILE does not load Knex at start-up at all (docs/startup.md has the figures).
 *
 * Everything but that usual case — reference data in the database, no schema yet, a
 * migration to apply — goes the full way, prepareSchema on Knex (loaded then), so every
 * refusal, message and migration stays as it was.
 */
import type { Knex } from 'knex';
import {
  assertNoReferenceFileStore,
  evaluateSchema,
  hasMigrationsTable,
  MIGRATION_ROWS_SQL,
  pendingIn,
  prepareSchema,
  referenceTablesIn,
  TABLE_LIST_SQL,
  tableNames,
  type MigrationRow,
  type PrepareSchemaOptions,
  type SchemaStatus,
} from './schema-check';
import type { MigrateResult } from './migrator';
import type { DialectAdapter } from './dialect';
import { runHints } from '../../launch/run-hints';
import type { PlainRowsMulti } from './plain-reads';

/** Rows of a statement without parameters, run on a driver connection. */
export type RawRows = (sql: string) => Promise<unknown[]>;

/**
 * What prepareSchema does, with the usual start-up's two reads (table list, applied
 * migrations) on `rows`; `knex` is asked for only when there is more to do.
 */
export async function prepareSchemaAtStartup(
  rows: RawRows,
  knex: () => Knex,
  opts: PrepareSchemaOptions,
  multi?: PlainRowsMulti,
): Promise<SchemaStatus & { migrated: MigrateResult | null }> {
  if (opts.dialect === 'sqlite' && opts.dir !== undefined) assertNoReferenceFileStore(opts.dir);
  // Both reads in one round trip (the usual restart); it fails when stan_migrations does not
  // exist (no schema yet, someone else's database), and the reads one at a time decide then.
  const both = multi === undefined ? undefined : await multi([TABLE_LIST_SQL[opts.dialect], MIGRATION_ROWS_SQL]).catch(() => undefined);
  const tables = tableNames(both?.[0] ?? (await rows(TABLE_LIST_SQL[opts.dialect])));
  if (referenceTablesIn(tables).length > 0 || !hasMigrationsTable(tables)) return fullWay(knex, opts, 'schema check through Knex');
  const applied = (both?.[1] ?? (await rows(MIGRATION_ROWS_SQL))) as MigrationRow[];
  const migrates = opts.dialect === 'sqlite' || opts.autoMigrate;
  if (migrates && pendingIn(applied, opts).length > 0) return fullWay(knex, opts, 'migration');
  // What prepareSchema reports when its migrator found nothing to apply.
  return { ...evaluateSchema(tables, applied, opts), migrated: migrates ? { applied: [], statements: [] } : null };
}

/**
 * prepareSchema on Knex (and Umzug for a migration): code the usual restart does not run, so
 * this run's code cache is not written (src/launch/cache-timing.ts).
 */
function fullWay(knex: () => Knex, opts: PrepareSchemaOptions, why: string): Promise<SchemaStatus & { migrated: MigrateResult | null }> {
  runHints()?.oneOff(why);
  return prepareSchema(knex(), opts);
}

/** The start-up schema check of an open store: on its raw reads where it has them. */
export function startupSchema(adapter: DialectAdapter, opts: PrepareSchemaOptions): Promise<SchemaStatus & { migrated: MigrateResult | null }> {
  return prepareSchemaAtStartup(adapter.rawRows, () => adapter.knex, opts, adapter.rawRowsMulti);
}
