/**
 * The bulk append's statement builders without a database (the int test runs them against
 * real ones): MariaDB's wide INSERTs stay under the statement size they are given and carry
 * every row once, in order, hex-encoded; PostgreSQL's COPY binary stream parses back to the
 * rows (signature, 5 fields per tuple, int8/int4 big-endian, bytea as is, trailer).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageBatchBuilder, batchRow } from '../../src/import/reference/msg-batch';
import { wideInserts } from '../../src/store/sql/dialect/mysql-bulk';
import { encodeCopyBinary } from '../../src/store/sql/dialect/postgres-copy';

function batch(n: number): ReturnType<MessageBatchBuilder['take']> {
  const b = new MessageBatchBuilder(n, 1 << 30);
  for (let i = 0; i < n; i++) b.addMessage(100 + i, 'enc.ch', '', Buffer.alloc(50 + (i % 7) * 100, i), 1_796_520_990_264_663_943n + BigInt(i));
  return b.take();
}

describe('bulk append encoders', () => {
  test('wide INSERTs: each within the statement size, every row once and in order', () => {
    const rows = batch(300);
    const limit = 6000 + 4096 + 100;
    const stmts = wideInserts(7, rows, limit);
    assert.ok(stmts.length > 5, `${stmts.length} statements`);
    const values = stmts.flatMap((s) => {
      assert.ok(Buffer.byteLength(s) <= limit, `${Buffer.byteLength(s)} > ${limit}`);
      return [...s.matchAll(/\((\d+),(\d+),(\d+),(\d+),X'([0-9a-f]*)'\)/g)].map((m) => m.slice(1).join(' '));
    });
    assert.deepEqual(values, Array.from({ length: 300 }, (_, i) => `7 ${rows.seqs[i]} ${rows.timestamps[i]} ${batchRow(rows, i).length} ${batchRow(rows, i).toString('hex')}`));
  });

  test('COPY binary: parses back to the rows', () => {
    const rows = batch(40);
    const all = Buffer.concat(encodeCopyBinary(3, rows));
    assert.equal(all.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
    let p = 19;
    for (let i = 0; i < rows.count; i++) {
      assert.equal(all.readInt16BE(p), 5);
      p += 2;
      const fields: Buffer[] = [];
      for (let f = 0; f < 5; f++) {
        const len = all.readInt32BE(p);
        fields.push(all.subarray(p + 4, p + 4 + len));
        p += 4 + len;
      }
      assert.equal(fields[0].readBigInt64BE(0), 3n);
      assert.equal(Number(fields[1].readBigInt64BE(0)), rows.seqs[i]);
      assert.equal(Number(fields[2].readBigInt64BE(0)), rows.timestamps[i]);
      assert.equal(fields[3].readInt32BE(0), batchRow(rows, i).length);
      assert.deepEqual(fields[4], batchRow(rows, i));
    }
    assert.equal(all.readInt16BE(p), -1);
    assert.equal(p + 2, all.length);
  });
});
