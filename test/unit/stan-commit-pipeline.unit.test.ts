/**
 * The commit pipeline (src/stan/commit-pipeline.ts): one store commit per burst of
 * publishes; PubAcks only after the commit covering them resolved, in publish order, even
 * when a later commit resolves first; a failed commit answers its publishers with the error;
 * barrier() waits for everything received so far; a group kept for reuse references no channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultStoreLimits } from '../../src/config/options';
import { silentLogger } from '../../src/logging/logger';
import { PubAckCodec } from '../../src/protocol/codec';
import { MemoryStore } from '../../src/store/memory';
import { CommitPipeline } from '../../src/stan/commit-pipeline';
import { Channel } from '../../src/stan/state';
import { FakeClock, settle } from '../helpers/fake-clock';
import { MemoryTransport } from '../helpers/memory-transport';

/** The MEMORY store, with commits that resolve or fail only when the test says so. */
class GatedStore extends MemoryStore {
  readonly commits: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  override commit(): Promise<void> {
    return new Promise((resolve, reject) => this.commits.push({ resolve, reject }));
  }
}

function setUp(): { store: GatedStore; clock: FakeClock; nc: MemoryTransport; pipeline: CommitPipeline; ch: Channel; delivered: string[]; acks: Array<{ guid: string; error: string }> } {
  const store = new GatedStore(defaultStoreLimits());
  const clock = new FakeClock();
  const nc = new MemoryTransport(clock);
  const delivered: string[] = [];
  const pipeline = new CommitPipeline(store, nc, silentLogger, (c) => delivered.push(`${c.name}@${c.deliverableSeq}`), clock);
  const ch = new Channel(store.createChannel('foo'));
  const acks: Array<{ guid: string; error: string }> = [];
  nc.subscribe('acks', (_s, _r, data) => {
    const a = PubAckCodec.decode(data);
    acks.push({ guid: a.guid, error: a.error });
  });
  return { store, clock, nc, pipeline, ch, delivered, acks };
}

function publish(t: ReturnType<typeof setUp>, seq: number): void {
  t.ch.store.msgs.store({ seq, timestamp: seq, subject: 'foo', reply: '', data: Buffer.from('x') });
  t.ch.nextSeq = seq;
  // The guid sits inside a larger buffer, as in a PubMsg.
  const src = Buffer.from(`xx g${seq} yy`);
  t.pipeline.addRange(t.ch, seq, src, 3, 3 + `g${seq}`.length, 'acks');
}

test('one commit per burst; nothing is delivered or acknowledged before it resolves', async () => {
  const t = setUp();
  publish(t, 1);
  publish(t, 2);
  await settle();
  assert.equal(t.store.commits.length, 1);
  assert.deepEqual(t.acks, []);
  assert.equal(t.ch.deliverableSeq, 0);
  t.store.commits[0].resolve();
  await settle();
  assert.deepEqual(t.delivered, ['foo@2']);
  assert.deepEqual(t.acks, [{ guid: 'g1', error: '' }, { guid: 'g2', error: '' }]);
});

test('PubAcks keep publish order even when a later commit resolves first', async () => {
  const t = setUp();
  publish(t, 1);
  await settle();
  publish(t, 2);
  await settle();
  assert.equal(t.store.commits.length, 2);
  t.store.commits[1].resolve();
  await settle();
  assert.equal(t.acks.length, 0, 'the second group waits for the first');
  t.store.commits[0].resolve();
  await settle();
  assert.deepEqual(t.acks.map((a) => a.guid), ['g1', 'g2']);
});

test('a failed commit answers each publisher of its group with the error; barrier waits for it', async () => {
  const t = setUp();
  publish(t, 1);
  let barrierDone = false;
  const barrier = t.pipeline.barrier().then(() => (barrierDone = true));
  await settle();
  assert.equal(barrierDone, false);
  t.store.commits[0].reject(new Error('database gone'));
  await barrier;
  assert.deepEqual(t.acks, [{ guid: 'g1', error: 'database gone' }]);
  assert.deepEqual(t.delivered, []);
});

test('a settled group kept for reuse holds no channel: a deleted channel can be collected', async () => {
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const t = setUp();
  // A channel only this burst names (as one deleted later by max_inactivity would be).
  const ref = ((): WeakRef<Channel> => {
    const gone = new Channel(t.store.createChannel('gone'));
    gone.store.msgs.store({ seq: 1, timestamp: 1, subject: 'gone', reply: '', data: Buffer.from('x') });
    gone.nextSeq = 1;
    const src = Buffer.from('g1');
    t.pipeline.addRange(gone, 1, src, 0, src.length, 'acks');
    return new WeakRef(gone);
  })();
  await settle();
  t.store.commits[0].resolve();
  await settle();
  assert.deepEqual(t.acks, [{ guid: 'g1', error: '' }]);
  // A WeakRef's target is kept until the end of the job that made or read it: collect only
  // in later turns, and read it once, at the end.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(ref.deref(), undefined, 'the kept group still references the channel');
});

/** A transport with the in-process connection's publishRun: runs recorded, then published one by one. */
class RunTransport extends MemoryTransport {
  readonly runs: string[] = [];
  publishRun(subject: string, buf: Uint8Array, bounds: ArrayLike<number>, from: number, to: number): void {
    this.runs.push(`${subject}:${to - from}`);
    for (let i = from; i < to; i++) this.publish(subject, buf.slice(bounds[i], bounds[i + 1]));
  }
}

test('PubAcks to one ack inbox in a row go as one run; a refused message ends a run and gets its error, in publish order', async () => {
  const store = new GatedStore(defaultStoreLimits());
  const clock = new FakeClock();
  const nc = new RunTransport(clock);
  const pipeline = new CommitPipeline(store, nc, silentLogger, () => undefined, clock);
  const ch = new Channel(store.createChannel('foo'));
  // As the SQL store does when the database refused one message's row.
  const refused = new Map([
    [2, 'row 2 refused'],
    [5, 'row 5 refused'],
  ]);
  ch.store.msgs.takeRefusal = (seq: number): string | undefined => {
    const why = refused.get(seq);
    refused.delete(seq);
    return why;
  };
  const acks: string[] = [];
  for (const inbox of ['a', 'b']) {
    nc.subscribe(inbox, (_s, _r, data) => {
      const a = PubAckCodec.decode(data);
      acks.push(`${inbox} ${a.guid} ${a.error || 'ok'}`);
    });
  }
  const inboxes = ['a', 'a', 'b', 'b', 'b', 'a', undefined, 'a'];
  inboxes.forEach((inbox, k) => {
    const seq = k + 1;
    ch.store.msgs.store({ seq, timestamp: seq, subject: 'foo', reply: '', data: Buffer.from('x') });
    ch.nextSeq = seq;
    const src = Buffer.from(`g${seq}`);
    pipeline.addRange(ch, seq, src, 0, src.length, inbox);
  });
  await settle();
  store.commits[0].resolve();
  await settle();
  assert.deepEqual(acks, ['a g1 ok', 'a g2 row 2 refused', 'b g3 ok', 'b g4 ok', 'b g5 row 5 refused', 'a g6 ok', 'a g8 ok']);
  // Message 7 has no ack inbox: it ends the run of 'a' without a PubAck of its own.
  assert.deepEqual(nc.runs, ['a:1', 'b:2', 'a:1', 'a:1']);
});
