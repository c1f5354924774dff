/**
 * The prepared INSERT's protocol messages framed by the store
 * (src/store/sql/dialect/postgres-insert.ts): byte for byte what pg-protocol's serializer
 * writes for the same statement, parameter types and binary values (int8 big-endian, exact
 * above 2^53 as COPY binary writes them), Execute and Sync; and the submittable sends Parse
 * only while the connection has not prepared the statement. The round trip against PostgreSQL runs in
 * test/int/sql-store-write-rows.int.test.ts ("a few rows per commit").
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { serialize } from 'pg-protocol';
import { encodeInsertBind, encodeInsertParse, runPreparedInsert } from '../../src/store/sql/dialect/postgres-insert';

function int8(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

function int4(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const ROWS = [
  { channel_id: 1, seq: 1, ts: 1_796_520_990_264_663_808, size: 5 },
  { channel_id: 2_147_483_648, seq: 2 ** 53 - 1, ts: 0, size: 0 },
  { channel_id: 7, seq: 123_456_789_012, ts: -1.5e18, size: 3 },
];
const DATA = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0, 0xff, 0x5c])];

function pgBytes(name: string, n: number): Buffer {
  const values: unknown[] = [];
  for (let i = 0; i < n; i++) values.push(int8(ROWS[i].channel_id), int8(ROWS[i].seq), int8(ROWS[i].ts), int4(ROWS[i].size), DATA[i]);
  const bind = serialize.bind({ statement: name, values: values as never[] });
  return Buffer.concat([bind, serialize.execute(), serialize.sync()]);
}

for (const n of [1, 2, 3]) {
  test(`Bind + Execute + Sync for ${n} row(s) are the bytes pg wrote`, () => {
    const name = `stan_msgs_ins_${n}`;
    assert.deepEqual(encodeInsertBind(name, ROWS.slice(0, n), DATA.slice(0, n)), pgBytes(name, n));
  });
  test(`Parse for ${n} row(s) gives every parameter its column's type`, () => {
    const types = Array.from({ length: n }, () => [20, 20, 20, 23, 17]).flat();
    assert.deepEqual(encodeInsertParse('s', 'insert …', n), serialize.parse({ name: 's', text: 'insert …', types }));
  });
}

interface Written {
  bytes: Buffer[];
}

/** A stand-in for pg's Client and Connection: records what the query writes, answers as told. */
function fakeClient(parsed: Record<string, string | undefined>, w: Written, answer: (q: { handleReadyForQuery(): void; handleError(e: Error): void }) => void) {
  const con = {
    stream: {
      writable: true,
      write: (b: Buffer) => {
        w.bytes.push(Buffer.from(b));
        return true;
      },
      cork: () => undefined,
      uncork: () => undefined,
    },
    parsedStatements: parsed,
    submittedNamedStatements: {} as Record<string, string | undefined>,
  };
  return {
    con,
    query(q: { submit(c: typeof con): void; handleReadyForQuery(): void; handleError(e: Error): void }) {
      q.submit(con);
      answer(q);
    },
  };
}

test('Parse goes first only while the connection has not prepared the statement', async () => {
  const w: Written = { bytes: [] };
  const parsed: Record<string, string | undefined> = {};
  const client = fakeClient(parsed, w, (q) => q.handleReadyForQuery());
  await runPreparedInsert(client, 'stan_msgs_ins_1', 'insert 1', ROWS.slice(0, 1), DATA.slice(0, 1));
  assert.equal(w.bytes.length, 2);
  assert.deepEqual(w.bytes[0], encodeInsertParse('stan_msgs_ins_1', 'insert 1', 1));
  assert.deepEqual(w.bytes[1], pgBytes('stan_msgs_ins_1', 1));
  assert.equal(client.con.submittedNamedStatements.stan_msgs_ins_1, 'insert 1');
  // pg records the statement as parsed at ParseComplete: from then on, Bind alone.
  parsed.stan_msgs_ins_1 = 'insert 1';
  w.bytes = [];
  await runPreparedInsert(client, 'stan_msgs_ins_1', 'insert 1', ROWS.slice(0, 1), DATA.slice(0, 1));
  assert.deepEqual(w.bytes, [pgBytes('stan_msgs_ins_1', 1)]);
});

test("the server's error rejects the insert with that error", async () => {
  const err = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
  const client = fakeClient({ s: 'x' }, { bytes: [] }, (q) => {
    q.handleError(err);
    q.handleReadyForQuery();
  });
  await assert.rejects(runPreparedInsert(client, 's', 'x', ROWS.slice(0, 1), DATA.slice(0, 1)), (e) => e === err);
});
