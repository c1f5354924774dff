/**
 * The group commit's message-row encoders without a database (test/int/sql-store-write-rows
 * runs them against real ones): PostgreSQL's COPY binary stream of rows from several channels
 * parses back to exactly those rows (the size column is the row's own, not the data's length:
 * sealed rows are longer), across chunk boundaries and for a row larger than a chunk;
 * MySQL's prepared statements cover every row once, in order, in a few statement sizes, each
 * within the statement size limit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRowsCopyBinary } from '../../src/store/sql/dialect/postgres-copy';
import { statementSizes } from '../../src/store/sql/dialect/mysql-rows';
import { parseCopyBinary } from '../helpers/copy-binary';

function rowsOf(lengths: number[]): { rows: Array<{ channel_id: number; seq: number; ts: number; size: number }>; data: Buffer[] } {
  const rows = lengths.map((len, i) => ({ channel_id: 1 + (i % 3), seq: 1000 + i, ts: 1_796_520_990_264_663_808 + i * 4096, size: Math.max(0, len - 28) }));
  const data = lengths.map((len, i) => Buffer.alloc(len, i % 251));
  return { rows, data };
}

describe('group commit row encoders', () => {
  test('COPY binary: rows of several channels parse back, size column as given', () => {
    const { rows, data } = rowsOf([128, 0, 1, 300, 128, 5000]);
    const parsed = parseCopyBinary(encodeRowsCopyBinary(rows, data));
    assert.deepEqual(
      parsed,
      rows.map((r, i) => ({ channelID: r.channel_id, seq: r.seq, ts: r.ts, size: r.size, data: data[i] })),
    );
  });

  test('COPY binary: many chunks and a row larger than a chunk stay whole and in order', () => {
    const lengths = Array.from({ length: 12_000 }, (_, i) => (i === 5000 ? 3 << 20 : 128 + (i % 17)));
    const { rows, data } = rowsOf(lengths);
    const chunks = encodeRowsCopyBinary(rows, data);
    assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
    const parsed = parseCopyBinary(chunks);
    assert.equal(parsed.length, rows.length);
    for (let i = 0; i < rows.length; i++) {
      assert.equal(parsed[i].seq, rows[i].seq);
      assert.equal(parsed[i].channelID, rows[i].channel_id);
      assert.ok(parsed[i].data.equals(data[i]), `row ${i}`);
    }
  });

  test('COPY binary: no rows is header and trailer only', () => {
    assert.deepEqual(parseCopyBinary(encodeRowsCopyBinary([], [])), []);
  });

  test('prepared INSERTs: every row once, few distinct sizes, within the byte limit', () => {
    const seen = new Set<number>();
    for (const n of [1, 31, 32, 33, 100, 1024, 1025, 2500, 7777]) {
      const { data } = rowsOf(Array.from({ length: n }, (_, i) => 100 + (i % 50)));
      const sizes = statementSizes(data, 1 << 20);
      assert.equal(sizes.reduce((a, b) => a + b, 0), n);
      assert.ok(sizes.every((s) => s > 0 && s <= 1024));
      // All statements but the last are multiples of 32 rows.
      assert.ok(sizes.slice(0, -1).every((s) => s % 32 === 0), `${n}: ${sizes.join(',')}`);
      for (const s of sizes) seen.add(s);
    }
    assert.ok(seen.size <= 32 + 32, `${seen.size} distinct statement sizes`);
  });

  test('prepared INSERTs: cut by the byte limit, a row larger than it alone', () => {
    const { data } = rowsOf([...Array.from({ length: 200 }, () => 1000), 50_000, 10]);
    const sizes = statementSizes(data, 20_000);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 202);
    let i = 0;
    for (const n of sizes) {
      const bytes = data.slice(i, i + n).reduce((a, d) => a + d.length + 48, 0);
      assert.ok(n === 1 || bytes <= 20_000, `statement of ${n} rows, ${bytes} bytes`);
      i += n;
    }
    assert.ok(sizes.includes(1), 'the 50 KB row on its own');
  });
});
