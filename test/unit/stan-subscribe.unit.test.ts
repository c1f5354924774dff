/**
 * Subscriptions in the STAN core without sockets (src/stan/subscribe.ts): the five start
 * positions, durable resume after a close, and a durable unsubscribed for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StartPosition } from '../../src/protocol/codec';
import { settle } from '../helpers/fake-clock';
import { seqs, withCore, type CoreHarness, type TestClient } from '../helpers/stan-core';

/** Publishes m1 at t0, m2 at t0+10s, m3 at t0+20s; then 5 s pass. */
async function threeMessages(h: CoreHarness, c: TestClient): Promise<void> {
  await c.publish('foo', 'm1');
  await h.clock.advance(10_000);
  await c.publish('foo', 'm2');
  await h.clock.advance(10_000);
  await c.publish('foo', 'm3');
  await h.clock.advance(5_000);
}

const cases: Array<[string, Partial<Parameters<TestClient['subscribe']>[1]>, string[]]> = [
  ['NewOnly', { startPosition: StartPosition.NewOnly }, ['4']],
  ['LastReceived', { startPosition: StartPosition.LastReceived }, ['3', '4']],
  ['TimeDeltaStart 10 s (m3 is 5 s old, m2 15 s)', { startPosition: StartPosition.TimeDeltaStart, startTimeDelta: 10_000 * 1e6 }, ['3', '4']],
  ['SequenceStart 2', { startPosition: StartPosition.SequenceStart, startSequence: 2 }, ['2', '3', '4']],
  ['First', { startPosition: StartPosition.First }, ['1', '2', '3', '4']],
];

for (const [name, req, expected] of cases) {
  test(`start position ${name}`, () =>
    withCore(async (h, c) => {
      await threeMessages(h, c);
      const sub = await c.subscribe('foo', req);
      assert.equal(sub.error, '');
      await c.publish('foo', 'm4');
      await settle();
      assert.deepEqual(seqs(sub), expected);
    }));
}

test('an invalid start position is refused with the reference error', () =>
  withCore(async (h, c) => {
    const sub = await c.subscribe('foo', { startPosition: 9 });
    assert.equal(sub.error, 'stan: invalid start position');
  }));

test('a closed durable resumes where it left off: unacknowledged first (redelivered), then what came meanwhile', () =>
  withCore(async (h, c) => {
    const d1 = await c.subscribe('foo', { durableName: 'dur', startPosition: StartPosition.First });
    await c.publish('foo', 'm1');
    await c.publish('foo', 'm2');
    await settle();
    assert.deepEqual(seqs(d1), ['1', '2']);
    c.ack(d1, 'foo', 1);
    await settle();
    assert.equal(await c.unsubscribe(d1, 'foo', true), '');
    assert.equal(h.core.subscriptionCount, 1, 'the durable stays, offline');
    await c.publish('foo', 'm3');
    const d2 = await c.subscribe('foo', { durableName: 'dur', startPosition: StartPosition.First });
    assert.equal(d2.error, '');
    await settle();
    assert.deepEqual(seqs(d2), ['2*1', '3']);
  }));

test('an unsubscribed durable is gone: subscribing again starts from the start position', () =>
  withCore(async (h, c) => {
    const d1 = await c.subscribe('foo', { durableName: 'dur' });
    await c.publish('foo', 'm1');
    await settle();
    assert.equal(await c.unsubscribe(d1, 'foo'), '');
    assert.equal(h.core.subscriptionCount, 0);
    const d2 = await c.subscribe('foo', { durableName: 'dur', startPosition: StartPosition.NewOnly });
    await c.publish('foo', 'm2');
    await settle();
    assert.deepEqual(seqs(d2), ['2']);
  }));

test('acks reach the subscription whose ack inbox they arrive on, among several of one channel', () =>
  withCore(async (_h, c) => {
    const a = await c.subscribe('foo', { maxInFlight: 1 });
    const b = await c.subscribe('foo', { maxInFlight: 1 });
    const other = await c.subscribe('bar', { maxInFlight: 1 });
    await c.publish('foo', 'm1');
    await c.publish('foo', 'm2');
    await c.publish('bar', 'b1');
    await c.publish('bar', 'b2');
    await settle();
    assert.deepEqual([seqs(a), seqs(b), seqs(other)], [['1'], ['1'], ['1']]);
    // b's ack frees b only; an ack naming "foo" on the "bar" subscription's inbox is ignored.
    c.ack(b, 'foo', 1);
    c.ack(other, 'foo', 1);
    await settle();
    assert.deepEqual([seqs(a), seqs(b), seqs(other)], [['1'], ['1', '2'], ['1']]);
    c.ack(a, 'foo', 1);
    c.ack(other, 'bar', 1);
    await settle();
    assert.deepEqual([seqs(a), seqs(b), seqs(other)], [['1', '2'], ['1', '2'], ['1', '2']]);
  }));
