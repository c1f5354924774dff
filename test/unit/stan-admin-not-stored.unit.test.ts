/**
 * The admin API's mutating actions when the store's commit fails (src/stan/admin-actions.ts,
 * src/monitor/admin/core-write-ops.ts): the change is made in memory (as for a protocol
 * request), but the answer must not say it is durable. Each one answers 503 not_stored saying
 * what was done and what to check before retrying; never 200 ok, never 500 internal. The
 * protocol's own paths (CloseRequest) keep answering as before. And a requeued message that
 * the database refuses is not_stored too, not {seq}.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultStoreLimits } from '../../src/config/options';
import { CoreWriteOperations } from '../../src/monitor/admin/core-write-ops';
import { AdminError } from '../../src/monitor/admin/errors';
import type { MutationOutput } from '../../src/monitor/admin/operations';
import type { StreamingMonitorSource } from '../../src/monitor/streaming';
import { StartPosition } from '../../src/protocol/codec';
import { MemoryStore } from '../../src/store/memory';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { AdminActionRefusal } from '../../src/stan/admin-actions';
import { settle } from '../helpers/fake-clock';
import { refusePoison } from '../helpers/poison-trigger';
import { seqs, startCore, TestClient, type CoreHarness } from '../helpers/stan-core';
import { serverInfo } from '../helpers/store';

/** The MEMORY store, whose commits are rejected while `failing` (as a SQL store whose write failed, rows kept). */
class FlakyStore extends MemoryStore {
  failing = false;
  override commit(): Promise<void> {
    return this.failing ? Promise.reject(new Error('database gone')) : super.commit();
  }
}

interface Setup {
  h: CoreHarness;
  store: FlakyStore;
  /** The admin API's write operations on this core (what the HTTP handler calls). */
  ops: CoreWriteOperations;
}

function setUp(): Setup {
  let store: FlakyStore | undefined;
  const h = startCore(undefined, (o, clock) => (store = new FlakyStore(o.storeLimits, { now: () => clock.now() })));
  const ops = new CoreWriteOperations(() => ({ core: h.core }) as StreamingMonitorSource);
  return { h, store: store as unknown as FlakyStore, ops };
}

/** The API's answer to `call`: asserts it is 503 not_stored, and returns its message. */
async function notStored(call: Promise<MutationOutput>): Promise<string> {
  let answer: unknown;
  try {
    answer = await call;
  } catch (err) {
    answer = err;
  }
  assert.ok(answer instanceof AdminError, `answered ${JSON.stringify(answer)} (${String(answer)}) instead of 503 not_stored`);
  assert.equal(answer.status, 503);
  assert.equal(answer.body.code, 'not_stored');
  assert.match(answer.body.message, /the store's commit failed \(database gone\): the change is not known to be stored, and the store may still record it once it works again/);
  return answer.body.message;
}

test('evict with a failed commit: 503 not_stored; the client is gone from this server', async () => {
  const t = setUp();
  try {
    const c = new TestClient(t.h, 'c1');
    await c.connect();
    await c.subscribe('foo');
    t.store.failing = true;
    const msg = await notStored(t.ops.evictClient({ clientID: 'c1' }));
    assert.match(msg, /^client "c1" was evicted \(1 subscription\(s\) closed\) on this server/);
    assert.match(msg, /if the client is listed again after a restart or a failover, evict it again$/);
    assert.equal(t.h.core.clients.has('c1'), false);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('delete channel with a failed commit: 503 not_stored; the channel is gone from this server', async () => {
  const t = setUp();
  try {
    const c = new TestClient(t.h, 'c1');
    await c.connect();
    await c.publish('foo', 'x');
    t.store.failing = true;
    const msg = await notStored(t.ops.deleteChannel({ channel: 'foo' }));
    assert.match(msg, /^channel "foo" was deleted on this server/);
    assert.match(msg, /if the channel is listed again after a restart or a failover, delete it again$/);
    assert.equal(t.h.core.channels.has('foo'), false);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('purge with a failed commit: 503 not_stored (not 500 internal); the messages are gone from this server', async () => {
  const t = setUp();
  try {
    const c = new TestClient(t.h, 'c1');
    await c.connect();
    await c.publish('foo', 'x');
    await c.publish('foo', 'y');
    t.store.failing = true;
    const msg = await notStored(t.ops.purgeChannel({ channel: 'foo', kind: 'all' }));
    assert.match(msg, /^2 message\(s\) of channel "foo" were purged \(first=3 last=2\) on this server/);
    assert.match(msg, /look at the channel's first sequence \(after a restart or a failover too\) before purging again$/);
    assert.equal(await t.h.core.channels.get('foo')?.store.msgs.lookup(1), undefined);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('reset durable with a failed commit: 503 not_stored (not 500 internal); the durable moved and gets the messages from there', async () => {
  const t = setUp();
  try {
    const c = new TestClient(t.h, 'c1');
    await c.connect();
    await c.publish('bar', 'y');
    const d = new TestClient(t.h, 'c2');
    await d.connect();
    const sub = await d.subscribe('bar', { startPosition: StartPosition.First, durableName: 'dur' });
    assert.deepEqual(seqs(sub), ['1']);
    d.ack(sub, 'bar', 1);
    await settle();
    t.store.failing = true;
    const msg = await notStored(t.ops.resetDurable({ channel: 'bar', clientID: 'c2', durable: 'dur', queue: undefined, seq: 1 }));
    assert.match(msg, /^durable "dur" of channel "bar" was moved to sequence 1 on this server/);
    assert.match(msg, /look at the durable's position \(after a restart or a failover too\) before resetting it again/);
    await settle();
    // Memory moved: the durable gets message 1 again, as after a successful reset.
    assert.deepEqual(seqs(sub), ['1', '1']);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('requeue with a failed commit: 503 not_stored, worded for the requeue', async () => {
  const t = setUp();
  try {
    const envelope = { channel: 'orders', seq: 7, reply: '', data_base64: Buffer.from('retry me').toString('base64') };
    await t.h.core.admin.republish('dlq', '', Buffer.from(JSON.stringify(envelope)));
    t.store.failing = true;
    const msg = await notStored(t.ops.requeueMessage({ channel: 'dlq', seq: 1 }));
    assert.match(msg, /^message 1 of channel "orders" was published on this server/);
    assert.match(msg, /look at the channel \(after a restart or a failover too\) before requeuing again$/);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('the protocol paths keep their answer: a CloseRequest with a failed commit is answered ok (the server logs the error)', async () => {
  const t = setUp();
  try {
    const c = new TestClient(t.h, 'c1');
    await c.connect();
    t.store.failing = true;
    assert.equal(await c.close(), '');
    assert.equal(t.h.core.clients.has('c1'), false);
  } finally {
    t.store.failing = false;
    await t.h.close();
  }
});

test('requeue of a message the database refuses (FILE store, a trigger): not_stored, not {seq}', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-repub-'));
  const a = await openSqlite({ dir, sync: false });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  await refusePoison(a.knex, 'sqlite');
  const s = new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
  await s.recover();
  s.init(serverInfo('c1'));
  const h = startCore(undefined, () => s as never);
  try {
    assert.deepEqual(await h.core.admin.republish('foo', '', Buffer.from('fine')), { seq: 1 });
    await assert.rejects(h.core.admin.republish('foo', '', Buffer.from('poison')), (err: AdminActionRefusal) => {
      assert.ok(err instanceof AdminActionRefusal, String(err));
      assert.equal(err.code, 'not_stored');
      assert.match(err.message, /^the store refused message 2 of channel "foo" \(the server log says why\): it is not stored$/);
      return true;
    });
  } finally {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
