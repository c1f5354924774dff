/**
 * The SQL store's bulk append (BulkAppendStore, used by the import) on real SQLite, PostgreSQL
 * and MariaDB: the rows it writes (COPY binary, wide INSERTs, a prepared INSERT) are exactly
 * those of MsgStore.store + commit, byte for byte, for payloads holding every byte value, NUL,
 * newlines, backslashes, quotes, COPY's end marker and an empty payload; the store's state and
 * a reopened store's recovered state agree; a batch limits would trim is declined (false,
 * nothing written); a refused COPY (duplicate key) fails, writes nothing and leaves the
 * store usable.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStoreLimits } from '../../src/config/options';
import type { ChannelStore } from '../../src/store/contract';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { MessageBatchBuilder, type MessageBatch } from '../../src/import/reference/msg-batch';
import { serverInfo } from '../helpers/store';
import { sqliteUnderTest, sqlUnderTest } from '../helpers/store-contract-sql';
import type { StoreUnderTest } from '../helpers/store-contract';

const T0 = 1_796_520_990_264_663_943n;

/** Payloads the encoders must carry unchanged. */
function payloads(): Buffer[] {
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return [
    all,
    Buffer.from('line1\nline2\r\n\ttab\\N\\.\n\\.\n'),
    Buffer.from([0, 0, 0]),
    Buffer.from("quote ' double \" backtick ` X'00' \\x00"),
    Buffer.alloc(0),
    Buffer.alloc(70_000, 0xff),
    Buffer.from('\\.'),
    Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'),
  ];
}

function batchOf(firstSeq: number, data: Buffer[]): MessageBatch {
  const b = new MessageBatchBuilder(data.length, 1 << 30);
  data.forEach((d, i) => b.addMessage(firstSeq + i, 'bulk.ch', i % 2 === 0 ? '' : '_INBOX.r', d, T0 + BigInt(i)));
  return b.take();
}

async function rowsOf(s: SqlStore, channelID: number): Promise<string[]> {
  const rows = (await s.adapter.knex('stan_messages').select('seq', 'ts', 'size', 'data').where('channel_id', channelID).orderBy('seq')) as Array<{ seq: unknown; ts: unknown; size: unknown; data: Buffer }>;
  return rows.map((r) => `${String(r.seq)}:${String(r.ts)}:${String(r.size)}:${Buffer.from(r.data).toString('hex')}`);
}

function state(cs: ChannelStore): string {
  const m = cs.msgs;
  return `${m.firstSeq}..${m.lastSeq} n=${m.msgCount} bytes=${m.byteCount}`;
}

function suite(under: StoreUnderTest): void {
  describe(`bulk append on ${under.name}`, () => {
    const open = async (limits = defaultStoreLimits()): Promise<SqlStore> => (await under.open({ clusterID: 'c1', limits, now: Date.now })) as SqlStore;

    test('same rows and state as storing one by one; a reopened store recovers the same', async () => {
      await under.fresh();
      const s = await open();
      let live = '';
      try {
        await s.recover();
        s.init(serverInfo('c1'));
        const one = s.createChannel('one');
        const bulk = s.createChannel('bulk');
        await s.commit();
        const data = payloads();
        const b = batchOf(5, data);
        data.forEach((d, i) => one.msgs.store({ seq: 5 + i, timestamp: Number(T0 + BigInt(i)), timestampNs: T0 + BigInt(i), subject: 'bulk.ch', reply: i % 2 === 0 ? '' : '_INBOX.r', data: d }));
        await s.commit();
        assert.equal(await s.appendBulk(bulk, b), true);
        assert.deepEqual(await rowsOf(s, 2), await rowsOf(s, 1));
        assert.equal(state(bulk), state(one));
        // The cache is gone after a bulk append: a lookup reads the row back.
        assert.deepEqual((await bulk.msgs.lookup(6))?.bytes, (await one.msgs.lookup(6))?.bytes);
        assert.equal(bulk.msgs.lastTimestamp, one.msgs.lastTimestamp);
        // A second batch continues the channel.
        assert.equal(await s.appendBulk(bulk, batchOf(5 + data.length, [Buffer.from('next')])), true);
        assert.equal(bulk.msgs.lastSeq, 5 + data.length);
        live = `${state(one)} | ${state(bulk)}`;
      } finally {
        await s.close();
      }
      const r = await open();
      try {
        const rec = await r.recover();
        const byName = new Map(rec?.channels.map((c) => [c.channel.name, c.channel]));
        assert.equal(`${state(byName.get('one') as ChannelStore)} | ${state(byName.get('bulk') as ChannelStore)}`, live);
        assert.equal((byName.get('bulk') as ChannelStore).msgs.lastSeq, 13);
      } finally {
        await r.close();
      }
    });

    test('declined (nothing written) when limits would drop messages; a refused batch writes nothing', async () => {
      await under.fresh();
      const s = await open({ ...defaultStoreLimits(), maxMsgs: 5 });
      try {
        await s.recover();
        s.init(serverInfo('c1'));
        const ch = s.createChannel('lim');
        await s.commit();
        assert.equal(await s.appendBulk(ch, batchOf(1, ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => Buffer.from(x)))), false);
        assert.equal(ch.msgs.lastSeq, 0);
        assert.deepEqual(await rowsOf(s, 1), []);
        assert.equal(await s.appendBulk(ch, batchOf(1, [Buffer.from('a'), Buffer.from('b')])), true);
        // Not above the last sequence: declined as well.
        assert.equal(await s.appendBulk(ch, batchOf(2, [Buffer.from('x')])), false);
        // A row already in the table (written behind the store's back): the database refuses
        // the whole batch, nothing of it stays, and the store keeps working.
        await s.adapter.knex('stan_messages').insert({ channel_id: 1, seq: 4, ts: 1, size: 1, data: Buffer.from('z') });
        await assert.rejects(s.appendBulk(ch, batchOf(3, [Buffer.from('c'), Buffer.from('d')])));
        assert.equal(ch.msgs.lastSeq, 2);
        assert.equal((await rowsOf(s, 1)).length, 3);
        assert.equal(await s.appendBulk(ch, batchOf(5, [Buffer.from('e')])), true);
        assert.deepEqual((await rowsOf(s, 1)).map((r) => r.split(':')[0]), ['1', '2', '4', '5']);
      } finally {
        await s.close();
      }
    });
  });
}

suite(sqliteUnderTest());
suite(sqlUnderTest('postgres'));
suite(sqlUnderTest('mariadb'));
