/**
 * Creates the configured store: MEMORY, FILE (SQLite file in -dir) or SQL (Postgres/MySQL).
 * Persistent stores check (or, when allowed, migrate) their schema before anything else, and
 * refuse the reference Go server's data.
 */
import type { StreamingOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { MemoryStore } from './memory';
import type { Store } from './contract';
import type { SchemaTarget } from './sql/schema-check';
import type { SqlStore } from './sql/sql-store';
import { cipherFromOptions, type CipherSetup } from './crypto';
import { StanServerError } from '../errors';
import type { SealWorkerSpawner } from './seal-pool';
import type { SqliteWriterSpawner } from './sql/sqlite-writer';
import type { EarlyConnection } from './early-connection';

/**
 * Tables the SQL store reads and writes. The schema check only compares the recorded
 * migrations; a table dropped behind its back (restore gone wrong, manual clean-up) would
 * otherwise let the server start — on an empty stan_server it never reads stan_events — and
 * fail on its first commit, with every publisher getting error PubAcks.
 */
const REQUIRED_TABLES = ['stan_server', 'stan_events', 'stan_messages', 'stan_snapshots'] as const;

/** `tables`: the schema's tables as the schema check listed them (no further round trip). */
async function assertTablesPresent(tables: readonly string[], target: SchemaTarget): Promise<void> {
  const { migrateCommand } = await import('./sql/schema-check');
  const have = new Set(tables.map((t) => t.toLowerCase()));
  const missing = REQUIRED_TABLES.filter((t) => !have.has(t));
  if (missing.length === 0) return;
  throw new StoreConfigError(
    `the database schema is damaged: table(s) ${missing.join(', ')} missing although its migrations are recorded as applied; ` +
      `restore the database from a backup, or start on an empty one (${migrateCommand(target)} creates the schema)`,
  );
}

export class StoreConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'StoreConfigError';
  }
}

/** Encryption at rest settings checked and announced before any store is opened. */
function encryptionSetup(so: StreamingOptions, log: Logger): CipherSetup {
  const setup = cipherFromOptions(so, so.storeType !== 'MEMORY');
  for (const n of setup.notices) log.notice(n);
  for (const w of setup.warnings) log.warn(w);
  return setup;
}

/**
 * Starts a SQL store's helpers (the encryption worker thread): a failure closes the store and
 * is a startup error ("cannot start the encryption worker thread …").
 */
async function started(store: SqlStore): Promise<SqlStore> {
  try {
    await store.start();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

/** Collaborators of the stores that the caller chooses. */
export interface OpenStoreDeps {
  /** Starts the encryption workers (default: the compiled worker, spawnSealWorker). */
  spawnSealWorker?: SealWorkerSpawner;
  /** Starts the FILE store's write thread (default: the compiled worker file when present, else commits on the main thread). */
  spawnSqliteWriter?: SqliteWriterSpawner;
  /** The SQL store's connection, started at the beginning of the start-up (early-connection.ts). */
  connection?: EarlyConnection;
}

export async function openStore(so: StreamingOptions, log: Logger, deps: OpenStoreDeps = {}): Promise<Store> {
  const { cipher } = encryptionSetup(so, log);
  if (so.storeType === 'MEMORY') return new MemoryStore(so.storeLimits);
  const [{ SqlStore }, { assertNoReferenceFileStore }, { startupSchema }, open, { describeConnectFailure }] = await Promise.all([
    import('./sql/sql-store'),
    import('./sql/schema-check'),
    import('./sql/schema-startup'),
    import('./sql/open'),
    import('./sql/connect-error'),
  ]);
  if (so.storeType === 'FILE') {
    if (!so.filestoreDir) throw new StoreConfigError('the FILE store needs a directory: add --dir <path>');
    if ((so.sql.commitDepth ?? 0) > 0) {
      // The SQLite write thread takes its batches with its own depth (SQLITE_THREAD_DEPTH).
      log.notice('sql_commit_depth applies to the SQL store (-store sql) only; the FILE store ignores it');
    }
    // Before opening: opening would create our database file inside the reference's layout.
    assertNoReferenceFileStore(so.filestoreDir);
    const writer = deps.spawnSqliteWriter ?? (await import('./sql/sqlite-writer')).defaultSqliteWriter();
    const adapter = await open.openSqlite({ dir: so.filestoreDir, sync: so.file.doSync, writer, growWal: open.WAL_GROWTH_BYTES });
    try {
      const st = await startupSchema(adapter, { dialect: 'sqlite', dir: so.filestoreDir, autoMigrate: true, log: (l) => log.notice(l) });
      for (const w of st.warnings) log.warn(w);
      await assertTablesPresent(st.tables, { dialect: 'sqlite', dir: so.filestoreDir });
    } catch (err) {
      await adapter.close();
      throw err;
    }
    return await started(new SqlStore(adapter, { type: 'FILE', clusterID: so.clusterID, limits: so.storeLimits, maxBatchRows: so.ioBatchSize, bulkInsertLimit: so.sql.bulkInsertLimit, ioSleepMicros: so.ioSleepTime, cipher, sealPool: { spawn: deps.spawnSealWorker } }));
  }
  const driver = so.sql.driver;
  if (driver !== 'postgres' && driver !== 'mysql') {
    throw new StoreConfigError(
      driver === '' ? 'the SQL store needs --sql_driver postgres|mysql and --sql_source' : `unsupported SQL driver "${driver}": use postgres or mysql`,
    );
  }
  if (!so.sql.source) throw new StoreConfigError('the SQL store needs --sql_source (the data source name of the database)');
  if (so.sql.noCaching) {
    log.notice(
      'sql_no_caching: every store operation is already written before it is acknowledged (group commit); ' +
        'the flag changes nothing here',
    );
  }
  // The first statements reach the database: a connection failure is said with the store, the
  // redacted source and what to check (the drivers say only `connect ECONNREFUSED h:p`).
  const opening = deps.connection?.take() ?? open.openSql({ driver, source: so.sql.source, maxOpenConns: so.sql.maxOpenConns, commitDepth: so.sql.commitDepth });
  const adapter = await opening.catch((err: unknown) => {
    throw describeConnectFailure(driver, so.sql.source, err);
  });
  try {
    const st = await startupSchema(adapter, {
      dialect: driver,
      source: so.sql.source,
      autoMigrate: so.sql.autoMigrate,
      log: (l) => log.notice(l),
    });
    for (const w of st.warnings) log.warn(w);
    await assertTablesPresent(st.tables, { dialect: driver, source: so.sql.source });
  } catch (err) {
    await adapter.close().catch(() => undefined);
    throw describeConnectFailure(driver, so.sql.source, err);
  }
  const commitDepth = (so.sql.commitDepth ?? 0) > 0 ? so.sql.commitDepth : undefined;
  return await started(new SqlStore(adapter, { type: 'SQL', clusterID: so.clusterID, limits: so.storeLimits, maxBatchRows: so.ioBatchSize, bulkInsertLimit: so.sql.bulkInsertLimit, ioSleepMicros: so.ioSleepTime, cipher, sealPool: { spawn: deps.spawnSealWorker }, commitDepth }));
}
