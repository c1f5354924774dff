import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { unpackPgPage } from '../../src/store/sql/dialect/page-reads';

/** What PostgreSQL's int8send(seq) || int8send(ts) || int4send(length(data)) || data gives. */
function pack(rows: Array<{ seq: bigint; ts: bigint; data: Buffer }>): Buffer {
  return Buffer.concat(
    rows.map((r) => {
      const h = Buffer.alloc(20);
      h.writeBigInt64BE(r.seq, 0);
      h.writeBigInt64BE(r.ts, 8);
      h.writeUInt32BE(r.data.length, 16);
      return Buffer.concat([h, r.data]);
    }),
  );
}

test('a packed PostgreSQL page unpacks to its rows; int64 values as Number() of their decimal would give', () => {
  const rows = [
    { seq: 1n, ts: 1_765_012_345_678_901_234n, data: Buffer.from('first') },
    { seq: 2n, ts: 1_765_012_345_678_901_999n, data: Buffer.alloc(0) },
    { seq: 4_294_967_297n, ts: -5n, data: Buffer.from([0, 255, 10, 13]) },
    { seq: 9_007_199_254_740_991n, ts: 4_294_967_295n, data: Buffer.alloc(70_000, 7) },
  ];
  const got: Array<[number, number, string]> = [];
  unpackPgPage(pack(rows), (seq, ts, data) => got.push([seq, ts, data.toString('hex')]));
  assert.deepEqual(
    got,
    rows.map((r) => [Number(String(r.seq)), Number(String(r.ts)), r.data.toString('hex')]),
  );
});

test('a packed page cut short is an error, not a wrong row', () => {
  const full = pack([{ seq: 7n, ts: 1n, data: Buffer.from('abcdef') }]);
  for (const cut of [5, 19, 21, full.length - 1]) {
    assert.throws(() => unpackPgPage(full.subarray(0, cut), () => undefined), /cut short/);
  }
});
