import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { packPageRows, unpackPage, type RawPageRow } from '../../src/store/sql/page-pack';

test('packed page rows unpack to the same rows, int64 values as JS numbers (ns timestamps, negative, 2^32 boundaries)', () => {
  const rows: RawPageRow[] = [
    [1, 1_765_012_345_678_901_234, Buffer.from('first')],
    [2, 0, Buffer.alloc(0)],
    [4_294_967_296, -5, Buffer.from([0, 255, 10, 13])],
    [4_294_967_297, 4_294_967_295, new Uint8Array(70_000).fill(7)],
    [9_007_199_254_740_991n, -4_294_967_296n, Buffer.from('big')],
  ];
  const packed = packPageRows(rows);
  assert.ok(packed);
  const got: Array<[number, number, string]> = [];
  unpackPage(packed, 'test', (seq, ts, data) => got.push([seq, ts, Buffer.from(data).toString('hex')]));
  assert.deepEqual(
    got,
    rows.map((r) => [Number(r[0]), Number(r[1]), Buffer.from(r[2]).toString('hex')]),
  );
  assert.equal(packed.byteOffset, 0, 'a buffer of its own: its ArrayBuffer can be transferred whole');
  assert.equal(packed.buffer.byteLength, packed.length);
});

test('no rows pack to null; a packed page cut short is an error naming its source', () => {
  assert.equal(packPageRows([]), null);
  const full = packPageRows([[7, 1, Buffer.from('abcdef')]]);
  assert.ok(full);
  for (const cut of [5, 19, 21, full.length - 1]) {
    assert.throws(() => unpackPage(full.subarray(0, cut), 'the SQLite thread', () => undefined), /cold page from the SQLite thread cut short/);
  }
});
