/**
 * Cases the fixtures lack, built with the reference-format writer: several slices (numeric
 * order, a first slice removed, a dropped seq still inside the next slice), compaction
 * leftovers and stray files, the subs.dat replay rules (update keeps pending, sent records for
 * deleted IDs, ID reuse), the §2.7 interpretation (ghosts, ignored non-durables, competing
 * shadows, pending below first), a non-default CRC polynomial, and a CHACHA-encrypted channel.
 */
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openReferenceFileStore, ReferenceDamageError, ReferenceFileStoreWriter, type StoredSubState, type ReferenceStoreReader } from '../../src/import/reference';

const CASTAGNOLI = 0x82f63b78;
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function newStore(opts: ConstructorParameters<typeof ReferenceFileStoreWriter>[1] = {}, clients: string[] = ['live']): ReferenceFileStoreWriter {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-scen-'));
  dirs.push(dir);
  const w = new ReferenceFileStoreWriter(dir, opts);
  const s = (x: string): string => `_STAN.${x}.c1`;
  w.writeServerInfo({ clusterId: 'c1', discovery: s('discover'), publish: s('pub'), subscribe: s('sub'), unsubscribe: s('unsub'), close: s('close'), subClose: s('subclose'), acks: s('ack'), nodeId: '' });
  w.writeClients([
    ...clients.map((id) => ({ type: 1 as const, info: { id, hbInbox: `_INBOX.hb-${id}`, connId: Buffer.from(id), protocol: 1, pingInterval: 5, pingMaxOut: 88 } })),
    { type: 1 as const, info: { id: 'gone', hbInbox: '_INBOX.hb-gone', connId: Buffer.alloc(0), protocol: 1, pingInterval: 5, pingMaxOut: 88 } },
    { type: 2 as const, id: 'gone' },
  ]);
  return w;
}

function sub(id: number, fields: Partial<StoredSubState>): StoredSubState {
  return { id, clientId: '', qGroup: '', inbox: `_INBOX.in${id}`, ackInbox: `_INBOX.ack${id}`, maxInFlight: 1024, ackWaitInSecs: 30, durableName: '', lastSent: 0, isDurable: false, isClosed: false, ...fields };
}

async function seqs(r: ReferenceStoreReader, channel: string): Promise<number[]> {
  const out: number[] = [];
  for await (const m of r.messages(channel)) out.push(m.seq);
  return out;
}

const msg = (seq: number): { seq: number; timestamp: bigint; data: Buffer } => ({ seq, timestamp: 1_000n + BigInt(seq), data: Buffer.from(`m-${seq}`) });

describe('reference FILE store scenarios (writer-built)', () => {
  test('several slices: numeric order, first slice gone, dropped seq inside the next slice', async () => {
    const w = newStore();
    // like the derived-slices fixture: msgs.1.* removed, msgs.2 holds 3,4, ... up to msgs.10
    const ch = w.channel('limited', { firstSlice: 2 });
    for (let s = 3; s <= 19; s++) {
      if (s > 3 && s % 2 === 1) ch.newSlice();
      ch.append(msg(s));
    }
    assert.equal(ch.currentSlice, 10);
    ch.close();
    fs.writeFileSync(path.join(w.dir, 'limited', 'msgs.1.dat.bak'), 'archived');
    const all = await openReferenceFileStore(w.dir);
    assert.deepEqual(await seqs(all, 'limited'), Array.from({ length: 17 }, (_, i) => i + 3));
    const limited = await openReferenceFileStore(w.dir, { limits: () => ({ maxMsgs: 8, maxBytes: 0, maxAgeNs: 0n }) });
    const c = limited.snapshot.channels[0];
    assert.deepEqual([c.firstSeq, c.lastSeq, c.msgCount], [12, 19, 8]);
    assert.equal(c.droppedByLimits, 9, 'seqs 3..11 left out by max_msgs 8');
    assert.equal(all.snapshot.channels[0].droppedByLimits, 0);
    assert.deepEqual(await seqs(limited, 'limited'), [12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('MaxBytes counts payload + 40 per message and never drops the last message', async () => {
    const w = newStore();
    const ch = w.channel('b');
    for (let s = 1; s <= 5; s++) ch.append(msg(s));
    ch.close();
    // each record payload is 13 bytes (seq, subject "b", data "m-N", timestamp): 53 accounted
    const r = await openReferenceFileStore(w.dir, { limits: () => ({ maxMsgs: 0, maxBytes: 110, maxAgeNs: 0n }) });
    assert.deepEqual(await seqs(r, 'b'), [4, 5]);
    const one = await openReferenceFileStore(w.dir, { limits: () => ({ maxMsgs: 0, maxBytes: 1, maxAgeNs: 0n }) });
    assert.deepEqual(await seqs(one, 'b'), [5]);
  });

  test('compacted subs.dat plus leftovers: stray temp files and .bak slices are ignored', async () => {
    const w = newStore();
    const ch = w.channel('c');
    for (let s = 1; s <= 6; s++) ch.append(msg(s));
    ch.writeSubs([
      { type: 1, state: sub(4, { clientId: 'live', durableName: 'd', isDurable: true, lastSent: 6 }) },
      { type: 5, id: 4, seqno: 5 },
      { type: 5, id: 4, seqno: 6 },
    ]);
    ch.close();
    fs.writeFileSync(path.join(w.dir, 'subs123456'), 'partial compaction');
    fs.writeFileSync(path.join(w.dir, 'clients.dat98765'), 'partial compaction');
    fs.writeFileSync(path.join(w.dir, 'c', 'msgs.7.idx.bak'), 'x');
    const r = await openReferenceFileStore(w.dir);
    assert.deepEqual(r.snapshot.channels.map((c) => c.name), ['c']);
    assert.deepEqual(r.snapshot.clients.map((c) => c.id), ['live']);
    const s = r.snapshot.channels[0].subscriptions;
    assert.deepEqual(s.map((x) => [x.kind, x.storeId, x.lastSent, x.pending]), [['durable', 4, 6, [5, 6]]]);
    assert.equal(r.snapshot.channels[0].nextSubscriptionId, 5);
  });

  test('replay and interpretation rules of §2.6/§2.7', async () => {
    const w = newStore();
    const ch = w.channel('r');
    for (let s = 1; s <= 10; s++) ch.append(msg(s));
    ch.writeSubs([
      // 1: durable, sent 1..3, ack 1, update (resume) keeps pending {2,3}
      { type: 1, state: sub(1, { clientId: 'live', durableName: 'dur', isDurable: true }) },
      { type: 5, id: 1, seqno: 1 }, { type: 5, id: 1, seqno: 2 }, { type: 5, id: 1, seqno: 3 }, { type: 4, id: 1, seqno: 1 },
      { type: 2, state: sub(1, { clientId: 'live', durableName: 'dur', isDurable: true, lastSent: 3, inbox: '_INBOX.new' }) },
      // 2: plain sub deleted; later sent records for it are ignored
      { type: 1, state: sub(2, { clientId: 'live' }) },
      { type: 3, id: 2 },
      { type: 5, id: 2, seqno: 4 },
      // 3: non-durable of a client that is gone: ignored
      { type: 1, state: sub(3, { clientId: 'gone', qGroup: 'g' }) },
      // 5, 6: two shadows of one durable queue group: highest lastSent wins
      { type: 2, state: sub(5, { qGroup: 'dq:grp', isDurable: true, lastSent: 4 }) },
      { type: 2, state: sub(6, { qGroup: 'dq:grp', isDurable: true, lastSent: 7 }) },
      // 7: durable queue member of a gone client: a ghost, deleted by the reference
      { type: 1, state: sub(7, { clientId: 'gone', qGroup: 'dq:other', isDurable: true }) },
      // 8: closed durable of a gone client keeps clientID; pending 1 is below first (2)
      { type: 1, state: sub(8, { clientId: 'gone', durableName: 'off', isDurable: true }) },
      { type: 5, id: 8, seqno: 1 }, { type: 5, id: 8, seqno: 9 },
      { type: 2, state: sub(8, { clientId: 'gone', durableName: 'off', isDurable: true, isClosed: true, lastSent: 9 }) },
    ]);
    ch.close();
    const r = await openReferenceFileStore(w.dir, { limits: () => ({ maxMsgs: 9, maxBytes: 0, maxAgeNs: 0n }) });
    const c = r.snapshot.channels[0];
    assert.equal(c.firstSeq, 2);
    const view = c.subscriptions.map((s) => ({ kind: s.kind, id: s.storeId, client: s.clientId, durable: s.durableName, group: s.queueGroup, lastSent: s.lastSent, pending: s.pending, inbox: s.inbox, offline: s.isOffline }));
    assert.deepEqual(view, [
      { kind: 'durable', id: 1, client: 'live', durable: 'dur', group: '', lastSent: 3, pending: [2, 3], inbox: '_INBOX.new', offline: false },
      { kind: 'durable-queue-shadow', id: 6, client: '', durable: 'dq', group: 'grp', lastSent: 7, pending: [], inbox: '_INBOX.in6', offline: true },
      { kind: 'offline-durable', id: 8, client: 'gone', durable: 'off', group: '', lastSent: 9, pending: [9], inbox: '_INBOX.in8', offline: true },
    ]);
    assert.equal(c.nextSubscriptionId, 9);
    for (const re of [/subscription 3 .*ignored/, /shadow 5 .*lost to shadow 6/, /member 7 .*deletes it/, /subscription 8: 1 pending seq\(s\) below first 2/]) {
      assert.ok(r.snapshot.notices.some((n) => re.test(n)), `notice ${re}`);
    }
  });

  test('a store written with file_crc_poly Castagnoli needs the same polynomial', async () => {
    const w = newStore({ crcPolynomial: CASTAGNOLI });
    const ch = w.channel('p');
    for (let s = 1; s <= 3; s++) ch.append(msg(s));
    ch.close();
    await assert.rejects(openReferenceFileStore(w.dir), (err: unknown) => err instanceof ReferenceDamageError && err.damage === 'bad-crc' && /server\.dat/.test(err.message));
    const r = await openReferenceFileStore(w.dir, { crcPolynomial: CASTAGNOLI });
    assert.deepEqual(await seqs(r, 'p'), [1, 2, 3]);
    const noCheck = await openReferenceFileStore(w.dir, { verifyCrc: false, crcPolynomial: CASTAGNOLI });
    assert.deepEqual(await seqs(noCheck, 'p'), [1, 2, 3]);
  });

  test('CHACHA-encrypted payloads (code byte 2) and an empty payload, with a reply subject', async () => {
    const w = newStore({ encryption: { key: 'k', cipher: 'CHACHA' } });
    const ch = w.channel('enc');
    ch.append({ seq: 1, timestamp: 5n, data: Buffer.from('secret'), reply: '_INBOX.r' });
    ch.append({ seq: 2, timestamp: 6n, data: Buffer.alloc(0) });
    ch.append({ seq: 3, timestamp: 7n, data: Buffer.from([0, 1, 2, 255]) });
    ch.close();
    const raw = fs.readFileSync(path.join(w.dir, 'enc', 'msgs.1.dat'));
    assert.equal(raw.includes(Buffer.from('secret')), false);
    const r = await openReferenceFileStore(w.dir, { encryptionKey: 'k' });
    const got = [];
    for await (const m of r.messages('enc')) got.push([m.seq, Buffer.from(m.data).toString('hex'), m.reply, m.timestamp]);
    assert.deepEqual(got, [[1, Buffer.from('secret').toString('hex'), '_INBOX.r', 5n], [2, '', '', 6n], [3, '000102ff', '', 7n]]);
  });

  test('a non-numeric slice number is refused like the reference does', async () => {
    const w = newStore();
    w.channel('x').close();
    fs.writeFileSync(path.join(w.dir, 'x', 'msgs.abc.dat'), Buffer.from([1, 0, 0, 0]));
    await assert.rejects(openReferenceFileStore(w.dir), (err: unknown) => err instanceof ReferenceDamageError && /msgs\.abc\.dat/.test(err.message));
  });

  test('a channel with subs.dat and no slice is empty with first = last = 0', async () => {
    const w = newStore();
    w.channel('empty').close();
    const r = await openReferenceFileStore(w.dir);
    const c = r.snapshot.channels[0];
    assert.deepEqual([c.firstSeq, c.lastSeq, c.msgCount], [0, 0, 0]);
    assert.deepEqual(await seqs(r, 'empty'), []);
  });
});
