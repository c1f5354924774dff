/**
 * Delivery over the pending-ack ring (src/stan/pending-acks.ts) through the STAN core (fake
 * clock, MEMORY store): a catch-up-sized window with acks out of order, max in flight honoured,
 * the unacknowledged ones — and only they — redelivered at the ack wait; a queue member's
 * messages moving to another member below that member's window; a durable closed with
 * scattered unacked messages and reopened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock';
import { seqs, TestClient, withCore } from '../helpers/stan-core';
import { StartPosition } from '../../src/protocol/codec';

const N = 300;

async function publishN(c: TestClient, subject: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await c.publish(subject, `m${i}`);
  await settle();
}

test('acks out of order within a large window: flow resumes per ack, only the unacked are redelivered', () =>
  withCore(async (h, c) => {
    await publishN(c, 'foo', N);
    const sub = await c.subscribe('foo', { startPosition: StartPosition.First, maxInFlight: 100, ackWaitInSecs: 5 });
    await settle();
    assert.equal(sub.msgs.length, 100, 'max in flight');
    // Ack backwards, leaving every 10th one: 90 slots free, 90 more sent.
    for (let s = 100; s >= 1; s--) if (s % 10 !== 0) c.ack(sub, 'foo', s);
    await settle();
    assert.equal(sub.msgs.length, 190);
    assert.deepEqual(seqs(sub).slice(100, 103), ['101', '102', '103']);
    // Ack everything sent after 100; the 10 left (10, 20 … 100) hold 10 slots.
    for (let s = 101; s <= 190; s++) c.ack(sub, 'foo', s);
    await settle();
    assert.equal(sub.msgs.length, 280);
    for (let s = 191; s <= 280; s++) c.ack(sub, 'foo', s);
    await settle();
    assert.equal(sub.msgs.length, 300);
    for (let s = 281; s <= 300; s++) c.ack(sub, 'foo', s);
    await settle();
    await h.clock.advance(5_100);
    assert.deepEqual(seqs(sub).slice(300), ['10*1', '20*1', '30*1', '40*1', '50*1', '60*1', '70*1', '80*1', '90*1', '100*1']);
    for (let s = 10; s <= 100; s += 10) c.ack(sub, 'foo', s);
    await settle();
    await h.clock.advance(20_000);
    assert.equal(sub.msgs.length, 310, 'nothing more once all are acked');
  }));

test('a queue member that leaves: its pending messages go to the other member, whose window is above them', () =>
  withCore(async (h, c) => {
    const a = await c.subscribe('foo', { qGroup: 'g', maxInFlight: 1000, ackWaitInSecs: 30 });
    await publishN(c, 'foo', 20);
    const b = await c.subscribe('foo', { qGroup: 'g', maxInFlight: 1000, ackWaitInSecs: 30 });
    await publishN(c, 'foo', 10);
    const ofB = seqs(b).map(Number);
    assert.ok(ofB.length > 0 && ofB.every((s) => s > 20), 'b only has messages after it joined');
    for (const s of ofB) c.ack(b, 'foo', s);
    await settle();
    assert.equal(await c.unsubscribe(a, 'foo'), '');
    await settle();
    await h.clock.advance(200);
    const moved = seqs(b).slice(ofB.length);
    const fromA = seqs(a).map(Number).sort((x, y) => x - y);
    assert.deepEqual(moved.map((s) => Number(s.split('*')[0])).sort((x, y) => x - y), fromA, 'every message a had, redelivered to b');
    assert.ok(moved.every((s) => s.includes('*')), 'flagged as redelivered');
    for (const s of fromA) c.ack(b, 'foo', s);
    await settle();
    await h.clock.advance(60_000);
    assert.equal(seqs(b).length, ofB.length + fromA.length, 'acked below the window: not redelivered again');
  }));

test('a durable closed with scattered unacked messages, reopened: exactly those redelivered, then new ones', () =>
  withCore(async (h, c) => {
    await publishN(c, 'foo', 50);
    const d1 = await c.subscribe('foo', { durableName: 'dur', startPosition: StartPosition.First, maxInFlight: 40 });
    assert.equal(d1.msgs.length, 40);
    for (let s = 1; s <= 40; s++) if (s % 13 !== 0) c.ack(d1, 'foo', s);
    await settle();
    assert.deepEqual(seqs(d1).slice(40), ['41', '42', '43', '44', '45', '46', '47', '48', '49', '50'], 'the freed slots filled');
    for (let s = 41; s <= 45; s++) c.ack(d1, 'foo', s);
    await settle();
    assert.equal(await c.unsubscribe(d1, 'foo', true), '');
    const d2 = await c.subscribe('foo', { durableName: 'dur', startPosition: StartPosition.First, maxInFlight: 40 });
    await settle();
    const got = seqs(d2);
    assert.deepEqual(got, ['13*1', '26*1', '39*1', '46*1', '47*1', '48*1', '49*1', '50*1']);
    await c.publish('foo', 'm51');
    await settle();
    assert.deepEqual(seqs(d2).slice(got.length), ['51'], 'then new ones');
  }));
