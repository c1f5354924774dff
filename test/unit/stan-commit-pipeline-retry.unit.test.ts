/**
 * The commit pipeline after a failed commit (src/stan/commit-pipeline.ts): the publishers get
 * the error, but the SQL store keeps the rows and stores them on a later attempt, so the
 * messages must become deliverable once a later commit resolves, even when nobody publishes
 * again (the pipeline then asks a commit by itself, after a pause, backing off). Never past a
 * message the store refused, never backwards, and nothing asked any more once closed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStoreLimits } from '../../src/config/options';
import { silentLogger, type Logger } from '../../src/logging/logger';
import { PubAckCodec, StartPosition } from '../../src/protocol/codec';
import { MemoryStore } from '../../src/store/memory';
import { AdminActionRefusal } from '../../src/stan/admin-actions';
import { CommitPipeline } from '../../src/stan/commit-pipeline';
import { Channel } from '../../src/stan/state';
import { FakeClock, settle } from '../helpers/fake-clock';
import { MemoryTransport } from '../helpers/memory-transport';
import { seqs, startCore, TestClient } from '../helpers/stan-core';

/** The MEMORY store, with commits that resolve or fail only when the test says so. */
class GatedStore extends MemoryStore {
  readonly commits: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  /** When set, every commit asked is rejected at once with it (a failed store). */
  rejectAll: Error | undefined;
  override commit(): Promise<void> {
    if (this.rejectAll !== undefined) {
      this.commits.push({ resolve: () => undefined, reject: () => undefined });
      return Promise.reject(this.rejectAll);
    }
    return new Promise((resolve, reject) => this.commits.push({ resolve, reject }));
  }
}

interface Setup {
  store: GatedStore;
  clock: FakeClock;
  pipeline: CommitPipeline;
  errors: string[];
  /** Every deliver() call: `channel@deliverableSeq`. */
  delivered: string[];
  acks: string[];
  channel(name: string): Channel;
  publish(ch: Channel): number;
}

function setUp(): Setup {
  const store = new GatedStore(defaultStoreLimits());
  const clock = new FakeClock();
  const nc = new MemoryTransport(clock);
  const errors: string[] = [];
  const log: Logger = { ...silentLogger, error: (l: string) => errors.push(l) };
  const delivered: string[] = [];
  const pipeline = new CommitPipeline(store, nc, log, (c) => delivered.push(`${c.name}@${c.deliverableSeq}`), clock);
  const acks: string[] = [];
  nc.subscribe('acks', (_s, _r, data) => {
    const a = PubAckCodec.decode(data);
    acks.push(`${a.guid} ${a.error || 'ok'}`);
  });
  return {
    store,
    clock,
    pipeline,
    errors,
    delivered,
    acks,
    channel: (name) => new Channel(store.createChannel(name)),
    publish: (ch) => {
      const seq = ch.nextSeq + 1;
      ch.store.msgs.store({ seq, timestamp: seq, subject: ch.name, reply: '', data: Buffer.from('x') });
      ch.nextSeq = seq;
      const guid = Buffer.from(`${ch.name}${seq}`);
      pipeline.add(ch, seq, guid, 'acks');
      return seq;
    },
  };
}

/** takeRefusal as the SQL store has it: the test fills `refused` as the database would. */
function refusing(ch: Channel): Map<number, string> {
  const refused = new Map<number, string>();
  ch.store.msgs.takeRefusal = (seq: number): string | undefined => {
    const why = refused.get(seq);
    refused.delete(seq);
    return why;
  };
  return refused;
}

/**
 * A message published on "foo" whose commit was rejected: "database gone" (a transient
 * failure), or with `failed` by a store that now rejects every commit at once.
 */
async function failedCommit(failed = false): Promise<{ t: Setup; foo: Channel }> {
  const t = setUp();
  const foo = t.channel('foo');
  t.publish(foo);
  await settle();
  if (failed) t.store.rejectAll = new Error('store failed: read-only');
  t.store.commits[0].reject(t.store.rejectAll ?? new Error('database gone'));
  await settle();
  return { t, foo };
}

test('a failed commit: error PubAck, then the pipeline commits by itself and delivers, with no further publish', async () => {
  const { t, foo } = await failedCommit();
  assert.deepEqual(t.acks, ['foo1 database gone']);
  assert.deepEqual(t.delivered, []);
  assert.equal(foo.deliverableSeq, 0, 'not deliverable while not known durable');
  assert.equal(t.errors.length, 1, 'the incident is logged once');
  // The store's retry wrote the rows meanwhile; nobody publishes: the pipeline asks a commit.
  await t.clock.advance(1000);
  assert.equal(t.store.commits.length, 2, 'one commit asked by the pipeline');
  t.store.commits[1].resolve();
  await settle();
  assert.equal(foo.deliverableSeq, 1);
  assert.deepEqual(t.delivered, ['foo@1']);
  assert.deepEqual(t.acks, ['foo1 database gone'], 'no second PubAck');
  // Nothing more is asked once delivered.
  await t.clock.advance(60_000);
  assert.equal(t.store.commits.length, 2);
});

test('a failed store: the pipeline keeps asking, backing off (no hot loop), logs once, delivers once it works', async () => {
  const { t } = await failedCommit(true);
  // A commit rejected at once must not be asked again at once.
  await t.clock.advance(0);
  assert.equal(t.store.commits.length, 1);
  await t.clock.advance(60_000);
  const asked = t.store.commits.length - 1;
  assert.ok(asked >= 5, `asked again while failing (${asked})`);
  assert.ok(asked <= 60_000 / 1000, `backs off (${asked} commits in a minute)`);
  assert.equal(t.errors.length, 1, 'one log line for the incident, not one per retry');
  assert.deepEqual(t.delivered, []);
  t.store.rejectAll = undefined;
  await t.clock.advance(60_000);
  const last = t.store.commits[t.store.commits.length - 1];
  last.resolve();
  await settle();
  assert.deepEqual(t.delivered, ['foo@1']);
});

test('a later group on another channel covers the failed one: delivered in its settle, no commit of its own asked', async () => {
  const t = setUp();
  const foo = t.channel('foo');
  const bar = t.channel('bar');
  t.publish(foo);
  await settle();
  t.publish(bar);
  await settle();
  assert.equal(t.store.commits.length, 2);
  t.store.commits[0].reject(new Error('deadlock'));
  t.store.commits[1].resolve();
  await settle();
  assert.deepEqual(t.acks, ['foo1 deadlock', 'bar1 ok']);
  assert.deepEqual(t.delivered.sort(), ['bar@1', 'foo@1']);
  await t.clock.advance(60_000);
  assert.equal(t.store.commits.length, 2, 'the pending retry was cancelled');
});

test('groups in flight around the retry: deliverableSeq never goes back, and only what a resolved commit covers', async () => {
  const t = setUp();
  const foo = t.channel('foo');
  t.publish(foo); // seq 1, group A
  await settle();
  t.store.commits[0].reject(new Error('connection lost'));
  await settle();
  await t.clock.advance(200);
  assert.equal(t.store.commits.length, 2, 'the retry R is asked');
  t.publish(foo); // seq 2, group B, asked after R
  await settle();
  assert.equal(t.store.commits.length, 3);
  // B fails before R resolves (resolved out of order): B waits for R in the chain.
  t.store.commits[2].reject(new Error('connection lost again'));
  await settle();
  assert.deepEqual(t.acks, ['foo1 connection lost'], 'B is answered after R settled');
  t.store.commits[1].resolve();
  await settle();
  // R covers A (asked before R), not B (asked after R).
  assert.equal(foo.deliverableSeq, 1);
  assert.deepEqual(t.acks, ['foo1 connection lost', 'foo2 connection lost again']);
  await t.clock.advance(1000);
  assert.equal(t.store.commits.length, 4, 'a new retry for B');
  // A success of a later group meanwhile: B is covered; the retry's success changes nothing.
  t.publish(foo); // seq 3, group C
  await settle();
  t.store.commits[4].resolve();
  await settle();
  assert.equal(foo.deliverableSeq, 1, 'C waits for the retry asked before it');
  t.store.commits[3].resolve();
  await settle();
  assert.equal(foo.deliverableSeq, 3);
  const seen = t.delivered.map((d) => Number(d.split('@')[1]));
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `deliverableSeq never went back: ${t.delivered.join(', ')}`);
  assert.equal(seen[seen.length - 1], 3);
});

test('refused messages are never made deliverable; a refusal found by the store retry is logged and taken', async () => {
  const t = setUp();
  const foo = t.channel('foo');
  const refused = refusing(foo);
  // Group A: 1 stored later, 2 refused when A failed.
  t.publish(foo);
  t.publish(foo);
  await settle();
  refused.set(2, 'CHECK constraint');
  t.store.commits[0].reject(new Error('connection lost'));
  await settle();
  assert.deepEqual(t.acks, ['foo1 connection lost', 'foo2 CHECK constraint']);
  // Group B: 3 alone, refused when B failed: nothing of B to deliver.
  t.publish(foo);
  await settle();
  refused.set(3, 'CHECK constraint');
  t.store.commits[1].reject(new Error('connection lost'));
  await settle();
  // Group C: 4 and 5; the store's retry refuses 5 after C was answered.
  t.publish(foo);
  t.publish(foo);
  await settle();
  t.store.commits[2].reject(new Error('connection lost'));
  await settle();
  refused.set(5, 'trigger says no');
  t.errors.length = 0;
  await t.clock.advance(1000);
  t.store.commits[3].resolve();
  await settle();
  // Up to 5: 2, 3 and 5 are gaps the delivery skips (the store dropped them), as in a
  // successful group with a refused message; never past what the failed groups published.
  assert.equal(foo.deliverableSeq, 5);
  assert.equal(refused.size, 0, 'the late refusal was taken');
  assert.deepEqual(t.errors, ['Unable to store message 5 of channel "foo": trigger says no']);
});

test('a group whose only message was refused asks no commit of its own', async () => {
  const t = setUp();
  const foo = t.channel('foo');
  const refused = refusing(foo);
  t.publish(foo);
  await settle();
  refused.set(1, 'value out of range');
  t.store.commits[0].reject(new Error('batch failed'));
  await settle();
  assert.deepEqual(t.acks, ['foo1 value out of range']);
  await t.clock.advance(60_000);
  assert.equal(t.store.commits.length, 1);
  assert.equal(foo.deliverableSeq, 0);
});

test('close() stops the retry: no timer left, no commit asked, nothing delivered, even when the asked one resolves after', async () => {
  const { t } = await failedCommit();
  assert.equal(t.clock.pendingTimers, 1, 'the retry timer');
  t.pipeline.close();
  assert.equal(t.clock.pendingTimers, 0);
  await t.clock.advance(60_000);
  assert.equal(t.store.commits.length, 1);

  // Closed while the pipeline's commit is in flight.
  const u = setUp();
  const bar = u.channel('bar');
  u.publish(bar);
  await settle();
  u.store.commits[0].reject(new Error('database gone'));
  await settle();
  await u.clock.advance(1000);
  assert.equal(u.store.commits.length, 2);
  u.pipeline.close();
  u.store.commits[1].resolve();
  await settle();
  await u.pipeline.barrier();
  assert.deepEqual(u.delivered, []);
  assert.equal(u.clock.pendingTimers, 0);
  // A group failing after close() arms nothing either.
  u.publish(bar);
  await settle();
  u.store.commits[2].reject(new Error('database gone'));
  await settle();
  assert.equal(u.clock.pendingTimers, 0);
});

/** The MEMORY store, whose commits are rejected while `failing` (as a SQL store whose write failed, rows kept). */
class FlakyStore extends MemoryStore {
  failing = false;
  commits = 0;
  override commit(): Promise<void> {
    this.commits++;
    return this.failing ? Promise.reject(new Error('database gone')) : super.commit();
  }
}

test('the core: a subscriber gets the message of a failed commit with no further publish; shutdown stops the retry', async () => {
  let store: FlakyStore | undefined;
  const h = startCore(undefined, (o, clock) => (store = new FlakyStore(o.storeLimits, { now: () => clock.now() })));
  const flaky = store as unknown as FlakyStore;
  try {
    const c = new TestClient(h, 'c1');
    await c.connect();
    const sub = await c.subscribe('foo', { startPosition: StartPosition.First });
    flaky.failing = true;
    const ack = await c.publish('foo', 'only');
    assert.equal(ack.error, 'database gone');
    await h.clock.advance(1000);
    assert.deepEqual(seqs(sub), [], 'not delivered while commits fail');
    flaky.failing = false;
    await h.clock.advance(5000);
    assert.deepEqual(seqs(sub), ['1']);
    assert.equal(String(sub.msgs[0].data), 'only');

    // Failing again, then the server stops: nothing is asked of the store after shutdown.
    flaky.failing = true;
    assert.equal((await c.publish('foo', 'second')).error, 'database gone');
  } finally {
    await h.close();
  }
  const asked = flaky.commits;
  await h.clock.advance(60_000);
  assert.equal(flaky.commits, asked, 'no commit after shutdown');
});

test('a channel deleted with messages of a failed commit: forgotten (not held, not delivered); other channels still are', async () => {
  const t = setUp();
  const foo = t.channel('foo');
  const bar = t.channel('bar');
  t.publish(foo);
  t.publish(bar);
  await settle();
  t.store.commits[0].reject(new Error('database gone'));
  await settle();
  assert.deepEqual(t.acks, ['foo1 database gone', 'bar1 database gone']);
  // foo is deleted meanwhile (max_inactivity, admin): the pipeline lets go of it.
  t.pipeline.forget(foo);
  await t.clock.advance(1000);
  t.store.commits[1].resolve();
  await settle();
  assert.deepEqual(t.delivered, ['bar@1'], 'the deleted channel is not delivered');
  assert.equal(foo.deliverableSeq, 0);
  // Once nothing is left, the pipeline asks nothing more.
  t.pipeline.forget(bar);
  await t.clock.advance(60_000);
  assert.equal(t.store.commits.length, 2);
});

test('the last channel with failed messages deleted: the pipeline stops asking commits of its own', async () => {
  const { t, foo } = await failedCommit(true);
  await t.clock.advance(200);
  const asked = t.store.commits.length;
  assert.ok(asked >= 2, 'the pipeline asks while the channel waits');
  t.pipeline.forget(foo);
  await t.clock.advance(60_000);
  assert.ok(t.store.commits.length <= asked + 1, `asked ${t.store.commits.length - asked} more after the channel was forgotten`);
  assert.deepEqual(t.delivered, []);
  // The next incident starts with the first pause (200 ms), not where the backoff was.
  t.store.rejectAll = undefined;
  const before = t.store.commits.length;
  t.publish(foo);
  await settle();
  t.store.commits[before].reject(new Error('database gone'));
  await settle();
  await t.clock.advance(250);
  assert.equal(t.store.commits.length, before + 2, 'the pipeline asked again after the first pause');
});

test('the admin republish answers success only for a stored message: a failed commit is not_stored, with what to do', async () => {
  let store: FlakyStore | undefined;
  const h = startCore(undefined, (o, clock) => (store = new FlakyStore(o.storeLimits, { now: () => clock.now() })));
  const flaky = store as unknown as FlakyStore;
  try {
    assert.deepEqual(await h.core.admin.republish('foo', '', Buffer.from('a')), { seq: 1 });
    flaky.failing = true;
    await assert.rejects(h.core.admin.republish('foo', '', Buffer.from('b')), (err: AdminActionRefusal) => {
      assert.equal(err.code, 'not_stored');
      assert.match(err.message, /^message 2 of channel "foo" was published on this server, but the store.s commit failed \(database gone\): the change is not known to be stored, and the store may still record it/);
      return true;
    });
  } finally {
    flaky.failing = false;
    await h.close();
  }
});
