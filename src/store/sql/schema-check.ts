/**
 * The start-up schema check: which schema versions this release runs on, what to tell the
 * operator when the database is outside that range, and refusal of the reference Go server's
 * data (its SQL tables or its file-store layout), which this server cannot read.
 *
 * The server never runs DDL on PostgreSQL/MySQL unless `--sql_auto_migrate` is given (DBAs
 * own those schemas); the SQLite database of `-store file` migrates itself. See
 * {@link prepareSchema}.
 *
 * Versions: migration `NNNN_name` brings the schema to version NNNN. This release
 *  - needs every known migration up to MIN_SCHEMA applied (older → SchemaTooOldError, naming
 *    the missing migrations, the `migrate` command and the sql/ files);
 *  - knows the migrations up to MAX_SCHEMA; known but unapplied ones above MIN_SCHEMA are only
 *    a warning (the schema is older than it could be but still works);
 *  - runs on a schema that a newer release has *expanded* (every unknown applied migration
 *    recorded `min_server_schema` ≤ MAX_SCHEMA), and refuses one it has *contracted*
 *    (SchemaTooNewError: upgrade the server). migrations/README.md has the rule.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../../migrations';
import { dialectOf, MigrationDef, SqlDialect, versionOf } from './migration-types';
import { migrate, MigrateResult, MigrationBusyError } from './migrator';
import { MIGRATIONS_TABLE } from './schema';
import { StanServerError } from '../../errors';

/** The oldest schema version this release can run on. */
export const MIN_SCHEMA = 1;
/** The newest schema version this release knows (its last migration). */
export const MAX_SCHEMA = 4;

/** Base class: every schema refusal is one line telling the operator what to do. */
export class SchemaError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Migrations this release needs are not applied. */
export class SchemaTooOldError extends SchemaError {
  constructor(message: string, readonly missing: readonly string[]) {
    super(message);
  }
}

/** A newer release contracted the schema (or applied migrations this release does not know). */
export class SchemaTooNewError extends SchemaError {
  constructor(message: string, readonly unknown: readonly string[]) {
    super(message);
  }
}

/** No `stan_migrations` table: the schema was never created. */
export class NotInitialisedError extends SchemaError {}

/** The database or directory holds the reference Go nats-streaming-server's data. */
export class ReferenceDataError extends SchemaError {
  constructor(message: string, readonly found: readonly string[]) {
    super(message);
  }
}

export interface SchemaTarget {
  /** `postgres`, `mysql` or `sqlite` (the FILE store). */
  dialect: SqlDialect;
  /** `--sql_source`, shown (password redacted) in the command the operator should run. */
  source?: string;
  /** `-dir` of the FILE store. */
  dir?: string;
}

export interface SchemaCheckOptions extends SchemaTarget {
  /** Tests substitute these for the release's own. */
  migrations?: readonly MigrationDef[];
  minSchema?: number;
  maxSchema?: number;
}

export interface SchemaStatus {
  /** Highest applied known migration version (0: none). */
  version: number;
  applied: string[];
  /** Known migrations not applied (all above MIN_SCHEMA, or the check would have failed). */
  pending: string[];
  /** Things to log at start-up (pending migrations, a schema expanded by a newer release). */
  warnings: string[];
  /** The tables of the schema as the check listed them (the start-up checks its own tables in them). */
  tables: string[];
}

/** The reference Go server's SQL store tables (compared case-insensitively). */
export const REFERENCE_TABLES = [
  'ServerInfo',
  'Clients',
  'Channels',
  'Messages',
  'Subscriptions',
  'SubsPending',
  'StoreLock',
] as const;
/** Names no other application is likely to use: one of them is enough. */
const REFERENCE_DISTINCTIVE = new Set(['serverinfo', 'subspending', 'storelock']);

/** The command that applies pending migrations, with the password of the source redacted. */
export function migrateCommand(t: SchemaTarget): string {
  if (t.dialect === 'sqlite') {
    return `nats-streaming-server migrate -store file -dir ${shellQuote(t.dir ?? '<dir>')}`;
  }
  return `nats-streaming-server migrate --sql_driver ${t.dialect} --sql_source ${shellQuote(redactSource(t.source ?? '<source>'))}`;
}

function shellQuote(s: string): string {
  return `"${s.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * `--sql_source` without its password, for messages and logs: URLs
 * (`postgres://u:pw@h/db`, `?password=`), Go key/value DSNs (`password=pw`, `password='p w'`)
 * and Go MySQL DSNs (`u:pw@tcp(h:3306)/db`).
 */
export function redactSource(source: string): string {
  const R = '<password>';
  let s = source;
  // key=value forms, quoted or not (libpq DSN, URL query strings).
  s = s.replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)/gi, `$1${R}`);
  // scheme://user:password@host
  // (up to the last '@', in case the password holds an unencoded one).
  s = s.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):.*@(?=[^@]*$)/i, `$1:${R}@`);
  // Go MySQL DSN: user:password@tcp(...)/db — the password may contain anything but the last '@'.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    const at = s.lastIndexOf('@');
    const colon = s.indexOf(':');
    if (at > 0 && colon >= 0 && colon < at && !/\s/.test(s.slice(0, colon))) {
      s = `${s.slice(0, colon)}:${R}${s.slice(at)}`;
    }
  }
  return s;
}

function sqlFiles(dialect: SqlDialect, names: readonly string[]): string {
  return names.map((n) => `sql/${dialect}/${n}.sql`).join(', ');
}

/** Reference Go server tables present in the current database/schema. */
export async function findReferenceTables(knex: Knex): Promise<string[]> {
  return referenceTablesIn(await listTables(knex));
}

/** The reference Go server's tables among `tables` (see findReferenceTables). */
export function referenceTablesIn(tables: readonly string[]): string[] {
  const lower = tables.map((t) => t.toLowerCase());
  const ref = new Set(REFERENCE_TABLES.map((t) => t.toLowerCase()));
  const found = tables.filter((_, i) => ref.has(lower[i] ?? ''));
  const distinctive = found.some((t) => REFERENCE_DISTINCTIVE.has(t.toLowerCase()));
  // Generic names (Clients, Messages…) alone may belong to another application sharing the
  // database: two of them, or one distinctive name, are the reference's layout.
  return distinctive || found.length >= 2 ? found : [];
}

/**
 * The statement listing the tables of the current schema (Postgres), database (MySQL) or file
 * (SQLite), one row per table with its name as `tn`.
 */
export const TABLE_LIST_SQL: Readonly<Record<SqlDialect, string>> = {
  postgres: "SELECT table_name AS tn FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  mysql: "SELECT table_name AS tn FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
  sqlite: "SELECT name AS tn FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
};

/** Tables of the current schema (Postgres), database (MySQL) or file (SQLite). */
export async function listTables(knex: Knex): Promise<string[]> {
  const d = dialectOf(knex);
  const r: unknown = await knex.raw(TABLE_LIST_SQL[d]);
  // Knex answers a raw statement as the driver does: pg a result, mysql2 [rows, fields], better-sqlite3 rows.
  const rows = d === 'postgres' ? (r as { rows: unknown[] }).rows : d === 'mysql' ? (Array.isArray(r) ? (r[0] as unknown[]) : []) : (r as unknown[]);
  return tableNames(rows);
}

/** Table names from rows of TABLE_LIST_SQL. */
export function tableNames(rows: readonly unknown[]): string[] {
  return rows.map((x) => String((x as { tn: unknown }).tn));
}

function referenceSqlError(found: readonly string[]): ReferenceDataError {
  return new ReferenceDataError(
    `this database holds the data of the reference Go nats-streaming-server (tables ${found.join(', ')}); ` +
      `this server cannot read or migrate that data and will not start on it: point --sql_source at an empty ` +
      `database (the reference's tables are left untouched)`,
    found,
  );
}

/**
 * @throws ReferenceDataError when the database holds the reference Go server's tables, unless
 * their data was imported into ours in this same database (an import marker is present:
 * `nats-streaming-server import` with the source and target in one database; the two sets of
 * tables do not collide, docs/migrate-from-reference.md).
 */
export async function assertNoReferenceTables(knex: Knex): Promise<void> {
  await assertNoReferenceTablesIn(knex, await listTables(knex));
}

async function assertNoReferenceTablesIn(knex: Knex, tables: readonly string[]): Promise<void> {
  const found = referenceTablesIn(tables);
  if (found.length === 0) return;
  const { hasImportMarker } = await import('./import-marker');
  if (await hasImportMarker(knex)) return;
  throw referenceSqlError(found);
}

/**
 * The reference Go server's FILE store layout in `dir`: `server.dat`, `clients.dat`, and
 * channel subdirectories holding `subs.dat` or `msgs.<n>.dat`. Returns what was found
 * (relative paths, at most a few), [] when none.
 */
export function detectReferenceFileStore(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const e of entries) {
    if (e.isFile() && (e.name === 'server.dat' || e.name === 'clients.dat')) found.push(e.name);
  }
  for (const e of entries) {
    if (!e.isDirectory() || found.length >= 5) continue;
    let sub: string[];
    try {
      sub = fs.readdirSync(path.join(dir, e.name));
    } catch {
      continue;
    }
    const hit = sub.find((f) => f === 'subs.dat' || /^msgs\.\d+\.dat$/.test(f));
    if (hit !== undefined) found.push(`${e.name}/${hit}`);
  }
  return found;
}

/** @throws ReferenceDataError when `dir` holds the reference Go server's file store. */
export function assertNoReferenceFileStore(dir: string): void {
  const found = detectReferenceFileStore(dir);
  if (found.length > 0) {
    throw new ReferenceDataError(
      `directory ${dir} holds the file store of the reference Go nats-streaming-server (${found.join(', ')}); ` +
        `this server cannot read or migrate it and will not start on it: use an empty directory for -dir ` +
        `(the reference's files are left untouched)`,
      found,
    );
  }
}

/**
 * Compares the applied migrations with the range this release supports. Runs no DDL.
 * @throws ReferenceDataError, NotInitialisedError, SchemaTooOldError, SchemaTooNewError
 */
export async function checkSchema(knex: Knex, opts: SchemaCheckOptions): Promise<SchemaStatus> {
  // Two round trips in all (was five at start-up, ~2-10 ms each on loopback): the table list
  // answers both "reference tables?" and "is there a migrations table?".
  const tables = await listTables(knex);
  await assertNoReferenceTablesIn(knex, tables);
  assertInitialised(tables, opts);
  const rows: MigrationRow[] = await knex(MIGRATIONS_TABLE).select('name', 'min_server_schema');
  return evaluateSchema(tables, rows, opts);
}

/** A row of `stan_migrations` as the schema check reads it. */
export interface MigrationRow {
  name: string;
  min_server_schema: number | string;
}

/** The statement reading what evaluateSchema needs of `stan_migrations`. */
export const MIGRATION_ROWS_SQL = `SELECT name, min_server_schema FROM ${MIGRATIONS_TABLE}`;

/** True when `tables` holds the migrations table (the schema was created). */
export function hasMigrationsTable(tables: readonly string[]): boolean {
  return tables.some((t) => t.toLowerCase() === MIGRATIONS_TABLE);
}

/** @throws NotInitialisedError when `tables` has no migrations table. */
function assertInitialised(tables: readonly string[], opts: SchemaCheckOptions): void {
  if (hasMigrationsTable(tables)) return;
  const known = opts.migrations ?? MIGRATIONS;
  const first = known[0]?.name ?? '0001_initial';
  throw new NotInitialisedError(
    `database not initialised (it has no ${MIGRATIONS_TABLE} table): create the schema with ` +
      `${migrateCommand(opts)}, or have a DBA apply ${sqlFiles(opts.dialect, known.map((m) => m.name))}` +
      (opts.dialect === 'sqlite' ? '' : `, or start the server once with --sql_auto_migrate`) +
      ` (${first} is the first migration)`,
  );
}

/** Known migrations that `rows` does not record as applied, in the order they would run. */
export function pendingIn(rows: readonly MigrationRow[], opts: SchemaCheckOptions): MigrationDef[] {
  const applied = new Set(rows.map((r) => r.name));
  return (opts.migrations ?? MIGRATIONS).filter((m) => !applied.has(m.name));
}

/**
 * The verdict on the applied migrations `rows` (read from a database whose `tables` hold no
 * reference data and the migrations table). Runs no statement.
 * @throws SchemaTooOldError, SchemaTooNewError
 */
export function evaluateSchema(tables: string[], rows: readonly MigrationRow[], opts: SchemaCheckOptions): SchemaStatus {
  const known = opts.migrations ?? MIGRATIONS;
  const maxSchema = opts.maxSchema ?? (opts.migrations ? (known[known.length - 1]?.version ?? 0) : MAX_SCHEMA);
  const minSchema = opts.minSchema ?? (opts.migrations ? maxSchema : MIN_SCHEMA);
  const d = opts.dialect;
  const applied = rows.map((r) => r.name).sort();
  const appliedSet = new Set(applied);
  const knownNames = new Set(known.map((m) => m.name));
  const warnings: string[] = [];

  // Migrations of a newer release.
  const unknown = rows.filter((r) => !knownNames.has(r.name));
  const blocking = unknown.filter((r) => !(versionOf(r.name) > maxSchema) || Number(r.min_server_schema) > maxSchema);
  if (blocking.length > 0) {
    const names = blocking.map((r) => r.name).sort();
    const needs = Math.max(...blocking.map((r) => Number(r.min_server_schema)));
    throw new SchemaTooNewError(
      `the database schema is newer than this server supports: migration(s) ${names.join(', ')} ` +
        `need a server release that knows schema version ${needs} or later, this one knows up to ${maxSchema}; ` +
        `upgrade nats-streaming-server (the schema cannot be downgraded)`,
      names,
    );
  }
  if (unknown.length > 0) {
    warnings.push(
      `the database schema was expanded by a newer server release (${unknown
        .map((r) => r.name)
        .sort()
        .join(', ')}); this release keeps working on it`,
    );
  }

  const pendingDefs = pendingIn(rows, opts);
  const missing = pendingDefs.filter((m) => m.version <= minSchema);
  if (missing.length > 0) {
    const all = pendingDefs.map((m) => m.name);
    throw new SchemaTooOldError(
      `the database schema is too old for this server: missing migration(s) ${missing.map((m) => m.name).join(', ')}; ` +
        `apply the pending migrations with ${migrateCommand(opts)}` +
        `, or have a DBA apply ${sqlFiles(d, all)} in that order` +
        (d === 'sqlite' ? '' : `, or start the server with --sql_auto_migrate`),
      missing.map((m) => m.name),
    );
  }
  if (pendingDefs.length > 0) {
    warnings.push(
      `pending schema migration(s) ${pendingDefs.map((m) => m.name).join(', ')} are not required by this release; ` +
        `apply them with ${migrateCommand(opts)} or ${sqlFiles(d, pendingDefs.map((m) => m.name))}`,
    );
  }
  const version = Math.max(0, ...known.filter((m) => appliedSet.has(m.name)).map((m) => m.version));
  return { version, applied, pending: pendingDefs.map((m) => m.name), warnings, tables };
}

export interface PrepareSchemaOptions extends SchemaCheckOptions {
  /** `--sql_auto_migrate` (always on for SQLite). */
  autoMigrate: boolean;
  log?: (line: string) => void;
}

/**
 * What the store calls at start-up: refuse the reference's data, migrate when allowed
 * (SQLite always; Postgres/MySQL only with --sql_auto_migrate), then check the schema.
 * Log `warnings` of the returned status.
 */
export async function prepareSchema(
  knex: Knex,
  opts: PrepareSchemaOptions,
): Promise<SchemaStatus & { migrated: MigrateResult | null }> {
  if (opts.dialect === 'sqlite' && opts.dir !== undefined) assertNoReferenceFileStore(opts.dir);
  let migrated: MigrateResult | null = null;
  if (opts.dialect === 'sqlite' || opts.autoMigrate) {
    // Before migrating into it: a database holding the reference's tables is refused untouched
    // (checkSchema checks again, on the table list it reads anyway).
    await assertNoReferenceTables(knex);
    try {
      migrated = await migrate(knex, { migrations: opts.migrations, log: opts.log });
    } catch (err) {
      // A table held by a backup: start on the schema there is if this release can run on it
      // (a pending expand-only migration), and say why it is still pending; refuse otherwise.
      if (!(err instanceof MigrationBusyError)) throw err;
      const status = await checkSchema(knex, opts).catch(() => {
        throw err;
      });
      return { ...status, warnings: [...status.warnings, err.message], migrated: null };
    }
    // A schema expanded by a newer release has nothing pending here; contracted is refused below.
  }
  const status = await checkSchema(knex, opts);
  return { ...status, migrated };
}
