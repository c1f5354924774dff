/**
 * The reference FILE store reader on the real fixtures (shared/fixtures/reference-stores):
 * result equal to what the reference restored (expected.json) for the plain and the AES
 * encrypted store; limits as given; key errors; clustered-mode and empty-store detection; and
 * that reading leaves the directory byte-identical with no new files.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openReferenceFileStore, ReferenceFileStoreWriter, ReferenceKeyError, ReferenceStoreError } from '../../src/import/reference';
import { assertMatchesExpected, copyFixture, FIXTURE_KEY, FIXTURES, fingerprint, fixtureLimits } from '../helpers/reference-fixtures';

const dirOf = (v: string): string => path.join(FIXTURES, v);

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

describe('reference FILE store reader', () => {
  test('plain fixture equals expected.json (with the fixture limits)', async () => {
    const r = await openReferenceFileStore(dirOf('file'), { limits: fixtureLimits });
    await assertMatchesExpected(r, 'file');
  });

  test('encrypted fixture with its key equals expected.json', async () => {
    const r = await openReferenceFileStore(dirOf('file-encrypted'), { limits: fixtureLimits, encryptionKey: FIXTURE_KEY });
    await assertMatchesExpected(r, 'file-encrypted');
  });

  test('without limits every physically present message is read (limited: 1..11)', async () => {
    const r = await openReferenceFileStore(dirOf('file'));
    const lim = r.snapshot.channels.find((c) => c.name === 'limited');
    assert.deepEqual([lim?.firstSeq, lim?.lastSeq, lim?.msgCount], [1, 11, 11]);
    const seqs: number[] = [];
    for await (const m of r.messages('limited')) seqs.push(m.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  test('subscription kinds, queue groups and next IDs follow the recovery rules', async () => {
    const r = await openReferenceFileStore(dirOf('file'), { limits: fixtureLimits });
    const work = r.snapshot.channels.find((c) => c.name === 'work');
    assert.ok(work !== undefined);
    assert.deepEqual(work.subscriptions.map((s) => s.kind).sort(), ['durable-queue-shadow', 'queue-member', 'queue-member']);
    const grp = work.queueGroups.find((g) => g.storedName === 'grp');
    assert.deepEqual([grp?.durable, grp?.lastSent, grp?.subscriptionIds.length], [false, 8, 2]);
    const shadow = work.subscriptions.find((s) => s.kind === 'durable-queue-shadow');
    assert.deepEqual([shadow?.storedQueueGroup, shadow?.resumeFrom], ['dq:dgrp', 5]);
    assert.equal(work.nextSubscriptionId, 4);
    const orders = r.snapshot.channels.find((c) => c.name === 'orders');
    assert.equal(orders?.subscriptions[0].kind, 'offline-durable');
    assert.equal(orders?.subscriptions[0].resumeFrom, 4);
    assert.equal(r.snapshot.channels.find((c) => c.name === 'events')?.subscriptions[0].kind, 'durable');
  });

  test('reading leaves the fixture directories byte-identical, with no new files', async () => {
    for (const v of ['file', 'file-encrypted']) {
      const before = fingerprint(dirOf(v));
      const r = await openReferenceFileStore(dirOf(v), { limits: fixtureLimits, encryptionKey: FIXTURE_KEY });
      for (const c of r.snapshot.channels) await drain(r.messages(c.name));
      assert.deepEqual(fingerprint(dirOf(v)), before, v);
    }
  });

  test('an encrypted store without a key is a clear error naming the file and offset', async () => {
    const r = await openReferenceFileStore(dirOf('file-encrypted'));
    await assert.rejects(drain(r.messages('orders')), (err: unknown) => {
      assert.ok(err instanceof ReferenceKeyError);
      assert.equal(err.reason, 'missing-key');
      assert.match(err.message, /orders\/msgs\.1\.dat at offset 4/);
      assert.match(err.message, /encryption_key/);
      return true;
    });
  });

  test('a wrong key is a clear error, also in skip mode', async () => {
    for (const skip of [false, true]) {
      const r = await openReferenceFileStore(dirOf('file-encrypted'), { encryptionKey: 'not-the-key', skipDamagedMessages: skip });
      await assert.rejects(drain(r.messages('events')), (err: unknown) => err instanceof ReferenceKeyError && err.reason === 'wrong-key' && /events\/msgs\.1\.dat at offset 4/.test(err.message));
    }
  });

  test('MaxAge (injected clock) can expire every message: first = last + 1', async () => {
    const r = await openReferenceFileStore(dirOf('file'), {
      limits: () => ({ maxMsgs: 0, maxBytes: 0, maxAgeNs: 1_000_000_000n }),
      now: () => 1796520991265000000n,
    });
    const orders = r.snapshot.channels.find((c) => c.name === 'orders');
    // every orders message is older than 1 s at that instant (the newest is …990258560560);
    // of events only ev-1 (…990264663943) is.
    assert.deepEqual([orders?.firstSeq, orders?.lastSeq, orders?.msgCount], [6, 5, 0]);
    assert.equal(await drain(r.messages('orders')), 0);
    const events = r.snapshot.channels.find((c) => c.name === 'events');
    assert.deepEqual([events?.firstSeq, events?.lastSeq], [2, 5]);
    // dur-a (orders) had no pending; dur-b (events) keeps 3,4,5 which are >= first
    assert.deepEqual(events?.subscriptions[0].pending, [3, 4, 5]);
  });

  test('a clustered-mode store is detected and reported', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ref-clustered-'));
    try {
      const w = new ReferenceFileStoreWriter(dir);
      const s = (x: string): string => `_STAN.${x}.c1`;
      w.writeServerInfo({ clusterId: 'c1', discovery: s('discover'), publish: s('pub'), subscribe: s('sub'), unsubscribe: s('unsub'), close: s('close'), subClose: s('subclose'), acks: s('ack'), nodeId: 'node-a' });
      w.writeClients([]);
      const ch = w.channel('foo');
      ch.append({ seq: 1, timestamp: 1n, data: Buffer.from('x') });
      ch.close();
      const r = await openReferenceFileStore(dir);
      assert.equal(r.snapshot.clustered, true);
      assert.equal(r.snapshot.server.nodeId, 'node-a');
      assert.ok(r.snapshot.notices.some((n) => /clustered-mode store/.test(n) && /Raft log/.test(n)));
      assert.equal(r.snapshot.channels[0].msgCount, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a directory without server.dat is refused as not initialised', async () => {
    const dir = copyFixture('file');
    try {
      fs.rmSync(path.join(dir, 'server.dat'));
      await assert.rejects(openReferenceFileStore(dir), (err: unknown) => err instanceof ReferenceStoreError && /not an initialised reference FILE store/.test(err.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
