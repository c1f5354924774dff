/**
 * Creates the configured store: MEMORY, FILE (SQLite file in -dir) or SQL (Postgres/MySQL).
 * Persistent stores check (or, when allowed, migrate) their schema before anything else, and
 * refuse the reference Go server's data.
 */
import type { StreamingOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { MemoryStore } from './memory';
import type { Store } from './types';

export class StoreConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConfigError';
  }
}

export async function openStore(so: StreamingOptions, log: Logger): Promise<Store> {
  if (so.storeType === 'MEMORY') return new MemoryStore(so.storeLimits);
  const [{ SqlStore }, { prepareSchema, assertNoReferenceFileStore }, open] = await Promise.all([
    import('./sql/sql-store'),
    import('./sql/schema-check'),
    import('./sql/open'),
  ]);
  if (so.storeType === 'FILE') {
    if (!so.filestoreDir) throw new StoreConfigError('the FILE store needs a directory: add --dir <path>');
    // Before opening: opening would create our database file inside the reference's layout.
    assertNoReferenceFileStore(so.filestoreDir);
    const adapter = await open.openSqlite({ dir: so.filestoreDir, sync: so.file.doSync });
    try {
      const st = await prepareSchema(adapter.knex, { dialect: 'sqlite', dir: so.filestoreDir, autoMigrate: true, log: (l) => log.notice(l) });
      for (const w of st.warnings) log.warn(w);
    } catch (err) {
      await adapter.close();
      throw err;
    }
    return new SqlStore(adapter, { type: 'FILE', clusterID: so.clusterID, limits: so.storeLimits, maxBatchRows: so.ioBatchSize, bulkInsertLimit: so.sql.bulkInsertLimit, ioSleepMicros: so.ioSleepTime });
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
  const adapter = await open.openSql({ driver, source: so.sql.source, maxOpenConns: so.sql.maxOpenConns });
  try {
    const st = await prepareSchema(adapter.knex, {
      dialect: driver,
      source: so.sql.source,
      autoMigrate: so.sql.autoMigrate,
      log: (l) => log.notice(l),
    });
    for (const w of st.warnings) log.warn(w);
  } catch (err) {
    await adapter.close();
    throw err;
  }
  return new SqlStore(adapter, { type: 'SQL', clusterID: so.clusterID, limits: so.storeLimits, maxBatchRows: so.ioBatchSize, bulkInsertLimit: so.sql.bulkInsertLimit, ioSleepMicros: so.ioSleepTime });
}
