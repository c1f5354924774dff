/**
 * An operator's reset of a durable while it is being delivered to (src/stan/admin-actions.ts
 * resetDurable, src/stan/delivery.ts resetPosition), with store reads that resolve only when
 * the test says so (as a SQL/FILE store's cold page reads): once the reset has answered, the
 * subscriber gets messages from the new position only — a read started for the old position
 * is dropped — and the messages pending at the reset are forgotten as if acknowledged; a reset
 * to a time applies to the subscriptions the durable has once the time is looked up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubscriptionRequest } from '../../src/protocol/codec';
import type { ChannelStore, StoredMsg } from '../../src/store/contract';
import { MemoryStore } from '../../src/store/memory';
import { settle } from '../helpers/fake-clock';
import { seqs, startCore, TestClient, type CoreHarness, type TestSub } from '../helpers/stan-core';

/** The MEMORY store, but while `cold` every read is asynchronous and waits for the test. */
class ColdReadStore extends MemoryStore {
  cold = false;
  readonly reads: Array<{ seq: number; release: () => void }> = [];
  /** While set, a time lookup (a reset to a time) waits in `timeLookups` for the test. */
  gateTimeLookups = false;
  readonly timeLookups: Array<() => void> = [];

  override createChannel(name: string): ChannelStore {
    const ch = super.createChannel(name);
    const msgs = ch.msgs;
    const cached = msgs.lookupCached.bind(msgs);
    msgs.lookupCached = (seq) => (this.cold ? null : cached(seq));
    msgs.lookup = (seq) =>
      new Promise<StoredMsg | undefined>((resolve) => {
        this.reads.push({ seq, release: () => resolve(cached(seq) ?? undefined) });
      });
    const atOrAfter = msgs.firstSeqAtOrAfter.bind(msgs);
    msgs.firstSeqAtOrAfter = (ts) => (this.gateTimeLookups ? new Promise<number>((resolve) => this.timeLookups.push(() => resolve(atOrAfter(ts)))) : atOrAfter(ts));
    return ch;
  }

  /** Releases the reads waiting now, oldest first (`newestFirst`: the other way round). */
  async release(newestFirst = false): Promise<void> {
    const batch = this.reads.splice(0);
    if (newestFirst) batch.reverse();
    for (const r of batch) {
      r.release();
      await settle();
    }
  }

  /** Releases reads until none is waiting (each released read may start the next one). */
  async drain(): Promise<void> {
    while (this.reads.length > 0) await this.release();
  }
}

interface Setup {
  h: CoreHarness;
  store: ColdReadStore;
  c: TestClient;
}

async function setUp(): Promise<Setup> {
  let store: ColdReadStore | undefined;
  const h = startCore(undefined, (opts, clock) => (store = new ColdReadStore(opts.storeLimits, { now: () => clock.now() })));
  if (store === undefined) throw new Error('the store factory was not called');
  const c = new TestClient(h, 'c1');
  assert.equal((await c.connect()).error, '');
  return { h, store, c };
}

/** Runs `body` against a fresh core over a ColdReadStore, then shuts it down. */
async function inColdCore(body: (s: Setup) => Promise<void>): Promise<void> {
  const s = await setUp();
  try {
    await body(s);
  } finally {
    await s.h.close();
  }
}

async function publishN(c: TestClient, n: number): Promise<void> {
  for (let i = 0; i < n; i++) assert.equal((await c.publish('foo', `m${i}`)).error, '');
  await settle();
}

/**
 * Durable `d` (with `extra`: in a queue group) has had messages 1..5 and acked them; message 6
 * is published while reads are cold: its read for the old position is in flight.
 */
async function readingSixth({ store, c }: Setup, extra: Partial<SubscriptionRequest>): Promise<TestSub> {
  await publishN(c, 5);
  const sub = await c.subscribe('foo', { durableName: 'd', startPosition: 4 /* First */, ...extra });
  assert.deepEqual(seqs(sub), ['1', '2', '3', '4', '5']);
  for (const m of sub.msgs) c.ack(sub, 'foo', m.sequence);
  await settle();
  store.cold = true;
  await publishN(c, 1);
  assert.deepEqual(store.reads.map((r) => r.seq), [6], 'message 6 is being read for the old position');
  return sub;
}

function reset(h: CoreHarness, seq: number, queue?: string): Promise<{ next_seq: number }> {
  return h.core.admin.resetDurable({ channel: 'foo', clientID: 'c1', durable: 'd', queue, at: { seq } });
}

test('a durable reset backwards while the next message is being read: the read is dropped, delivery starts at the new position', () =>
  inColdCore(async ({ h, store, c }) => {
    const sub = await readingSixth({ h, store, c }, {});
    assert.deepEqual(await reset(h, 2), { next_seq: 2 });
    const before = sub.msgs.length;
    await store.drain();
    assert.deepEqual(seqs(sub).slice(before), ['2', '3', '4', '5', '6'], 'nothing from the old position, then everything from the new one');
    await h.clock.advance(60_000);
    await store.drain();
    assert.deepEqual(seqs(sub).slice(before + 5), ['2*1', '3*1', '4*1', '5*1', '6*1'], 'the pending set holds the new deliveries only');
  }));

test('a durable queue group reset backwards while the next message is being read: the same', () =>
  inColdCore(async ({ h, store, c }) => {
    const member = await readingSixth({ h, store, c }, { qGroup: 'g' });
    assert.deepEqual(await reset(h, 3, 'g'), { next_seq: 3 });
    const before = member.msgs.length;
    await store.drain();
    assert.deepEqual(seqs(member).slice(before), ['3', '4', '5', '6']);
  }));

test('a redelivery pass reading an old pending message when the reset comes: it stops, nothing is redelivered early', () =>
  inColdCore(async ({ h, store, c }) => {
    await publishN(c, 2);
    const sub = await c.subscribe('foo', { durableName: 'd', startPosition: 4, ackWaitInSecs: 10 });
    assert.deepEqual(seqs(sub), ['1', '2']);
    store.cold = true;
    await h.clock.advance(10_000);
    assert.deepEqual(store.reads.map((r) => r.seq), [1], 'the redelivery of 1 waits for its read');
    await reset(h, 1);
    assert.deepEqual(store.reads.map((r) => r.seq), [1, 1], 'and delivery from the new position reads 1 too');
    const before = sub.msgs.length;
    // The new position's read finishes first: 1 is pending again, with a fresh ack wait.
    await store.release(true);
    await store.drain();
    assert.deepEqual(seqs(sub).slice(before), ['1', '2'], 'no redelivery by the pass that started before the reset');
    await h.clock.advance(9_000);
    await store.drain();
    assert.deepEqual(seqs(sub).slice(before), ['1', '2']);
    await h.clock.advance(1_100);
    await store.drain();
    assert.deepEqual(seqs(sub).slice(before), ['1', '2', '1*1', '2*1'], 'redelivered one ack wait after the new deliveries');
  }));

test('messages pending at a reset are dropped as if acknowledged: never redelivered, a late ack of them is ignored', () =>
  inColdCore(async ({ h, c }) => {
    await publishN(c, 6);
    const sub = await c.subscribe('foo', { durableName: 'd', startPosition: 4, maxInFlight: 3, ackWaitInSecs: 5 });
    assert.deepEqual(seqs(sub), ['1', '2', '3']);
    await reset(h, 5);
    await settle();
    assert.deepEqual(seqs(sub), ['1', '2', '3', '5', '6']);
    c.ack(sub, 'foo', 2);
    c.ack(sub, 'foo', 5);
    await settle();
    await h.clock.advance(5_100);
    assert.deepEqual(seqs(sub).slice(5), ['6*1'], 'only the unacknowledged message of the new position comes again');
    const state = h.core.channels.get('foo')?.durables.values().next().value;
    assert.deepEqual([...(state?.acksPending.keys() ?? [])], [6]);
  }));

test('a reset to a time applies to the members the group has once the time is looked up, not to those it had before', () =>
  inColdCore(async ({ h, store, c }) => {
    await publishN(c, 2);
    const a = await c.subscribe('foo', { durableName: 'd', qGroup: 'g', startPosition: 4, ackWaitInSecs: 10 });
    assert.deepEqual(seqs(a), ['1', '2']);
    store.gateTimeLookups = true;
    const answer = h.core.admin.resetDurable({ channel: 'foo', clientID: 'c1', durable: 'd', queue: 'g', at: { timeNs: h.clock.nowNanos() + 1_000_000 } });
    await settle();
    assert.equal(store.timeLookups.length, 1, 'the reset waits for its time lookup');
    // Meanwhile b joins and a leaves: a's unacknowledged 1 and 2 move to b.
    const b = await c.subscribe('foo', { durableName: 'd', qGroup: 'g', ackWaitInSecs: 10 });
    assert.equal(await c.unsubscribe(a, 'foo'), '');
    store.timeLookups.splice(0).forEach((go) => go());
    assert.deepEqual(await answer, { next_seq: 3 });
    await h.clock.advance(20_000);
    assert.deepEqual(seqs(b), [], 'the messages pending before the reset are not redelivered to the new member');
    await publishN(c, 1);
    assert.deepEqual(seqs(b), ['3']);
  }));
