/**
 * Applies the schema migrations (migrations/index.ts) with Umzug, recording them in
 * `stan_migrations` through a small Knex-backed Umzug storage.
 *
 * Forward-only: there is no `down`; a schema change is undone by a new migration.
 *
 * Locking, so that two servers (an FT pair started with --sql_auto_migrate, or a `migrate`
 * command racing a server) never apply the same migration twice: every run happens on one
 * pinned connection inside one transaction, and first takes a lock, then re-reads
 * `stan_migrations` before running what is still pending:
 *  - PostgreSQL: `pg_advisory_xact_lock(<STAN>, 1)`, released by the commit or rollback. DDL
 *    is transactional there, so a run applies all its migrations or none.
 *  - MySQL/MariaDB: `GET_LOCK('stan_migrate_<sha1 of the database name>', 60)`, released with
 *    RELEASE_LOCK (or when the connection drops). DDL commits implicitly in MySQL, so a
 *    migration that fails half-way leaves its earlier statements applied: migrations are
 *    written so that each is one table/index per statement and the error names it.
 *  - SQLite: `BEGIN IMMEDIATE` takes the database's write lock; DDL is transactional.
 * A second migrator waits for the lock (60 s at most), then finds nothing pending.
 */
import type { Knex } from 'knex';
import type { UmzugStorage, MigrationParams } from 'umzug';
import { MIGRATIONS } from '../../../migrations';
import { DDL_LOCK_WAIT_S, dialectOf, MigrationDef, SqlDialect, versionOf } from './migration-types';
import { MIGRATIONS_TABLE, TABLES } from './schema';
import { StanServerError } from '../../errors';

/** How long a migrator waits for another one to finish. */
export const MIGRATION_LOCK_TIMEOUT_S = 60;
/** 'STAN' as a 32-bit integer: the first key of the Postgres advisory lock. */
const PG_LOCK_KEY = 0x5354414e;

/** The role may read and write rows but not change the schema. */
export class MigrationPermissionError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'MigrationPermissionError';
  }
}

/** Another migrator held the lock for longer than MIGRATION_LOCK_TIMEOUT_S. */
export class MigrationLockTimeoutError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'MigrationLockTimeoutError';
  }
}

/**
 * A migration's DDL waited DDL_LOCK_WAIT_S for a table another transaction holds (a backup):
 * nothing is wrong with the schema, the migration just has to run later. A server starting
 * with --sql_auto_migrate on a schema it can run on starts anyway (schema-check.ts).
 */
export class MigrationBusyError extends MigrationLockTimeoutError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = 'MigrationBusyError';
  }
}

/** The DDL of the `stan_migrations` table (Umzug's storage). */
export function migrationsTableBuilder(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder {
  const C = TABLES.stan_migrations;
  return knex.schema.createTable(MIGRATIONS_TABLE, (t) => {
    t.string(C[0], 255).notNullable().primary();
    t.bigInteger(C[1]).notNullable();
    t.integer(C[2]).notNullable();
    if (dialect === 'mysql') {
      t.engine('InnoDB');
      t.charset('utf8mb4');
      t.collate('utf8mb4_bin');
    }
  });
}

/** The statements of a schema builder, without running them. */
export async function builderStatements(b: Knex.SchemaBuilder): Promise<string[]> {
  const ddl = await b.generateDdlCommands();
  // Typed string[], but some dialects return { sql, bindings } objects.
  const all: unknown[] = [...ddl.pre, ...ddl.sql, ...ddl.post];
  return all.map((s) => {
    if (typeof s === 'string') return s;
    if (typeof s === 'object' && s !== null && 'sql' in s) {
      const { sql, bindings } = s as { sql: unknown; bindings?: unknown };
      if (Array.isArray(bindings) && bindings.length > 0) throw new Error(`DDL with bind parameters: ${String(sql)}`);
      if (typeof sql === 'string') return sql;
    }
    throw new Error(`unexpected DDL statement: ${JSON.stringify(s)}`);
  });
}

/** Umzug storage over Knex: the context of every call is the Knex (transaction) to use. */
export class KnexUmzugStorage implements UmzugStorage<Knex> {
  constructor(private readonly migrations: readonly MigrationDef[] = MIGRATIONS) {}

  async executed({ context }: Pick<MigrationParams<Knex>, 'context'>): Promise<string[]> {
    return appliedMigrationNames(context);
  }

  async logMigration({ name, context }: MigrationParams<Knex>): Promise<void> {
    const def = this.migrations.find((m) => m.name === name);
    if (!def) throw new Error(`unknown migration ${name}`);
    await context(MIGRATIONS_TABLE).insert({
      name,
      applied_at: Date.now(),
      min_server_schema: def.minServerSchema,
    });
  }

  async unlogMigration({ name }: MigrationParams<Knex>): Promise<void> {
    throw new Error(`schema migrations are forward-only: cannot revert ${name}`);
  }
}

/** Names recorded in `stan_migrations`, in order; [] when the table does not exist. */
export async function appliedMigrationNames(knex: Knex): Promise<string[]> {
  if (!(await knex.schema.hasTable(MIGRATIONS_TABLE))) return [];
  const rows: Array<{ name: string }> = await knex(MIGRATIONS_TABLE).select('name');
  return rows.map((r) => r.name).sort();
}

/** Known migrations not yet recorded in `stan_migrations`, in the order they would run. */
export async function pendingMigrations(
  knex: Knex,
  migrations: readonly MigrationDef[] = MIGRATIONS,
): Promise<MigrationDef[]> {
  const applied = new Set(await appliedMigrationNames(knex));
  return migrations.filter((m) => !applied.has(m.name));
}

export interface MigrateOptions {
  /** Print (through `log`) the SQL each pending migration would run, and run nothing. */
  dryRun?: boolean;
  /** Where progress and dry-run SQL go; default: nowhere. */
  log?: (line: string) => void;
  /** The migration list (tests substitute a longer one). */
  migrations?: readonly MigrationDef[];
}

export interface MigrateResult {
  /** Migrations applied by this run (or, with dryRun, that would be). */
  applied: string[];
  /** With dryRun: every statement that would run, in order. */
  statements: string[];
}

/**
 * Applies every pending migration (or, with `dryRun`, prints their SQL).
 * @throws MigrationPermissionError when the role may not change the schema
 * @throws MigrationLockTimeoutError when another migrator keeps the lock
 */
export async function migrate(knex: Knex, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = opts.migrations ?? MIGRATIONS;
  const log = opts.log ?? ((): void => undefined);
  const dialect = dialectOf(knex);
  checkMigrationList(migrations);
  if (opts.dryRun) return dryRun(knex, dialect, migrations, log);

  try {
    // The usual start-up: nothing to do. Forward-only migrations cannot become pending again,
    // so this needs no lock; and Umzug (slow to load) is loaded only when there is work.
    if ((await pendingMigrations(knex, migrations)).length === 0) return { applied: [], statements: [] };
    const { Umzug } = await import('umzug');
    return await withMigrationLock(knex, dialect, async (conn) => {
      if (!(await conn.schema.hasTable(MIGRATIONS_TABLE))) {
        log(`creating table ${MIGRATIONS_TABLE}`);
        await migrationsTableBuilder(conn, dialect);
      }
      const umzug = new Umzug<Knex>({
        migrations: migrations.map((m) => ({
          name: m.name,
          up: async ({ context }: MigrationParams<Knex>): Promise<void> => {
            for (const b of m.build(context, dialect)) await b;
          },
          down: async (): Promise<void> => {
            throw new Error(`schema migrations are forward-only: cannot revert ${m.name}`);
          },
        })),
        // A Knex instance is a function: Umzug would call it, so hand it over through a thunk.
        context: () => conn,
        storage: new KnexUmzugStorage(migrations),
        logger: undefined,
      });
      umzug.on('migrating', ({ name }) => log(`applying migration ${name}`));
      umzug.on('migrated', ({ name }) => log(`applied migration ${name}`));
      const done = await umzug.up();
      return { applied: done.map((d) => d.name), statements: [] };
    });
  } catch (err) {
    throw translateMigrationError(err, dialect);
  }
}

async function dryRun(
  knex: Knex,
  dialect: SqlDialect,
  migrations: readonly MigrationDef[],
  log: (line: string) => void,
): Promise<MigrateResult> {
  const statements: string[] = [];
  const emit = (sql: string): void => {
    const s = sql.endsWith(';') ? sql : `${sql};`;
    statements.push(s);
    log(s);
  };
  const hasTable = await knex.schema.hasTable(MIGRATIONS_TABLE);
  const pending = await pendingMigrations(knex, migrations);
  if (pending.length === 0) {
    log('-- the schema is up to date: no pending migrations');
    return { applied: [], statements };
  }
  if (!hasTable) {
    log(`-- create the table of applied migrations`);
    for (const s of await builderStatements(migrationsTableBuilder(knex, dialect))) emit(s);
  }
  // As the sql/ scripts and the migrator: one transaction on PostgreSQL (SET LOCAL needs one).
  if (dialect === 'postgres') emit('BEGIN');
  for (const m of pending) {
    log(`-- migration ${m.name}`);
    for (const b of m.build(knex, dialect)) for (const s of await builderStatements(b)) emit(s);
    emit(recordMigrationQuery(knex, dialect, m).toString());
  }
  if (dialect === 'postgres') emit('COMMIT');
  return { applied: pending.map((m) => m.name), statements };
}

/** The INSERT recording a migration, with the database's clock (for the sql/ scripts). */
export function recordMigrationQuery(knex: Knex, dialect: SqlDialect, m: MigrationDef): Knex.QueryBuilder {
  const nowMs =
    dialect === 'postgres'
      ? 'CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000 AS BIGINT)'
      : dialect === 'mysql'
        ? 'CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)'
        : "CAST(strftime('%s', 'now') AS INTEGER) * 1000";
  return knex(MIGRATIONS_TABLE).insert({
    name: m.name,
    applied_at: knex.raw(nowMs),
    min_server_schema: m.minServerSchema,
  });
}

function checkMigrationList(migrations: readonly MigrationDef[]): void {
  let prev = 0;
  for (const m of migrations) {
    const v = versionOf(m.name);
    if (v !== m.version || v <= prev) throw new Error(`migration list out of order at ${m.name}`);
    prev = v;
  }
}

/** Runs `fn` on one pinned connection holding the migration lock (see the file comment). */
async function withMigrationLock<T>(knex: Knex, dialect: SqlDialect, fn: (conn: Knex) => Promise<T>): Promise<T> {
  if (dialect === 'sqlite') {
    // Knex's SQLite clients use a single connection; BEGIN IMMEDIATE takes the write lock.
    await knex.raw('BEGIN IMMEDIATE');
    try {
      const r = await fn(knex);
      await knex.raw('COMMIT');
      return r;
    } catch (err) {
      await knex.raw('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  return knex.transaction(async (trx) => {
    if (dialect === 'postgres') {
      await trx.raw(`SET LOCAL lock_timeout = '${MIGRATION_LOCK_TIMEOUT_S}s'`);
      try {
        await trx.raw('SELECT pg_advisory_xact_lock(?, 1)', [PG_LOCK_KEY]);
      } catch (err) {
        if (errorCode(err) === '55P03') throw lockTimeout();
        throw err;
      }
      return fn(trx);
    }
    const lockName = "CONCAT('stan_migrate_', SHA1(COALESCE(DATABASE(), '')))";
    const res: unknown = await trx.raw(`SELECT GET_LOCK(${lockName}, ?) AS got`, [MIGRATION_LOCK_TIMEOUT_S]);
    const rows = Array.isArray(res) ? (res[0] as Array<{ got: number | null }>) : [];
    if (rows[0]?.got !== 1) throw lockTimeout();
    try {
      return await fn(trx);
    } finally {
      await trx.raw(`SELECT RELEASE_LOCK(${lockName})`).catch(() => undefined);
      // A migration may shorten the session's lock wait (0004): the pooled connection goes
      // back to the server with the global value.
      await trx.raw('SET SESSION lock_wait_timeout = DEFAULT').catch(() => undefined);
    }
  });
}

function lockTimeout(): MigrationLockTimeoutError {
  return new MigrationLockTimeoutError(
    `another server or migrate command has been migrating this database for ${MIGRATION_LOCK_TIMEOUT_S} s: try again when it is done`,
  );
}

/** The driver's error code, also through the `cause` of Umzug's wrapper ("Migration X (up) failed"). */
function errorCode(err: unknown): string | undefined {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') return c;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const PERMISSION_CODES = new Set([
  '42501', // Postgres insufficient_privilege
  'ER_TABLEACCESS_DENIED_ERROR', // 1142
  'ER_DBACCESS_DENIED_ERROR', // 1044
  'ER_SPECIFIC_ACCESS_DENIED_ERROR', // 1227
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'SQLITE_READONLY',
  'SQLITE_AUTH',
]);

/** A DDL statement's lock wait ran out (DDL_LOCK_WAIT_S): PostgreSQL lock_not_available, MySQL 1205. */
const LOCK_WAIT_CODES = new Set(['55P03', 'ER_LOCK_WAIT_TIMEOUT']);

function translateMigrationError(err: unknown, dialect: SqlDialect): unknown {
  if (err instanceof MigrationPermissionError || err instanceof MigrationLockTimeoutError) return err;
  const code = errorCode(err);
  if (code !== undefined && LOCK_WAIT_CODES.has(code)) {
    const which = /Migration (\S+) \(up\) failed/.exec(err instanceof Error ? err.message : '')?.[1];
    return new MigrationBusyError(
      `cannot migrate the schema now: ${which ?? 'a migration'} waited more than ${DDL_LOCK_WAIT_S} s for a table that another transaction holds ` +
        `(a backup such as pg_dump or mysqldump --single-transaction, a long report?): run the migration again once that transaction has ended. ` +
        (dialect === 'postgres'
          ? 'Nothing of this run was applied'
          : 'The statement that waited was not applied (migrations before it in this run stay applied)') +
        `; a server already running is not affected (${firstLine(err)})`,
      err,
    );
  }
  if (code !== undefined && PERMISSION_CODES.has(code)) {
    const detail = firstLine(err);
    return new MigrationPermissionError(
      `cannot migrate the schema: the database role may not change it (${detail}); ` +
        `run the migration as a role allowed to create and alter the tables (on PostgreSQL, their owner) (or have a DBA apply sql/${dialect}/), ` +
        `then run the server with its restricted role`,
      err,
    );
  }
  return err;
}

/** The driver's message without Knex's echo of the statement. */
function firstLine(err: unknown): string {
  return err instanceof Error ? (err.message.split('\n')[0]?.replace(/^.* - /, '') ?? err.message) : String(err);
}
