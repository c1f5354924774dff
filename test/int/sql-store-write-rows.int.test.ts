/**
 * The group commit's message rows on real PostgreSQL (COPY binary; a prepared INSERT for a few
 * rows) and MariaDB (prepared statements, binary protocol): dialect `writeMessageRows`,
 * batch-writer.ts.
 *
 *  - Rows of several channels (empty, small, and one larger than a COPY chunk), written in a
 *    transaction with event rows and then alone (autocommit), read back byte for byte with
 *    their channel, sequence, timestamp and size.
 *  - PostgreSQL: the COPY's rows are sent behind the query without waiting for the server's
 *    CopyInResponse; a COPY that fails before copy mode (no such table) fails with the
 *    database's error and the connection stays usable (the rows sent behind it were ignored).
 *  - A few rows per commit (a sync publisher's: PostgreSQL's prepared INSERT) read back the same.
 *  - A row the database refuses in the middle of a batch (a trigger, as a DBA's rule) fails
 *    exactly its own publish: the COPY / prepared INSERT of the whole batch fails, the batch
 *    is split down to the refused rows, every other row is stored once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { num, toBuffer } from '../../src/store/sql/dialect';
import { copyIn, encodeRowsCopyBinary } from '../../src/store/sql/dialect/postgres-copy';
import { PG_PREPARED_MAX_ROWS } from '../../src/store/sql/dialect/postgres-rows';
import type { SqlChannelStore } from '../../src/store/sql/message-store';
import type { DbKind } from '../helpers/db';
import { openTestSqlStore } from '../helpers/sql-store';
import { assertRefusals, storePoisoned } from '../helpers/store';
import { refusePoison } from '../helpers/poison-trigger';

const TS = 1_796_520_990_264_663_808;
const stores: SqlStore[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
});

async function openStore(kind: DbKind, prefix: string): Promise<SqlStore> {
  const { store } = await openTestSqlStore(kind, prefix);
  stores.push(store);
  await store.commit();
  return store;
}

interface Row {
  channel_id: number | string;
  seq: number | string;
  ts: number | string;
  size: number | string;
  data: Buffer;
}

async function readRows(store: SqlStore): Promise<Array<{ channel: number; seq: number; ts: number; size: number; data: Buffer }>> {
  const rows = (await store.adapter.knex('stan_messages').select('channel_id', 'seq', 'ts', 'size', 'data').orderBy(['channel_id', 'seq'])) as Row[];
  return rows.map((r) => ({ channel: num(r.channel_id), seq: num(r.seq), ts: num(r.ts), size: num(r.size), data: toBuffer(r.data) }));
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe(`group commit rows (${kind})`, () => {
    test('rows of several channels read back identical, in a transaction and autocommitted', async () => {
      const store = await openStore(kind, 'wrrows');
      const chans = [store.createChannel('a'), store.createChannel('b'), store.createChannel('c')];
      const payloads = (round: number): Buffer[] => [Buffer.alloc(0), Buffer.from(`small ${round}`), Buffer.alloc(128, 7 + round), Buffer.alloc((3 << 20) / 2, round)];
      const expected: Array<{ channel: number; seq: number; ts: number; size: number; data: Buffer }> = [];
      let seq = 0;
      // Round 0 carries the channels' creation events (one transaction); round 1 is rows only
      // (autocommitted on its own, nothing else in flight).
      for (const round of [0, 1]) {
        for (const data of payloads(round)) {
          seq++;
          for (const [k, ch] of chans.entries()) {
            const stored = ch.msgs.store({ seq, timestamp: TS + seq * 4096 + k, subject: 'x', reply: '', data });
            expected.push({ channel: (ch as SqlChannelStore).id, seq, ts: TS + seq * 4096 + k, size: stored.bytes.length, data: Buffer.from(stored.bytes) });
          }
        }
        await store.commit();
      }
      expected.sort((x, y) => x.channel - y.channel || x.seq - y.seq);
      assert.deepEqual(await readRows(store), expected);
    });

    // PostgreSQL writes batches of at most PG_PREPARED_MAX_ROWS rows with a prepared INSERT
    // (postgres-rows.ts), larger ones by COPY; MariaDB prepares one statement per row count.
    test('a few rows per commit (a sync publisher\'s) read back identical, alone and with events', async () => {
      const store = await openStore(kind, 'wrfew');
      const expected: Array<{ channel: number; seq: number; ts: number; size: number; data: Buffer }> = [];
      const put = (ch: ReturnType<SqlStore['createChannel']>, seq: number, data: Buffer): void => {
        const stored = ch.msgs.store({ seq, timestamp: TS + seq * 4096, subject: 'x', reply: '', data });
        expected.push({ channel: (ch as SqlChannelStore).id, seq, ts: TS + seq * 4096, size: stored.bytes.length, data: Buffer.from(stored.bytes) });
      };
      // With the channel's creation event: one transaction.
      const ch = store.createChannel('few');
      put(ch, 1, Buffer.from('first'));
      await store.commit();
      // Alone (autocommitted): 1, 2, 3 and PG_PREPARED_MAX_ROWS rows, then one more (COPY).
      let seq = 1;
      for (const n of [1, 2, 3, PG_PREPARED_MAX_ROWS, PG_PREPARED_MAX_ROWS + 1, 1]) {
        for (let i = 0; i < n; i++) {
          seq++;
          put(ch, seq, seq % 3 === 0 ? Buffer.alloc(0) : Buffer.alloc(100 + seq, seq));
        }
        await store.commit();
      }
      assert.deepEqual(await readRows(store), expected);
    });

    test('a row refused in the middle of a batch fails its own publish only', async () => {
      const store = await openStore(kind, 'wrrefuse');
      await refusePoison(store.adapter.knex, kind);
      const ch = store.createChannel('foo');
      const poison = new Set([2, 17, 18, 40]);
      storePoisoned(ch, 40, poison, TS);
      await store.commit();
      assertRefusals(ch, 40, poison, /message refused by the database, not stored: .*poison payload refused/);
      assert.equal(store.failure, undefined);
      const seqs = (await readRows(store)).map((r) => r.seq);
      assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1).filter((s) => !poison.has(s)));
    });
  });
}

test('PostgreSQL: a COPY failing before copy mode leaves its connection usable', async () => {
  const store = await openStore('postgres', 'wrcopyfail');
  const chunks = encodeRowsCopyBinary([{ channel_id: 1, seq: 1, ts: TS, size: 3 }], [Buffer.from('abc')]);
  const answer = await store.adapter.knex.transaction(async (trx) => {
    await trx.raw('SAVEPOINT before_copy');
    await assert.rejects(copyIn(trx, 'COPY no_such_table (a) FROM STDIN (FORMAT binary)', chunks), (err: unknown) => (err as { code?: string }).code === '42P01');
    await trx.raw('ROLLBACK TO SAVEPOINT before_copy');
    // The same connection answers the next statement with its own result.
    return ((await trx.raw('SELECT 41 + 1 AS n')) as { rows: Array<{ n: number }> }).rows[0].n;
  });
  assert.equal(answer, 42);
});
