/**
 * Queue groups in the STAN core without sockets (src/stan/delivery.ts pickMember/pumpGroup,
 * subscribe.ts leaveGroup): member choice, a stalled group waiting and resuming, and a
 * leaving member's unacknowledged messages going to the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock';
import { seqs, withCore } from '../helpers/stan-core';

test('queue members: each message goes to the member with fewest unacknowledged, round robin among equals', () =>
  withCore(async (h, c) => {
    const a = await c.subscribe('foo', { qGroup: 'g' });
    const b = await c.subscribe('foo', { qGroup: 'g' });
    for (const d of ['1', '2', '3', '4']) await c.publish('foo', d);
    await settle();
    assert.deepEqual([seqs(a), seqs(b)], [['1', '3'], ['2', '4']]);
    // a acks both: it now has fewer pending than b and takes the next two.
    c.ack(a, 'foo', 1);
    c.ack(a, 'foo', 3);
    await settle();
    await c.publish('foo', '5');
    await c.publish('foo', '6');
    await settle();
    assert.deepEqual(seqs(a), ['1', '3', '5', '6']);
    assert.deepEqual(seqs(b), ['2', '4']);
  }));

test('a group whose members are all at max in flight stalls, and resumes with the next ack', () =>
  withCore(async (h, c) => {
    const a = await c.subscribe('foo', { qGroup: 'g', maxInFlight: 1 });
    const b = await c.subscribe('foo', { qGroup: 'g', maxInFlight: 1 });
    for (const d of ['1', '2', '3']) await c.publish('foo', d);
    await settle();
    assert.deepEqual([seqs(a), seqs(b)], [['1'], ['2']]);
    c.ack(b, 'foo', 2);
    await settle();
    assert.deepEqual([seqs(a), seqs(b)], [['1'], ['2', '3']]);
  }));

test('a member leaving the group: its unacknowledged messages are redelivered to a remaining member', () =>
  withCore(async (h, c) => {
    const a = await c.subscribe('foo', { qGroup: 'g' });
    const b = await c.subscribe('foo', { qGroup: 'g' });
    await c.publish('foo', '1');
    await c.publish('foo', '2');
    await settle();
    assert.deepEqual([seqs(a), seqs(b)], [['1'], ['2']]);
    assert.equal(await c.unsubscribe(a, 'foo'), '');
    await h.clock.advance(1_000);
    assert.deepEqual(seqs(b), ['2', '1*1']);
    assert.equal(h.core.subscriptionCount, 1);
  }));
