/** StoreUnderTest factories for the SQL store on SQLite, PostgreSQL and MariaDB. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSql, openSqlite } from '../../src/store/sql/open';
import { checkSchema, prepareSchema, type SchemaTarget } from '../../src/store/sql/schema-check';
import { migrate } from '../../src/store/sql/migrator';
import { MIGRATIONS } from '../../migrations';
import type { Knex } from 'knex';
import { SqlStore } from '../../src/store/sql/sql-store';
import { testDatabase, type DbKind } from './db';
import type { StoreUnderTest } from './store-contract';
import type { ChannelStore, Store } from '../../src/store/contract';
import { SqlChannelStore } from '../../src/store/sql/message-store';
import { refusePoison, type PoisonDialect } from './poison-trigger';

/** stan_messages rows per channel ID, read on the store's own reader connection. */
const storedRows: NonNullable<StoreUnderTest['storedRows']> = {
  perChannel: async (st: Store) => {
    if (!(st instanceof SqlStore)) throw new TypeError('not an SQL store');
    const rows = (await st.adapter.rawRows('SELECT channel_id, COUNT(*) AS n FROM stan_messages GROUP BY channel_id ORDER BY channel_id')) as Array<{ channel_id: number | string; n: number | string }>;
    return new Map(rows.map((r) => [Number(r.channel_id), Number(r.n)]));
  },
  idOf: (ch: ChannelStore) => {
    if (!(ch instanceof SqlChannelStore)) throw new TypeError('not an SQL channel');
    return ch.id;
  },
};

/** StoreUnderTest.refusePoison on the SQL store's own connection. */
function poisonRule(dialect: PoisonDialect): NonNullable<StoreUnderTest['refusePoison']> {
  return async (st: Store) => {
    if (!(st instanceof SqlStore)) throw new TypeError('not an SQL store');
    await refusePoison(st.adapter.knex, dialect);
  };
}
import type { SqliteWriterSpawner } from '../../src/store/sql/sqlite-writer';

/**
 * The schema as this release prepares it, or (`atSchema`) a database whose migrations stop at
 * that version, as a DBA who has not applied the later ones leaves it: this release checks it
 * (the later migrations are only a warning) and runs on it.
 */
async function schemaFor(knex: Knex, target: SchemaTarget, atSchema: number | undefined): Promise<void> {
  if (atSchema === undefined) {
    await prepareSchema(knex, { ...target, autoMigrate: true });
    return;
  }
  await migrate(knex, { migrations: MIGRATIONS.filter((m) => m.version <= atSchema) });
  const status = await checkSchema(knex, target);
  if (status.version !== atSchema) throw new Error(`test set-up: schema ${status.version}, wanted ${atSchema}`);
}

const atName = (atSchema: number | undefined): string => (atSchema === undefined ? '' : `, database at schema ${atSchema}`);

/** `writer`: commits through the FILE store's write thread (sqlite-writer.ts). `atSchema`: see schemaFor. */
export function sqliteUnderTest(writer?: SqliteWriterSpawner, atSchema?: number): StoreUnderTest {
  let dir = '';
  return {
    name: (writer === undefined ? 'SQL on SQLite (FILE)' : 'SQL on SQLite (FILE), write thread') + atName(atSchema),
    persistent: true,
    storedRows,
    refusePoison: poisonRule('sqlite'),
    capabilities: { fenced: true, commitObservable: true, healthChecked: true },
    fresh: () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-contract-'));
      return Promise.resolve();
    },
    open: async ({ clusterID, limits, now }) => {
      const a = await openSqlite({ dir, sync: false, writer });
      await schemaFor(a.knex, { dialect: 'sqlite', dir }, atSchema);
      return new SqlStore(a, { type: 'FILE', clusterID, limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, now });
    },
  };
}

export function sqlUnderTest(kind: DbKind, atSchema?: number): StoreUnderTest {
  let url = '';
  const driver = kind === 'postgres' ? 'postgres' : 'mysql';
  return {
    name: `SQL on ${kind === 'postgres' ? 'PostgreSQL' : 'MariaDB'}${atName(atSchema)}`,
    persistent: true,
    storedRows,
    refusePoison: poisonRule(kind),
    capabilities: { fenced: true, commitObservable: true, healthChecked: true },
    fresh: async () => {
      url = (await testDatabase(kind, 'contract')).url;
    },
    open: async ({ clusterID, limits, now }) => {
      const a = await openSql({ driver, source: url, maxOpenConns: 2 });
      await schemaFor(a.knex, { dialect: driver, source: url }, atSchema);
      return new SqlStore(a, { type: 'SQL', clusterID, limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0, now });
    },
  };
}
