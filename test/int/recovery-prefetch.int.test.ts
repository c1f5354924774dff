/**
 * The recovery's first reads in one round trip (src/store/sql/log-prefetch.ts) and the schema
 * check's two reads in one (schema-startup.ts), on real PostgreSQL and MariaDB (and SQLite):
 * a store with a snapshot, events after it and message rows recovers the same state through
 * the one round trip as through the statements one at a time, with one multi-statement read
 * and no single read of the log; a failing statement gives the same error both ways.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { prepareSchemaAtStartup } from '../../src/store/sql/schema-startup';
import { SqlStore } from '../../src/store/sql/sql-store';
import { loadCommittedState } from '../../src/store/sql/recovery';
import type { PlainRows, PlainRowsMulti } from '../../src/store/sql/plain-reads';
import { defaultStoreLimits } from '../../src/config/options';
import { openTestSqlStore } from '../helpers/sql-store';
import { serverInfo } from '../helpers/store';

const opened: SqlStore[] = [];
after(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
});

async function sqliteStore(): Promise<{ store: SqlStore; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-prefetch-'));
  const a = await openSqlite({ dir, sync: false });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  const store = new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
  await store.recover();
  store.init(serverInfo('c1'));
  return { store, dir };
}

function client(id: string): Parameters<SqlStore['addClient']>[0] {
  return { ID: id, HbInbox: `_INBOX.${id}`, ConnID: Buffer.from(id), Protocol: 1, PingInterval: 5, PingMaxOut: 3 };
}

function put(st: SqlStore, channel: string, seq: number): void {
  const ch = st.lookupChannel(channel) ?? st.createChannel(channel);
  ch.msgs.store({ seq, timestamp: 1_700_000_000_000_000_000 + seq, subject: channel, reply: '', data: Buffer.from(`${channel}.${seq}`) });
}

/** Counts what the reads send: single statements (their text) and multi-statement reads. */
function counting(store: SqlStore): { rows: PlainRows; multi: PlainRowsMulti; singles: string[]; multis: number } {
  const a = store.adapter;
  const c = {
    singles: [] as string[],
    multis: 0,
    rows: (sql: string) => {
      c.singles.push(sql);
      return a.rawRows(sql);
    },
    multi: (sqls: readonly string[]) => {
      c.multis++;
      return a.rawRowsMulti(sqls);
    },
  };
  return c;
}

const kinds = [
  { name: 'PostgreSQL', open: async () => (await openTestSqlStore('postgres', 'prefetch')).store, dialect: 'postgres' as const },
  { name: 'MariaDB', open: async () => (await openTestSqlStore('mariadb', 'prefetch')).store, dialect: 'mysql' as const },
  { name: 'SQLite (FILE)', open: async () => (await sqliteStore()).store, dialect: 'sqlite' as const },
];

for (const k of kinds) {
  describe(`recovery and schema check in one round trip: ${k.name}`, () => {
    test('snapshot + events + messages: the same state as the reads one at a time, in one multi-statement read', async () => {
      const st = await k.open();
      opened.push(st);
      st.addClient(client('before'));
      for (let i = 1; i <= 3; i++) put(st, 'a', i);
      put(st, 'b', 1);
      await st.commit();
      await st.writeSnapshot();
      // After the snapshot: events to replay and message rows above the snapshot's sequences.
      st.addClient(client('after'));
      st.deleteClient('before');
      for (let i = 4; i <= 6; i++) put(st, 'a', i);
      st.createChannel('c');
      await st.commit();

      const oneByOne = await loadCommittedState(st.adapter.rawRows, 'c1', st.adapter.readSnapshot);
      const c = counting(st);
      const prefetched = await loadCommittedState(c.rows, 'c1', st.adapter.readSnapshot, c.multi);
      assert.deepEqual(prefetched, oneByOne);
      // Not an empty recovery: the snapshot's state, the events after it and the message rows.
      assert.ok(prefetched.replayed >= 3, `events after the snapshot replayed (${prefetched.replayed})`);
      const state = prefetched.state;
      assert.ok(state !== undefined);
      assert.deepEqual([...state.clients.keys()], ['after']);
      const a = [...state.channels.values()].find((ch) => ch.name === 'a');
      assert.deepEqual([a?.firstSeq, a?.lastSeq, a?.msgCount], [1, 6, 6]);
      assert.deepEqual([...state.channels.values()].map((ch) => ch.name).sort(), ['a', 'b', 'c']);
      // One round trip for the log; single statements only for the message aggregates.
      assert.equal(c.multis, 1);
      assert.deepEqual(c.singles.filter((s) => !s.includes('FROM stan_messages')), []);
    });

    test('a failing statement: the same error through the one round trip as one at a time', async () => {
      const st = await k.open();
      opened.push(st);
      st.addClient(client('x'));
      await st.commit();
      // Another cluster's data: refused alike.
      const c = counting(st);
      const other = (await loadCommittedState(c.rows, 'other', st.adapter.readSnapshot, c.multi).catch((e: Error) => e)) as Error;
      const otherOne = (await loadCommittedState(st.adapter.rawRows, 'other', st.adapter.readSnapshot).catch((e: Error) => e)) as Error;
      assert.ok(other instanceof Error && otherOne instanceof Error);
      assert.equal(other.message, otherOne.message);
      assert.match(other.message, /belongs to the STAN cluster "c1"/);
      // A table gone: the multi-statement read fails with the database's error, as the reads one at a time did.
      await st.adapter.knex.raw('ALTER TABLE stan_events RENAME TO stan_events_gone');
      try {
        const c2 = counting(st);
        const viaMulti = (await loadCommittedState(c2.rows, 'c1', st.adapter.readSnapshot, c2.multi).catch((e: Error) => e)) as Error;
        const viaOne = (await loadCommittedState(st.adapter.rawRows, 'c1', st.adapter.readSnapshot).catch((e: Error) => e)) as Error;
        assert.ok(viaMulti instanceof Error, 'the recovery fails without stan_events');
        assert.equal(viaMulti.message, viaOne.message);
        assert.match(viaMulti.message, /stan_events/);
        assert.equal(c2.multis, 1, 'the one round trip was tried');
        assert.deepEqual(c2.singles, [], 'and not retried one statement at a time');
      } finally {
        await st.adapter.knex.raw('ALTER TABLE stan_events_gone RENAME TO stan_events');
      }
    });

    test('schema check: an up-to-date schema is read in one round trip, with the same verdict', async () => {
      const st = await k.open();
      opened.push(st);
      const opts = { dialect: k.dialect, autoMigrate: false, source: 'x', dir: undefined };
      const c = counting(st);
      const viaMulti = await prepareSchemaAtStartup(c.rows, () => assert.fail('Knex asked for'), opts, c.multi);
      const viaOne = await prepareSchemaAtStartup(st.adapter.rawRows, () => assert.fail('Knex asked for'), opts);
      assert.deepEqual(viaMulti, viaOne);
      assert.ok(viaMulti.tables.includes('stan_migrations'));
      assert.equal(c.multis, 1);
      assert.deepEqual(c.singles, []);
    });
  });
}
