/**
 * Max deliveries and dead letters in the STAN core (src/stan/dead-letters, delivery.ts):
 * in-memory transport, MEMORY store, fake clock. Counting (the first delivery is one),
 * the envelope on the dead-letter channel, queue groups counting per group, per-durable
 * settings, and no change without configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock';
import { seqs, withCore, type CoreHarness, type TestClient, type TestSub } from '../helpers/stan-core';
import type { DeadLetterEnvelope } from '../../src/stan/dead-letters';
import { formatDeadLetterTable, resolveDeadLetterPolicy, validateDeadLetters } from '../../src/stan/dead-letters/policy';
import { defaultStoreLimits } from '../../src/config/options';

async function expire(h: CoreHarness, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await h.clock.advance(2_100);
  await settle();
}

function envelopes(sub: TestSub): DeadLetterEnvelope[] {
  return sub.msgs.map((m) => JSON.parse(Buffer.from(m.data).toString('utf8')) as DeadLetterEnvelope);
}

async function dlqWatcher(c: TestClient, channel: string): Promise<TestSub> {
  return c.subscribe(channel, { ackWaitInSecs: 30 });
}

test('a message delivered max_deliveries times without ack goes to the dead-letter channel; the next one flows', () =>
  withCore(
    async (h, c) => {
      const dlq = await dlqWatcher(c, 'dlq.foo');
      const sub = await c.subscribe('foo', { ackWaitInSecs: 2, maxInFlight: 1 });
      await c.publish('foo', 'poison');
      await c.publish('foo', 'next');
      await settle();
      assert.deepEqual(seqs(sub), ['1']);
      await expire(h, 2);
      // Three deliveries in all (the first counts as one), then the message leaves.
      assert.deepEqual(seqs(sub), ['1', '1*1', '1*2']);
      assert.equal(dlq.msgs.length, 0);
      await expire(h, 1);
      assert.deepEqual(seqs(sub), ['1', '1*1', '1*2', '2']);
      const [env] = envelopes(dlq);
      assert.deepEqual(
        { ...env, timestamp: 0 },
        { channel: 'foo', seq: 1, timestamp: 0, subject: 'foo', reply: '', client_id: 'c1', durable: '', queue: '', deliveries: 3, data_base64: Buffer.from('poison').toString('base64') },
      );
      assert.ok(env.timestamp > 0);
      assert.equal(h.core.channels.get('dlq.foo')?.store.msgs.lastSeq, 1);
      assert.equal(h.core.stats.deadLettered.get('foo'), 1);
      // The subscription's pending set moved on: nothing more of seq 1.
      await expire(h, 3);
      assert.equal(seqs(sub).filter((s) => s.startsWith('1')).length, 3);
    },
    (o) => {
      o.storeLimits.perChannel['foo'] = { maxDeliveries: 3, deadLetter: 'dlq.{channel}' };
    },
  ));

test('max_deliveries 1: the message is never redelivered; without dead_letter it is dropped', () =>
  withCore(
    async (h, c) => {
      const sub = await c.subscribe('bar', { ackWaitInSecs: 2 });
      await c.publish('bar', 'x');
      await expire(h, 3);
      assert.deepEqual(seqs(sub), ['1']);
      assert.equal(h.core.stats.deadLettered.get('bar'), 1);
      assert.equal(h.core.channels.size, 1);
    },
    (o) => {
      o.storeLimits.maxDeliveries = 1;
    },
  ));

test('a queue group counts deliveries per group, whichever member got them', () =>
  withCore(
    async (h, c) => {
      const dlq = await dlqWatcher(c, 'dead');
      const a = await c.subscribe('q', { qGroup: 'g', ackWaitInSecs: 2 });
      const b = await c.subscribe('q', { qGroup: 'g', ackWaitInSecs: 2 });
      await c.publish('q', 'm');
      await expire(h, 4);
      const got = [...seqs(a), ...seqs(b)].filter((s) => s.startsWith('1'));
      assert.equal(got.length, 2);
      const [env] = envelopes(dlq);
      assert.equal(env.queue, 'g');
      assert.equal(env.deliveries, 2);
    },
    (o) => {
      o.storeLimits.perChannel['q'] = { maxDeliveries: 2, deadLetter: 'dead' };
    },
  ));

test('a durable setting inside a channel entry beats the entry; other subscriptions keep the reference behaviour', () =>
  withCore(
    async (h, c) => {
      const dlq = await dlqWatcher(c, 'dl.w');
      const d = await c.subscribe('w.x', { durableName: 'dur', ackWaitInSecs: 2 });
      const plain = await c.subscribe('w.x', { ackWaitInSecs: 2 });
      await c.publish('w.x', 'm');
      await expire(h, 4);
      assert.deepEqual(seqs(d), ['1', '1*1']);
      assert.deepEqual(seqs(plain), ['1', '1*1', '1*2', '1*3', '1*4']);
      const [env] = envelopes(dlq);
      assert.equal(env.durable, 'dur');
      assert.equal(env.deliveries, 2);
    },
    (o) => {
      o.storeLimits.perChannel['w.*'] = { deadLetter: 'dl.w', durables: { dur: { maxDeliveries: 2 } } };
    },
  ));

test('without configuration, redelivery is unlimited (the reference behaviour)', () =>
  withCore(async (h, c) => {
    const sub = await c.subscribe('foo', { ackWaitInSecs: 2 });
    await c.publish('foo', 'a');
    await expire(h, 5);
    assert.deepEqual(seqs(sub), ['1', '1*1', '1*2', '1*3', '1*4', '1*5']);
    assert.equal(h.core.stats.deadLettered.size, 0);
  }));

test('policy: wildcard inheritance, -1 as explicit unlimited, durable override', () => {
  const l = defaultStoreLimits();
  l.maxDeliveries = 5;
  l.deadLetter = 'dlq.{channel}';
  l.perChannel = { 'a.>': { maxDeliveries: 3 }, 'a.b': { deadLetter: '' }, 'a.c': { maxDeliveries: -1, durables: { d: { maxDeliveries: 2 } } } };
  assert.deepEqual(resolveDeadLetterPolicy(l, 'x', ''), { maxDeliveries: 5, deadLetter: 'dlq.x' });
  assert.deepEqual(resolveDeadLetterPolicy(l, 'a.z', ''), { maxDeliveries: 3, deadLetter: 'dlq.a.z' });
  assert.deepEqual(resolveDeadLetterPolicy(l, 'a.b', ''), { maxDeliveries: 3, deadLetter: '' });
  assert.equal(resolveDeadLetterPolicy(l, 'a.c', ''), undefined);
  assert.deepEqual(resolveDeadLetterPolicy(l, 'a.c', 'd'), { maxDeliveries: 2, deadLetter: 'dlq.a.c' });
});

test('validation: bad dead-letter names, loops and negative globals are refused with a clear message', () => {
  const bad = (tweak: (l: ReturnType<typeof defaultStoreLimits>) => void, re: RegExp): void => {
    const l = defaultStoreLimits();
    tweak(l);
    assert.throws(() => validateDeadLetters(l), re);
  };
  bad((l) => { l.deadLetter = 'dlq.*'; }, /invalid dead_letter "dlq\.\*": it must be a channel name without wildcards/);
  bad((l) => { l.deadLetter = 'dlq..{channel}'; }, /invalid dead_letter/);
  bad((l) => { l.maxDeliveries = -2; }, /invalid max_deliveries \(-2\)/);
  bad((l) => { l.perChannel['foo'] = { deadLetter: 'foo' }; }, /names the channel itself/);
  bad((l) => { l.perChannel['foo'] = { durables: { d: { deadLetter: 'a b' } } }; }, /for durable "d" of channel "foo"/);
  const ok = defaultStoreLimits();
  ok.perChannel['foo.>'] = { maxDeliveries: 2, deadLetter: 'dlq.{channel}' };
  validateDeadLetters(ok);
});

test('start-up table: shown only when a setting is present, with globals, entries and durables', () => {
  assert.deepEqual(formatDeadLetterTable(defaultStoreLimits()), []);
  const l = defaultStoreLimits();
  l.maxDeliveries = 5;
  l.deadLetter = 'dlq.{channel}';
  l.perChannel = { 'a.>': { maxDeliveries: -1, durables: { d: { maxDeliveries: 2, deadLetter: '' } } }, b: { maxMsgs: 10 } };
  assert.deepEqual(formatDeadLetterTable(l), [
    '---------- Dead Letters ----------',
    '  Default      : max deliveries: 5, dead letter: dlq.{channel}',
    '  a.>: max deliveries: unlimited',
    '  a.> (durable d): max deliveries: 2, dead letter: none',
    '----------------------------------',
  ]);
});
