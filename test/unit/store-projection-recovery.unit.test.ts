/**
 * The event projection at recovery: the clean-up rule per subscription kind and toRecovered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreEvent } from '../../src/store/events/events';
import { emptyState } from '../../src/store/events/projection';
import { toRecovered } from '../../src/store/events/to-recovered';
import { encodeSnapshot } from '../../src/store/events/snapshot';
import { decodeEvent, encodeEvent } from '../../src/store/events/event-codec';
import { fold, init, connect, closeClient, channel, sub, created, sent } from '../helpers/projection-events';

// ------------------------------------------------------------------ recovery clean-up

test('recovery clean-up rule: per subscription kind, with the events that make the log agree', () => {
  const events: StoreEvent[] = [
    init,
    connect('alive'),
    connect('gone'),
    channel(1, 'foo'),
    // plain
    created(1, sub(1, { clientID: 'alive' })),
    created(1, sub(2, { clientID: 'gone' })),
    // durable: online / client gone without Close / already closed
    created(1, sub(3, { clientID: 'alive', durableName: 'd', isDurable: true })),
    created(1, sub(4, { clientID: 'gone', durableName: 'd', isDurable: true })),
    created(1, sub(5, { clientID: 'gone', durableName: 'e', isDurable: true, isClosed: true })),
    // non-durable queue group with a survivor, and one whose members are all gone
    created(1, sub(6, { clientID: 'alive', qGroup: 'q1' })),
    created(1, sub(7, { clientID: 'gone', qGroup: 'q1' })),
    created(1, sub(8, { clientID: 'gone', qGroup: 'q2' })),
    // durable queue group whose members are all gone (no shadow yet)
    created(1, sub(9, { clientID: 'gone', qGroup: 'dq:g', isDurable: true })),
    created(1, sub(10, { clientID: 'gone', qGroup: 'dq:g', isDurable: true })),
    // durable queue group with an existing shadow and a ghost
    created(1, sub(11, { clientID: '', qGroup: 'dq:h', isDurable: true, lastSent: 4 })),
    created(1, sub(12, { clientID: 'gone', qGroup: 'dq:h', isDurable: true })),
    sent(1, 2, [1]),
    sent(1, 4, [2, 3]),
    sent(1, 6, [4]),
    sent(1, 7, [5, 4]),
    sent(1, 9, [6]),
    sent(1, 10, [7, 9]),
    sent(1, 11, [1]),
    sent(1, 12, [8]),
    closeClient('gone'),
  ];
  const s = fold(events);
  const before = encodeSnapshot(s);
  const rec = toRecovered(s);
  assert.deepStrictEqual(encodeSnapshot(s), before, 'toRecovered does not modify the projection');

  const byID = new Map(rec.channels[0].subs.map((r) => [r.state.ID, r]));
  assert.deepStrictEqual([...byID.keys()], [1, 3, 4, 5, 6, 9, 11]);
  assert.deepStrictEqual(rec.dropped, [2, 7, 8, 10, 12].map((subID) => ({ channelID: 1, subID })));
  // Durable whose client is gone: offline, clientID kept for its key, pending kept.
  assert.deepStrictEqual(byID.get(4), { state: { ...sub(4, { clientID: 'gone', durableName: 'd', isDurable: true, isClosed: true }), lastSent: 3 }, pending: [2, 3] });
  assert.equal(byID.get(5)?.state.isClosed, true);
  // Queue ghost: pending moved to the first online member of its group.
  assert.deepStrictEqual(byID.get(6)?.pending, [4, 5]);
  assert.equal(byID.get(6)?.state.lastSent, 5);
  // Durable queue, all gone: the lowest ID becomes the shadow, the others merged into it.
  assert.deepStrictEqual(byID.get(9), { state: { ...sub(9, { clientID: '', qGroup: 'dq:g', isDurable: true }), lastSent: 9 }, pending: [6, 7, 9] });
  // Existing shadow absorbs the ghost.
  assert.deepStrictEqual(byID.get(11)?.pending, [1, 8]);
  assert.equal(byID.get(11)?.state.lastSent, 8);

  // Folding the clean-up events reaches a fixpoint with the same recovered subscriptions.
  const after = fold(rec.cleanup, s);
  const again = toRecovered(after);
  assert.deepStrictEqual(again.cleanup, []);
  assert.deepStrictEqual(again.dropped, []);
  assert.deepStrictEqual(again.channels, rec.channels);
  assert.deepStrictEqual(again.clients.map((c) => c.ID), ['alive']);
  // And the clean-up events survive the codec (the store appends them).
  for (const e of rec.cleanup) assert.deepStrictEqual(decodeEvent(e.kind, encodeEvent(e)), e);
});

test('toRecovered: two ghosts pending the same message leave it once on the survivor; a shadow made from a ghost sorts in by ID', () => {
  const s = fold([
    init,
    connect('alive'),
    connect('gone'),
    channel(1, 'foo'),
    // Group g: ghosts 1 and 3 both have 7 pending (redelivered from one to the other), 5 is online.
    created(1, sub(1, { clientID: 'gone', qGroup: 'g' })),
    created(1, sub(3, { clientID: 'gone', qGroup: 'g' })),
    created(1, sub(5, { clientID: 'alive', qGroup: 'g' })),
    // Durable group dq: every member gone, 2 becomes the shadow (after 5 in the first pass).
    created(1, sub(2, { clientID: 'gone', qGroup: 'dq', isDurable: true })),
    created(1, sub(4, { clientID: 'gone', qGroup: 'dq', isDurable: true })),
    sent(1, 1, [7, 8]),
    sent(1, 3, [7]),
    sent(1, 5, [9]),
    sent(1, 4, [6]),
    closeClient('gone'),
  ]);
  const rec = toRecovered(s);
  const subs = rec.channels[0].subs;
  assert.deepStrictEqual(subs.map((r) => r.state.ID), [2, 5]);
  assert.deepStrictEqual(subs[1].pending, [7, 8, 9]);
  assert.deepStrictEqual(subs[0].pending, [6]);
  assert.equal(subs[0].state.clientID, '');
  // Folding the clean-up gives the same survivor without clean-up.
  const again = toRecovered(fold(rec.cleanup, s));
  assert.deepStrictEqual(again.cleanup, []);
  assert.deepStrictEqual(again.channels, rec.channels);
});

test('toRecovered: sorted output, copies, refuses a state without server info', () => {
  assert.throws(() => toRecovered(emptyState()), /no server info/);
  const s = fold([init, connect('c1'), channel(3, 'b'), channel(1, 'a'), created(3, sub(5)), created(3, sub(2)), sent(3, 5, [9, 3, 7])]);
  const rec = toRecovered(s);
  assert.deepStrictEqual(rec.channels.map((c) => c.channelID), [1, 3]);
  assert.deepStrictEqual(rec.channels[1].subs.map((x) => x.state.ID), [2, 5]);
  assert.deepStrictEqual(rec.channels[1].subs[1].pending, [3, 7, 9]);
  rec.channels[1].subs[1].state.isClosed = true; // the server mutates what it recovers
  rec.clients[0].ConnID[0] = 99;
  rec.info.ClusterID = 'x';
  assert.equal(s.channels.get(3)?.subs.get(5)?.state.isClosed, false);
  assert.equal(s.clients.get('c1')?.ConnID[0], 1);
  assert.equal(s.serverInfo?.ClusterID, 'test-cluster');
});
