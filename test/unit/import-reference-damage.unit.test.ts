/**
 * Damage in a reference FILE store (reference-stores.md §2.7, §2.11), on temp copies of the
 * fixture: bad CRC, cut-short files, index/data mismatches and damaged non-message files. Each
 * error names the file and byte offset; skip mode leaves damaged message records out and lists
 * them; and the reference's own fallbacks (scan when the last index entry does not match, .dat
 * ahead of .idx, zero-filled tails) give the reference's result without an error.
 */
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openReferenceFileStore, ReferenceDamageError, type ReferenceStoreReader } from '../../src/import/reference';
import { crc32 } from '../../src/import/reference/crc32';
import { copyFixture, fixtureLimits } from '../helpers/reference-fixtures';

// orders/msgs.1.dat: five records of 8 + 29 bytes at offsets 4, 41, 78, 115, 152 (end 189).
const OFFSETS = [4, 41, 78, 115, 152];

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function fixtureCopy(): string {
  const d = copyFixture('file');
  dirs.push(d);
  return d;
}

function patch(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

function flipByte(file: string, offset: number): void {
  const b = fs.readFileSync(file);
  patch(file, offset, Buffer.from([b[offset] ^ 0xff]));
}

async function seqs(r: ReferenceStoreReader, channel: string): Promise<number[]> {
  const out: number[] = [];
  for await (const m of r.messages(channel)) out.push(m.seq);
  return out;
}

function isDamage(kind: string, fileRe: RegExp, offset: number): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ReferenceDamageError, String(err));
    assert.equal(err.damage, kind);
    assert.equal(err.at.kind, 'file');
    if (err.at.kind === 'file') {
      assert.match(err.at.file, fileRe);
      assert.equal(err.at.offset, offset);
    }
    assert.match(err.message, new RegExp(`at offset ${offset}`));
    return true;
  };
}

const ordersDat = (d: string): string => path.join(d, 'orders', 'msgs.1.dat');
const ordersIdx = (d: string): string => path.join(d, 'orders', 'msgs.1.idx');

describe('reference FILE store damage', () => {
  test('bad CRC in a message record: error names file and offset; skip mode lists it', async () => {
    const d = fixtureCopy();
    flipByte(ordersDat(d), OFFSETS[2] + 8 + 12);
    const strict = await openReferenceFileStore(d);
    await assert.rejects(seqs(strict, 'orders'), isDamage('bad-crc', /orders\/msgs\.1\.dat$/, OFFSETS[2]));
    const lenient = await openReferenceFileStore(d, { skipDamagedMessages: true });
    assert.deepEqual(await seqs(lenient, 'orders'), [1, 2, 4, 5]);
    assert.equal(lenient.skipped.length, 1);
    assert.deepEqual([lenient.skipped[0].damage, lenient.skipped[0].seq, lenient.skipped[0].channel], ['bad-crc', 3, 'orders']);
    assert.deepEqual(lenient.skipped[0].at, { kind: 'file', file: ordersDat(d), offset: OFFSETS[2] });
  });

  test('bad CRC in the last record: the index is distrusted, the scan fails at that record', async () => {
    const d = fixtureCopy();
    flipByte(ordersDat(d), OFFSETS[4] + 8 + 12);
    await assert.rejects(openReferenceFileStore(d), isDamage('bad-crc', /orders\/msgs\.1\.dat$/, OFFSETS[4]));
    const lenient = await openReferenceFileStore(d, { skipDamagedMessages: true });
    const orders = lenient.snapshot.channels.find((c) => c.name === 'orders');
    assert.deepEqual([orders?.firstSeq, orders?.lastSeq], [1, 4]);
    assert.deepEqual(await seqs(lenient, 'orders'), [1, 2, 3, 4]);
    assert.deepEqual(lenient.skipped.map((s) => [s.damage, s.at.kind === 'file' ? s.at.offset : -1]), [['bad-crc', OFFSETS[4]]]);
  });

  test('truncated msgs.1.dat: error names the offset of the cut record; skip mode stops before it', async () => {
    const d = fixtureCopy();
    fs.truncateSync(ordersDat(d), OFFSETS[4] + 20);
    await assert.rejects(openReferenceFileStore(d), isDamage('truncated', /orders\/msgs\.1\.dat$/, OFFSETS[4]));
    const lenient = await openReferenceFileStore(d, { skipDamagedMessages: true });
    assert.deepEqual(await seqs(lenient, 'orders'), [1, 2, 3, 4]);
    assert.deepEqual(lenient.skipped.map((s) => s.damage), ['truncated']);
    assert.ok(lenient.snapshot.notices.some((n) => /msgs\.1\.idx/.test(n) && /scan/.test(n)));
  });

  test('index entry pointing at another record: index-mismatch names file and offset', async () => {
    const d = fixtureCopy();
    // entry 2 (seq 2) at idx offset 4 + 32: point it at the record of seq 3 and fix its CRC
    const idx = ordersIdx(d);
    const entry = fs.readFileSync(idx).subarray(36, 68);
    entry.writeBigInt64LE(BigInt(OFFSETS[2]), 8);
    entry.writeUInt32LE(crc32(entry.subarray(0, 28)), 28);
    patch(idx, 36, entry);
    const strict = await openReferenceFileStore(d);
    await assert.rejects(seqs(strict, 'orders'), (err: unknown) => isDamage('index-mismatch', /orders\/msgs\.1\.dat$/, OFFSETS[2])(err) && /seq 3 where .*msgs\.1\.idx says 2/.test((err as Error).message));
    const lenient = await openReferenceFileStore(d, { skipDamagedMessages: true });
    assert.deepEqual(await seqs(lenient, 'orders'), [1, 3, 4, 5]);
    assert.deepEqual(lenient.skipped.map((s) => [s.damage, s.seq]), [['index-mismatch', 2]]);
  });

  test('a bad index entry CRC makes the reader scan .dat, as the reference does', async () => {
    const d = fixtureCopy();
    flipByte(ordersIdx(d), 4 + 32 + 20);
    const r = await openReferenceFileStore(d);
    assert.deepEqual(await seqs(r, 'orders'), [1, 2, 3, 4, 5]);
    assert.ok(r.snapshot.notices.some((n) => /bad CRC/.test(n)));
  });

  test('.idx ahead of .dat (last record missing): rebuilt from a scan without error', async () => {
    const d = fixtureCopy();
    fs.truncateSync(ordersDat(d), OFFSETS[4]);
    const r = await openReferenceFileStore(d);
    assert.deepEqual(await seqs(r, 'orders'), [1, 2, 3, 4]);
  });

  test('.dat ahead of .idx: records after the last index entry are invisible (reference rule)', async () => {
    const d = fixtureCopy();
    fs.truncateSync(ordersIdx(d), 4 + 4 * 32);
    const r = await openReferenceFileStore(d);
    assert.deepEqual(await seqs(r, 'orders'), [1, 2, 3, 4]);
  });

  test('zero-filled tails of .dat and .idx end the data', async () => {
    const d = fixtureCopy();
    fs.appendFileSync(ordersDat(d), Buffer.alloc(64));
    fs.appendFileSync(ordersIdx(d), Buffer.alloc(64));
    const r = await openReferenceFileStore(d);
    assert.deepEqual(await seqs(r, 'orders'), [1, 2, 3, 4, 5]);
    assert.deepEqual(r.skipped, []);
  });

  test('bad CRC in subs.dat is fatal and names the file and offset', async () => {
    const d = fixtureCopy();
    flipByte(path.join(d, 'events', 'subs.dat'), 4 + 8 + 3);
    await assert.rejects(openReferenceFileStore(d, { limits: fixtureLimits, skipDamagedMessages: true }), isDamage('bad-crc', /events\/subs\.dat$/, 4));
  });

  test('truncated clients.dat is fatal and names the offset of the cut record', async () => {
    const d = fixtureCopy();
    const p = path.join(d, 'clients.dat');
    fs.truncateSync(p, fs.statSync(p).size - 3);
    await assert.rejects(openReferenceFileStore(d), (err: unknown) => err instanceof ReferenceDamageError && err.damage === 'truncated' && /clients\.dat at offset \d+/.test(err.message));
  });

  test('server.dat with trailing bytes is refused (incorrect file size)', async () => {
    const d = fixtureCopy();
    fs.appendFileSync(path.join(d, 'server.dat'), Buffer.from([1, 2, 3]));
    await assert.rejects(openReferenceFileStore(d), isDamage('bad-record', /server\.dat$/, 4));
  });
});
