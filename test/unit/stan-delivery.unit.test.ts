/**
 * STAN core delivery without sockets or real time (src/stan/delivery.ts, commit-pipeline.ts):
 * in-memory transport, MEMORY store, fake clock. Ack wait, redelivery and its count, max in
 * flight, and PubAcks after the commit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock';
import { seqs, startCore, TestClient, withCore } from '../helpers/stan-core';

test('publish: PubAck without error, in publish order, and stats count the messages', async () => {
  const h = startCore();
  try {
    const c = new TestClient(h, 'pub');
    assert.equal((await c.connect()).error, '');
    const acks = await Promise.all([c.publish('foo', 'a'), c.publish('foo', 'b'), c.publish('foo', 'c')]);
    assert.deepEqual(acks.map((a) => [a.guid, a.error]), [['pub-1', ''], ['pub-2', ''], ['pub-3', '']]);
    assert.equal(h.core.stats.inMsgs, 3);
    assert.equal(h.core.channels.get('foo')?.store.msgs.lastSeq, 3);
  } finally {
    await h.close();
  }
});

test('an unacknowledged message is redelivered after ack wait, its count rising each time; an ack stops it', () =>
  withCore(async (h, c) => {
    const sub = await c.subscribe('foo', { ackWaitInSecs: 2 });
    await c.publish('foo', 'a');
    await settle();
    assert.deepEqual(seqs(sub), ['1']);
    // Just before the ack wait: nothing more.
    await h.clock.advance(1_900);
    assert.deepEqual(seqs(sub), ['1']);
    await h.clock.advance(200);
    assert.deepEqual(seqs(sub), ['1', '1*1']);
    await h.clock.advance(2_100);
    assert.deepEqual(seqs(sub), ['1', '1*1', '1*2']);
    assert.equal(h.core.stats.redeliveries, 2);
    c.ack(sub, 'foo', 1);
    await settle();
    await h.clock.advance(10_000);
    assert.deepEqual(seqs(sub), ['1', '1*1', '1*2']);
  }));

test('max in flight: no more than maxInFlight unacknowledged messages; each ack lets one more go', () =>
  withCore(async (h, c) => {
    const sub = await c.subscribe('foo', { maxInFlight: 2 });
    for (const d of ['a', 'b', 'c', 'd']) await c.publish('foo', d);
    await settle();
    assert.deepEqual(seqs(sub), ['1', '2']);
    c.ack(sub, 'foo', 1);
    await settle();
    assert.deepEqual(seqs(sub), ['1', '2', '3']);
    c.ack(sub, 'foo', 2);
    c.ack(sub, 'foo', 3);
    await settle();
    assert.deepEqual(seqs(sub), ['1', '2', '3', '4']);
  }));
