/**
 * The event projection, subscriptions: the kinds of spec §3 (plain, durable, queue groups),
 * max deliveries (redelivery and dead-letter counts), the admin durable reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SubState } from '../../src/protocol/codec';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { evolve } from '../../src/store/events/projection';
import { toRecovered } from '../../src/store/events/to-recovered';
import { decodeSnapshot, encodeSnapshot } from '../../src/store/events/snapshot';
import { fold, init, connect, closeClient, channel, sub, created, updated, deleted, sent, acked, subOf, redelivered, deadLettered } from '../helpers/projection-events';

// ------------------------------------------------------------------ subscription kinds (spec §3)

test('plain subscription: sent, acked, redelivered, closed', () => {
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, sub(1))]);
  assert.equal(s.nextSubID, 2);
  s = evolve(s, sent(1, 1, [1, 2, 3]));
  s = evolve(s, acked(1, 1, [1, 3]));
  assert.deepStrictEqual(subOf(s, 1, 1), { state: { ...sub(1), lastSent: 3 }, pending: [2] });
  s = evolve(s, sent(1, 1, [2])); // redelivery: still pending, lastSent unchanged
  s = evolve(s, acked(1, 1, [99])); // ack of an unknown sequence: ignored
  assert.deepStrictEqual(subOf(s, 1, 1), { state: { ...sub(1), lastSent: 3 }, pending: [2] });
  s = evolve(s, deleted(1, 1)); // unsubscribe and close alike remove a plain sub
  assert.equal(s.channels.get(1)?.subs.size, 0);
});

test('durable: close keeps it offline with its pending, resume continues', () => {
  const d = sub(1, { durableName: 'dur', isDurable: true });
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, d), sent(1, 1, [1, 2, 3, 4, 5]), acked(1, 1, [1, 2, 3])]);
  // Close: stored with isClosed, clientID kept for the durable key (§3.6), then the client goes.
  s = evolve(s, updated(1, { ...d, isClosed: true, lastSent: 5 }));
  s = evolve(s, closeClient('c1'));
  const rec = toRecovered(s);
  assert.deepStrictEqual(rec.cleanup, []);
  assert.deepStrictEqual(rec.channels[0].subs, [{ state: { ...d, isClosed: true, lastSent: 5 }, pending: [4, 5] }]);
  // Resume by a new connection: new inboxes, the stored position and pending list remain.
  s = evolve(s, connect('c1', 7));
  s = evolve(s, updated(1, { ...d, inbox: 'new', ackInbox: 'newack', maxInFlight: 5, lastSent: 5 }));
  assert.deepStrictEqual(subOf(s, 1, 1), { state: { ...d, inbox: 'new', ackInbox: 'newack', maxInFlight: 5, lastSent: 5 }, pending: [4, 5] });
  s = evolve(s, sent(1, 1, [6]));
  assert.equal(subOf(s, 1, 1)?.state.lastSent, 6);
});

test('durable unsubscribe deletes it permanently', () => {
  const d = sub(1, { durableName: 'dur', isDurable: true });
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, d), sent(1, 1, [1])]);
  s = evolve(s, deleted(1, 1));
  s = evolve(s, closeClient('c1'));
  assert.deepStrictEqual(toRecovered(s).channels[0].subs, []);
  // Late progress for the deleted sub (batched in the same commit) is ignored.
  s = evolve(s, acked(1, 1, [1]));
  s = evolve(s, sent(1, 1, [2]));
  assert.equal(s.channels.get(1)?.subs.size, 0);
});

test('queue group: members join, messages round-robin, a leaving member hands its pending over', () => {
  const a = sub(1, { qGroup: 'workers', clientID: 'c1' });
  const b = sub(2, { qGroup: 'workers', clientID: 'c2' });
  let s = fold([init, connect('c1'), connect('c2'), channel(1, 'foo'), created(1, a), sent(1, 1, [1, 3]), created(1, { ...b, lastSent: 3 }), sent(1, 2, [2, 4])]);
  // Member leaves: its pending moves to the others (server records MsgsSent), then SubDeleted.
  s = evolve(s, sent(1, 2, [1, 3]));
  s = evolve(s, deleted(1, 1));
  assert.deepStrictEqual(subOf(s, 1, 2), { state: { ...b, lastSent: 4 }, pending: [1, 2, 3, 4] });
  // Last member of a non-durable group leaves: group gone.
  s = evolve(s, deleted(1, 2));
  assert.equal(s.channels.get(1)?.subs.size, 0);
});

test('durable queue group: the last member leaves a shadow, a new member takes it over', () => {
  const m = sub(1, { qGroup: 'dur:workers', isDurable: true });
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, m), sent(1, 1, [1, 2, 3]), acked(1, 1, [1])]);
  // Close of the last member: shadow (clientID "") with lastSent and pending (§3.6).
  s = evolve(s, updated(1, { ...m, clientID: '', lastSent: 3 }));
  s = evolve(s, closeClient('c1'));
  let rec = toRecovered(s);
  assert.deepStrictEqual(rec.cleanup, []);
  assert.deepStrictEqual(rec.channels[0].subs, [{ state: { ...m, clientID: '', lastSent: 3 }, pending: [2, 3] }]);
  // A member rejoins: takes over the shadow (its position and pending).
  s = evolve(s, connect('c9'));
  s = evolve(s, updated(1, { ...m, clientID: 'c9', inbox: 'i9', ackInbox: 'a9', lastSent: 3 }));
  rec = toRecovered(s);
  assert.deepStrictEqual(rec.channels[0].subs, [{ state: { ...m, clientID: 'c9', inbox: 'i9', ackInbox: 'a9', lastSent: 3 }, pending: [2, 3] }]);
  // Unsubscribe of the last member deletes the group.
  s = evolve(s, deleted(1, 1));
  assert.deepStrictEqual(toRecovered(s).channels[0].subs, []);
});

test('SubUpdated never moves lastSent backwards (batched MsgsSent may be appended after it)', () => {
  const d = sub(1, { durableName: 'd', isDurable: true });
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, d), sent(1, 1, [10])]);
  s = evolve(s, updated(1, { ...d, isClosed: true, lastSent: 8 }));
  assert.equal(subOf(s, 1, 1)?.state.lastSent, 10);
  assert.equal(subOf(s, 1, 1)?.state.isClosed, true);
});

test('evolve copies what it keeps: mutating the recorded SubState/connID later changes nothing', () => {
  const st = sub(1);
  const conn = connect('c1') as Extract<StoreEvent, { kind: EventKind.ClientConnected }>;
  const s = fold([init, conn, channel(1, 'foo'), created(1, st)]);
  st.lastSent = 999;
  st.clientID = 'mutated';
  conn.connID[0] = 77;
  assert.deepStrictEqual(subOf(s, 1, 1)?.state, sub(1));
  assert.equal(s.clients.get('c1')?.ConnID[0], 1);
});

// ---- max deliveries (docs/dead-letters.md): redelivery counts survive recovery


test('given a capped sub with redeliveries, when recovered, then its counts come back; an ack forgets one', () => {
  const base = [init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), sent(1, 1, [1, 2])];
  const s = fold([...base, redelivered(1, 1, 1, 1), redelivered(1, 1, 2, 1), redelivered(1, 1, 1, 2), acked(1, 1, [2])]);
  const rs = toRecovered(s).channels[0].subs[0];
  assert.deepEqual(rs.pending, [1]);
  assert.deepEqual([...(rs.redeliveries ?? new Map())], [[1, 2]]);
  // Replaying an older count does not lower it (absolute counts, max wins).
  const again = fold([redelivered(1, 1, 1, 1)], s);
  assert.deepEqual([...(toRecovered(again).channels[0].subs[0].redeliveries ?? new Map())], [[1, 2]]);
  // Without any MsgRedelivered the recovered sub has no counts (reference behaviour).
  assert.equal(toRecovered(fold(base)).channels[0].subs[0].redeliveries, undefined);
});

test('given a durable queue group whose ghost member had counts, when recovered, then the shadow carries the highest', () => {
  const q = (ID: number): SubState => sub(ID, { qGroup: 'd:g', isDurable: true, durableName: 'd', clientID: 'gone' });
  const s = fold([init, channel(1, 'foo'), created(1, q(1)), created(1, q(2)), sent(1, 1, [5]), sent(1, 2, [6]), redelivered(1, 1, 5, 2), redelivered(1, 2, 6, 3)]);
  const [shadow] = toRecovered(s).channels[0].subs;
  assert.deepEqual(shadow.pending, [5, 6]);
  assert.deepEqual([...(shadow.redeliveries ?? new Map())].sort((a, b) => a[0] - b[0]), [[5, 2], [6, 3]]);
});


test('given a pending message, when dead-lettered, then it leaves the pending set and counts once per channel, even replayed', () => {
  const s = fold([init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), sent(1, 1, [1, 2]), redelivered(1, 1, 1, 2), deadLettered(1, 1, 1, 3)]);
  const again = fold([deadLettered(1, 1, 1, 3)], s);
  const rc = toRecovered(again).channels[0];
  assert.deepEqual(rc.subs[0].pending, [2]);
  assert.equal(rc.subs[0].redeliveries, undefined);
  assert.equal(rc.deadLettered, 1);
  assert.equal(toRecovered(fold([init, channel(1, 'foo')])).channels[0].deadLettered, undefined);
});

test('snapshot: redelivery counts and dead-letter counts round-trip; a snapshot without them is unchanged', () => {
  const base = [init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), sent(1, 1, [1, 2, 3])];
  const plain = fold(base);
  const onlyDead = fold([...base, deadLettered(1, 1, 3, 2)]);
  assert.deepStrictEqual(decodeSnapshot(encodeSnapshot(onlyDead)), onlyDead);
  const withCounts = fold([...base, redelivered(1, 1, 2, 4), deadLettered(1, 1, 1, 2)]);
  const bytes = encodeSnapshot(withCounts);
  assert.ok(bytes.length > encodeSnapshot(plain).length);
  assert.deepStrictEqual(decodeSnapshot(bytes), withCounts);
  assert.deepStrictEqual(decodeSnapshot(encodeSnapshot(plain)), plain);
});

// ------------------------------------------------------------------ admin durable reset

test('given a durable at lastSent 8 with pending 7 and 8, when an operator resets it to lastSent 2, then it resumes after 2 with nothing pending', () => {
  const given: StoreEvent[] = [init, connect('c1'), channel(1, 'foo'), created(1, sub(1, { isDurable: true, durableName: 'd', lastSent: 6 }))];
  given.push({ kind: EventKind.MsgsSent, channelID: 1, subID: 1, seqs: [7, 8] });
  given.push(updated(1, sub(1, { isDurable: true, durableName: 'd', lastSent: 8 })));
  const state = fold([...given, { kind: EventKind.SubPositionReset, channelID: 1, subID: 1, lastSent: 2 }]);
  const s = state.channels.get(1)?.subs.get(1);
  assert.equal(s?.state.lastSent, 2);
  assert.deepEqual([...(s?.pending ?? [])], []);
});

test('given a reset durable, when a later SubUpdated (close) carries the reset position, then the position stays; progress after it counts again', () => {
  const d = (lastSent: number, patch: Partial<SubState> = {}): SubState => sub(1, { isDurable: true, durableName: 'd', lastSent, ...patch });
  const state = fold([
    init,
    connect('c1'),
    channel(1, 'foo'),
    created(1, d(10)),
    { kind: EventKind.SubPositionReset, channelID: 1, subID: 1, lastSent: 3 },
    updated(1, d(3, { isClosed: true })),
    { kind: EventKind.MsgsSent, channelID: 1, subID: 1, seqs: [4] },
  ]);
  const s = state.channels.get(1)?.subs.get(1);
  assert.equal(s?.state.lastSent, 4);
  assert.deepEqual([...(s?.pending ?? [])], [4]);
});

test('a reset of a subscription the state does not have (its channel was deleted) is ignored', () => {
  const state = fold([init, channel(1, 'foo'), { kind: EventKind.SubPositionReset, channelID: 1, subID: 99, lastSent: 3 }]);
  assert.equal(state.channels.get(1)?.subs.size, 0);
});

test('subscriptions with nothing pending share one empty set; the first MsgsSent gives a subscription its own', () => {
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), created(1, sub(2)), created(1, sub(3))]);
  s = evolve(s, sent(1, 1, [1, 2]));
  assert.deepStrictEqual(subOf(s, 1, 1)?.pending, [1, 2]);
  assert.deepStrictEqual(subOf(s, 1, 2)?.pending, [], 'a sibling created empty stays empty');
  // The same through a snapshot: empty pending sets come back shared, and still separate once sent to.
  let r = decodeSnapshot(encodeSnapshot(s));
  r = evolve(r, sent(1, 2, [3]));
  r = evolve(r, acked(1, 1, [1]));
  assert.deepStrictEqual(subOf(r, 1, 1)?.pending, [2]);
  assert.deepStrictEqual(subOf(r, 1, 2)?.pending, [3]);
  assert.deepStrictEqual(subOf(r, 1, 3)?.pending, []);
  // A new subscription after that starts empty too.
  r = evolve(r, created(1, sub(4)));
  assert.deepStrictEqual(subOf(r, 1, 4)?.pending, []);
  // Acks, resets and dead letters on an empty subscription change nothing.
  r = evolve(r, acked(1, 4, [3]));
  r = evolve(r, { kind: EventKind.SubPositionReset, channelID: 1, subID: 4, lastSent: 0 });
  assert.deepStrictEqual(subOf(r, 1, 3)?.pending, []);
  assert.deepStrictEqual(subOf(r, 1, 2)?.pending, [3]);
});
