/**
 * The import's fast path for reference FILE stores (file-batches.ts, msg-fields.ts,
 * msg-batch.ts) against the record-by-record reader it replaces for the import:
 *  - every row of `batches()` is the MsgProto that encodeMsgProto makes from the message
 *    `messages()` yields, with the same seq and timestamp, on the fixtures (plain and
 *    encrypted), on generated stores of several slices, from any start sequence and for any
 *    batch size;
 *  - the fast field decoder falls back to the general one for records outside its cases
 *    (non-ASCII subject, unknown or repeated fields, zero or huge timestamps) with the same
 *    bytes;
 *  - damage gives the same error (kind, file, offset, text) or, in skip mode, the same
 *    skipped list and messages, whichever path reads it.
 */
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openReferenceFileStore, ReferenceFileStoreWriter, type FileStoreReadOptions } from '../../src/import/reference';
import { crc32 } from '../../src/import/reference/crc32';
import { batchRow, MessageBatchBuilder } from '../../src/import/reference/msg-batch';
import { halvesToNumber } from '../../src/protocol/varint';
import { newScannedMsg, scanMsgFields } from '../../src/import/reference/msg-fields';
import { decodeMsg, encodeMsg } from '../../src/import/reference/records';
import { ProtoWriter } from '../../src/import/reference/protobuf-wire';
import { encodeMsgProto } from '../../src/protocol/fast';
import { copyFixture, FIXTURE_KEY, FIXTURES } from '../helpers/reference-fixtures';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** Each message as `seq ts row-hex`, or the error the path ended with. */
type Outcome = { rows: string[]; error?: string; skipped: string };

function describeError(err: unknown): string {
  const e = err as Error & { damage?: string; at?: unknown };
  return `${e.name} ${e.damage ?? ''} ${JSON.stringify(e.at ?? null)} ${e.message}`;
}

async function viaMessages(dir: string, o: FileStoreReadOptions, channel: string, from = 0): Promise<Outcome> {
  const r = await openReferenceFileStore(dir, o);
  const rows: string[] = [];
  try {
    for await (const m of r.messages(channel)) {
      if (m.seq >= from) rows.push(`${m.seq} ${Number(m.timestamp)} ${encodeMsgProto(m.seq, m.subject, m.reply, m.data, m.timestamp).toString('hex')}`);
    }
  } catch (err) {
    return { rows, error: describeError(err), skipped: JSON.stringify(r.skipped) };
  }
  return { rows, skipped: JSON.stringify(r.skipped) };
}

async function viaBatches(dir: string, o: FileStoreReadOptions, channel: string, from = 0, maxMsgs = 3): Promise<Outcome> {
  const r = await openReferenceFileStore(dir, o);
  const rows: string[] = [];
  try {
    for await (const b of r.batches(channel, from, maxMsgs, 1 << 20)) {
      assert.ok(b.count <= maxMsgs);
      for (let i = 0; i < b.count; i++) rows.push(`${b.seqs[i]} ${b.timestamps[i]} ${batchRow(b, i).toString('hex')}`);
    }
  } catch (err) {
    // The fast path fails at the same record: rows before it were handed over batch by batch.
    return { rows: [], error: describeError(err), skipped: JSON.stringify(r.skipped) };
  }
  return { rows, skipped: JSON.stringify(r.skipped) };
}

async function assertSame(dir: string, o: FileStoreReadOptions, channel: string, from = 0, maxMsgs = 3): Promise<Outcome> {
  const a = await viaMessages(dir, o, channel, from);
  const b = await viaBatches(dir, o, channel, from, maxMsgs);
  if (a.error !== undefined) {
    assert.equal(b.error, a.error);
  } else {
    assert.equal(b.error, undefined);
    assert.deepEqual(b.rows, a.rows);
  }
  assert.equal(b.skipped, a.skipped);
  return a;
}

describe('import fast path: column batches equal the record-by-record reader', () => {
  test('fixtures (plain and encrypted), every channel, several batch sizes and start sequences', async () => {
    for (const [variant, o] of [['file', {}], ['file-encrypted', { encryptionKey: FIXTURE_KEY }]] as const) {
      const dir = path.join(FIXTURES, variant);
      const r = await openReferenceFileStore(dir, o);
      for (const ch of r.snapshot.channels) {
        for (const maxMsgs of [1, 2, 1000]) {
          const all = await assertSame(dir, o, ch.name, 0, maxMsgs);
          assert.equal(all.rows.length, ch.msgCount, `${variant}/${ch.name}`);
        }
        await assertSame(dir, o, ch.name, ch.firstSeq + 1);
      }
    }
  });

  test('a generated store of several slices, with replies, odd subjects and timestamps', async () => {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'imp-batches-'));
    dirs.push(top);
    const dir = path.join(top, 'ref');
    const w = new ReferenceFileStoreWriter(dir);
    w.writeServerInfo({ clusterId: 'c', discovery: '_STAN.discover', publish: 'p', subscribe: 's', unsubscribe: 'u', close: 'c', subClose: 'sc', acks: 'a', nodeId: '' });
    w.writeClients([]);
    const ch = w.channel('gen');
    const stamps = [1n, 127n, 128n, 2n ** 53n + 1n, 1_796_000_000_000_000_007n, 2n ** 63n - 1n, 0n];
    for (let q = 1; q <= 40; q++) {
      if (q % 7 === 0) ch.newSlice();
      ch.append({ seq: q, timestamp: stamps[q % stamps.length], data: Buffer.alloc(q % 5 === 0 ? 0 : q * 37, 0x40 + q), subject: q % 3 === 0 ? 'gén.ü' : 'gen', reply: q % 4 === 0 ? '_INBOX.x' : '' });
    }
    ch.close();
    for (const from of [0, 1, 7, 8, 20, 40, 41]) await assertSame(dir, {}, 'gen', from, 4);
  });

  test('the fast decoder falls back to the general one outside its cases, with the same bytes', () => {
    const b = new MessageBatchBuilder(10, 1 << 20);
    const records = [
      encodeMsg({ sequence: 5, subject: 'a.b', reply: 'r', data: Buffer.from('x'), timestamp: 1_796_000_000_000_000_007n }),
      encodeMsg({ sequence: 6, subject: 'ünï', reply: '', data: Buffer.from('x'), timestamp: 9n }),
      new ProtoWriter().uint(1, 7).string(2, 'a').bytes(4, Buffer.from('y')).uint(5, 3).uint(9, 1).finish(),
      new ProtoWriter().uint(1, 8).string(2, 'a').string(2, 'b').uint(5, 3).finish(),
      new ProtoWriter().uint(1, 9).string(2, 'a').uint(5, -5n).finish(),
      new ProtoWriter().uint(5, 12).bytes(4, Buffer.from('z')).uint(1, 10).finish(),
    ];
    const fast = [true, false, false, false, false, true];
    const m = newScannedMsg();
    records.forEach((rec, i) => {
      assert.equal(scanMsgFields(rec, 0, rec.length, m), fast[i], `record ${i}`);
      const d = decodeMsg(rec);
      if (fast[i]) b.addFields(rec, m, rec, m.dataStart, m.dataEnd);
      else b.addMessage(d.sequence, d.subject, d.reply, d.data, d.timestamp);
    });
    const out = b.take();
    records.forEach((rec, i) => {
      const d = decodeMsg(rec);
      assert.deepEqual(batchRow(out, i), encodeMsgProto(d.sequence, d.subject, d.reply, d.data, d.timestamp), `record ${i}`);
      assert.equal(out.timestamps[i], Number(d.timestamp));
      assert.equal(out.seqs[i], d.sequence);
    });
    for (const v of [0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 1_796_520_990_264_663_943n]) {
      assert.equal(halvesToNumber(Number(v & 0xffffffffn), Number(v >> 32n)), Number(v));
    }
  });
});

function patch(file: string, offset: number, f: (b: Buffer) => void): void {
  const all = fs.readFileSync(file);
  f(all.subarray(offset));
  fs.writeFileSync(file, all);
}

describe('import fast path: damage is reported as the record-by-record reader reports it', () => {
  // orders/msgs.1.dat of the fixture: five records at offsets 4, 41, 78, 115, 152.
  const cases: Array<[string, (d: string) => void]> = [
    ['bad CRC in a record', (d) => patch(path.join(d, 'orders', 'msgs.1.dat'), 78 + 20, (b) => (b[0] ^= 0xff))],
    [
      'index entry pointing at another record',
      (d) =>
        patch(path.join(d, 'orders', 'msgs.1.idx'), 36, (e) => {
          e.writeBigInt64LE(78n, 8);
          e.writeUInt32LE(crc32(e.subarray(0, 28)), 28);
        }),
    ],
    ['index entry with another size', (d) => patch(path.join(d, 'orders', 'msgs.1.idx'), 36, (e) => {
      e.writeUInt32LE(e.readUInt32LE(24) + 1, 24);
      e.writeUInt32LE(crc32(e.subarray(0, 28)), 28);
    })],
    ['truncated .dat (scan)', (d) => fs.truncateSync(path.join(d, 'orders', 'msgs.1.dat'), 152 + 20)],
    ['record that does not decode', (d) => patch(path.join(d, 'orders', 'msgs.1.dat'), 41, (b) => {
      b[8] = 0xff;
      b.writeUInt32LE(crc32(b.subarray(8, 8 + b.readUInt32LE(0))), 4);
    })],
  ];
  for (const [name, damage] of cases) {
    test(name, async () => {
      const d = copyFixture('file');
      dirs.push(d);
      damage(d);
      for (const skip of [false, true]) {
        const opened = await openReferenceFileStore(d, { skipDamagedMessages: skip }).then(() => true, () => false);
        if (opened) await assertSame(d, { skipDamagedMessages: skip }, 'orders');
      }
    });
  }

  test('encrypted fixture: a wrong key and a missing key fail the same way', async () => {
    const dir = path.join(FIXTURES, 'file-encrypted');
    const r = await openReferenceFileStore(dir, {});
    const ch = r.snapshot.channels.find((c) => c.msgCount > 0)?.name ?? '';
    const wrong = await assertSame(dir, { encryptionKey: 'not-the-key' }, ch);
    assert.match(wrong.error ?? '', /key/i);
    const missing = await assertSame(dir, {}, ch);
    assert.match(missing.error ?? '', /key/i);
  });
});
