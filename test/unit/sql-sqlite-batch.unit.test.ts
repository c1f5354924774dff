/**
 * The FILE store's write-thread plan (src/store/sql/sqlite-batch.ts): it owns copies of every
 * byte it carries (message rows are views into a shared MsgRing chunk, reused after the
 * commit), keeps the rows' order and columns, and lists every buffer to transfer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packSqliteBatch, planBuffers } from '../../src/store/sql/sqlite-batch';
import { EventKind } from '../../src/store/events/events';
import type { MsgRow } from '../../src/store/sql/pending-batch';

/** A row as the store records it: its bytes are chunk[at, at + len), no data of its own. */
function row(seq: number, chunk: Buffer, at: number, len: number, channel = 7): MsgRow {
  return { channel_id: channel, seq, ts: 1_700_000_000_000 + seq, size: len, data: null, src: chunk, at };
}

test('the plan copies row bytes: changing the source chunk afterwards does not change it', () => {
  const chunk = Buffer.from('aaaabbbbbbcc');
  const rows = [row(1, chunk, 0, 4), row(2, chunk, 4, 6), row(3, chunk, 10, 2)];
  const plan = packSqliteBatch([], rows, { dropChannels: [], skipExisting: false, encrypting: false });
  chunk.fill(0x7a);
  assert.equal(Buffer.from(plan.msgs.bytes).toString(), 'aaaabbbbbbcc');
  assert.deepEqual([...plan.msgs.ends], [4, 10, 12]);
  assert.deepEqual([...plan.msgs.seqs], [1, 2, 3]);
  assert.deepEqual([...plan.msgs.sizes], [4, 6, 2]);
  assert.deepEqual([...plan.msgs.channels], [7, 7, 7]);
  assert.equal(plan.msgs.ts[2], 1_700_000_000_003);
  // No buffer of the plan is the source's.
  for (const b of planBuffers(plan)) assert.notEqual(b, chunk.buffer);
});

test('events keep their order and channel (none: NaN); deletes and retries are carried', () => {
  const plan = packSqliteBatch(
    [
      { kind: EventKind.ClientClosed, clientID: 'me' },
      { kind: EventKind.ChannelCreated, channelID: 3, name: 'foo' },
    ],
    [],
    { dropChannels: [9], skipExisting: true, encrypting: false, deletes: new Map([[3, 10]]), fence: { sql: 'update x set y = 1', bindings: ['g'] } },
  );
  assert.deepEqual([...plan.events.kinds], [EventKind.ClientClosed, EventKind.ChannelCreated]);
  assert.ok(Number.isNaN(plan.events.channels[0]));
  assert.equal(plan.events.channels[1], 3);
  assert.equal(plan.events.ends.length, 2);
  assert.deepEqual(plan.deletes, [[3, 10]]);
  assert.deepEqual(plan.dropChannels, [9]);
  assert.equal(plan.skipExisting, true);
  assert.equal(plan.fence?.sql, 'update x set y = 1');
});

test('a row not sealed yet cannot be packed (nothing is ever written unsealed)', () => {
  const r: MsgRow = row(1, Buffer.from('abcd'), 0, 4);
  assert.throws(() => packSqliteBatch([], [r], { dropChannels: [], skipExisting: false, encrypting: true }));
});

test('every column of a plan is a view of the one buffer handed over, and none overlaps another', () => {
  const chunk = Buffer.from('aaaabbbbbbcc');
  const plan = packSqliteBatch(
    [{ kind: EventKind.ChannelCreated, channelID: 3, name: 'foo' }],
    [row(1, chunk, 0, 4), row(2, chunk, 4, 6), row(3, chunk, 10, 2)],
    { dropChannels: [], skipExisting: false, encrypting: false },
  );
  const buffers = planBuffers(plan);
  assert.equal(buffers.length, 1);
  const cols = [plan.events.bytes, plan.events.ends, plan.events.kinds, plan.events.channels, plan.msgs.bytes, plan.msgs.ends, plan.msgs.channels, plan.msgs.seqs, plan.msgs.ts, plan.msgs.sizes];
  for (const c of cols) assert.equal(c.buffer, buffers[0]);
  const spans = cols.map((c) => [c.byteOffset, c.byteOffset + c.byteLength]).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], 'columns overlap');
  assert.equal(spans[spans.length - 1][1], buffers[0].byteLength);
  // Written in full: the event body and the rows read back as packed.
  assert.equal(Buffer.from(plan.msgs.bytes).toString(), 'aaaabbbbbbcc');
  assert.equal(plan.events.ends[0], plan.events.bytes.byteLength);
  assert.deepEqual([...plan.msgs.seqs], [1, 2, 3]);
});

test('rows of several chunks, out of chunk order and beside rows with data of their own, are each packed with their own bytes', () => {
  // Two channels' chunks, rows interleaved; a gap in chunk a (its row 2 is not in the batch);
  // a row whose data is its own (a test row, or a retried sealed one) between two neighbours.
  const a = Buffer.from('a1a1a2a2a2a3a3');
  const b = Buffer.from('XXb1b1b1b2');
  const own = Buffer.from('own!');
  const rows: MsgRow[] = [
    row(1, a, 0, 4),
    row(1, b, 2, 6, 8),
    row(3, a, 10, 4),
    { ...row(2, b, 8, 2, 8), data: own },
    row(3, b, 8, 2, 8),
    row(4, b, 0, 2, 8),
  ];
  const plan = packSqliteBatch([], rows, { dropChannels: [], skipExisting: false, encrypting: false });
  const bytes = Buffer.from(plan.msgs.bytes);
  const got: string[] = [];
  let start = 0;
  for (const end of plan.msgs.ends) {
    got.push(bytes.subarray(start, end).toString());
    start = end;
  }
  assert.deepEqual(got, ['a1a1', 'b1b1b1', 'a3a3', 'own!', 'b2', 'XX']);
  assert.deepEqual([...plan.msgs.sizes], [4, 6, 4, 2, 2, 2]);
});

test('back-to-back rows of one chunk are packed as they lie, and the rows after a row with own data keep their places', () => {
  const c = Buffer.from('0123456789');
  // Row 4 follows row 2 in the chunk, but not in the plan (row 3's own bytes lie between).
  const rows: MsgRow[] = [row(1, c, 0, 3), row(2, c, 3, 3), { ...row(3, c, 9, 1), data: Buffer.from('zz') }, row(4, c, 6, 3)];
  const plan = packSqliteBatch([], rows, { dropChannels: [], skipExisting: false, encrypting: false });
  assert.equal(Buffer.from(plan.msgs.bytes).toString(), '012345zz678');
  assert.deepEqual([...plan.msgs.ends], [3, 6, 8, 11]);
});
