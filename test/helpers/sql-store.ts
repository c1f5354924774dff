/**
 * A SqlStore on a fresh database of the shared test PostgreSQL or MariaDB, recovered and
 * initialised (server record committed). `commitDepth`: transactions in flight at most
 * (absent: the store's default per database).
 */
import { openSql } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { testDatabase, type DbKind } from './db';
import { serverInfo } from './store';

export async function openTestSqlStore(kind: DbKind, prefix: string, commitDepth?: number): Promise<{ store: SqlStore; url: string }> {
  const driver = kind === 'postgres' ? 'postgres' : 'mysql';
  const { url } = await testDatabase(kind, prefix);
  const a = await openSql({ driver, source: url, maxOpenConns: 2, commitDepth });
  await prepareSchema(a.knex, { dialect: driver, source: url, autoMigrate: true });
  const store = new SqlStore(a, { type: 'SQL', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, commitDepth });
  await store.recover();
  store.init(serverInfo('c1'));
  return { store, url };
}
