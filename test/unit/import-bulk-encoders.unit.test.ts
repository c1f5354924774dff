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
import { parseCopyBinary } from '../helpers/copy-binary';

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
    const parsed = parseCopyBinary(encodeCopyBinary(3, rows));
    assert.deepEqual(
      parsed,
      Array.from({ length: rows.count }, (_, i) => ({ channelID: 3, seq: rows.seqs[i], ts: rows.timestamps[i], size: batchRow(rows, i).length, data: batchRow(rows, i) })),
    );
  });
});
