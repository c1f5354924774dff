/** StoreUnderTest factories for the SQL store on SQLite, PostgreSQL and MariaDB. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSql, openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { testDatabase, type DbKind } from './db';
import type { StoreUnderTest } from './store-contract';
import type { SqliteWriterSpawner } from '../../src/store/sql/sqlite-writer';

/** `writer`: commits through the FILE store's write thread (sqlite-writer.ts). */
export function sqliteUnderTest(writer?: SqliteWriterSpawner): StoreUnderTest {
  let dir = '';
  return {
    name: writer === undefined ? 'SQL on SQLite (FILE)' : 'SQL on SQLite (FILE), write thread',
    persistent: true,
    capabilities: { fenced: true, commitObservable: true, healthChecked: true },
    fresh: () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-contract-'));
      return Promise.resolve();
    },
    open: async ({ clusterID, limits, now }) => {
      const a = await openSqlite({ dir, sync: false, writer });
      await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
      return new SqlStore(a, { type: 'FILE', clusterID, limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, now });
    },
  };
}

export function sqlUnderTest(kind: DbKind): StoreUnderTest {
  let url = '';
  const driver = kind === 'postgres' ? 'postgres' : 'mysql';
  return {
    name: `SQL on ${kind === 'postgres' ? 'PostgreSQL' : 'MariaDB'}`,
    persistent: true,
    capabilities: { fenced: true, commitObservable: true, healthChecked: true },
    fresh: async () => {
      url = (await testDatabase(kind, 'contract')).url;
    },
    open: async ({ clusterID, limits, now }) => {
      const a = await openSql({ driver, source: url, maxOpenConns: 2 });
      await prepareSchema(a.knex, { dialect: driver, source: url, autoMigrate: true });
      return new SqlStore(a, { type: 'SQL', clusterID, limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, now });
    },
  };
}
