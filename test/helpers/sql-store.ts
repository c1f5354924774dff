/**
 * A SqlStore on a fresh database of the shared test PostgreSQL or MariaDB, recovered and
 * initialised (server record committed). `commitDepth`: transactions in flight at most
 * (absent: the store's default per database).
 */
import assert from 'node:assert/strict';
import { openSql } from '../../src/store/sql/open';
import { num } from '../../src/store/sql/dialect';
import type { SqlDriver } from '../../src/store/sql/dsn-common';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { testDatabase, type DbKind } from './db';
import { serverInfo } from './store';

export async function openTestSqlStore(kind: DbKind, prefix: string, commitDepth?: number): Promise<{ store: SqlStore; url: string }> {
  const { url } = await testDatabase(kind, prefix);
  return { store: await openSqlStoreAt(kind === 'postgres' ? 'postgres' : 'mysql', url, commitDepth), url };
}

/** A SqlStore on the database `source` names (schema migrated), recovered and initialised. */
export async function openSqlStoreAt(driver: SqlDriver, source: string, commitDepth?: number): Promise<SqlStore> {
  const a = await openSql({ driver, source, maxOpenConns: 2, commitDepth });
  await prepareSchema(a.knex, { dialect: driver, source, autoMigrate: true });
  const store = new SqlStore(a, { type: 'SQL', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, commitDepth });
  await store.recover();
  store.init(serverInfo('c1'));
  return store;
}

/** The store's message rows are seq 1..count in order, each holding `payload(seq)` (the data column is the stored MsgProto). */
export async function assertPayloadsStored(store: SqlStore, count: number, payload: (seq: number) => Buffer): Promise<void> {
  const rows = (await store.adapter.knex('stan_messages').select('seq', 'data').orderBy('seq')) as Array<{ seq: number | string; data: Buffer }>;
  assert.deepEqual(
    rows.map((r) => num(r.seq)),
    Array.from({ length: count }, (_, i) => i + 1),
  );
  for (const r of rows) assert.ok(Buffer.from(r.data).includes(payload(num(r.seq))), `message ${num(r.seq)}`);
}
