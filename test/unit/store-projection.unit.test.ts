import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { SubState } from '../../src/protocol/codec';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve, type ProjectedState } from '../../src/store/events/projection';
import { toRecovered } from '../../src/store/events/to-recovered';
import { SNAPSHOT_VERSION, SnapshotFormatError, decodeSnapshot, encodeSnapshot } from '../../src/store/events/snapshot';
import { decodeEvent, encodeEvent } from '../../src/store/events/event-codec';

// ------------------------------------------------------------------ helpers

function fold(events: StoreEvent[], state: ProjectedState = emptyState()): ProjectedState {
  for (const e of events) state = evolve(state, e);
  return state;
}

const init: StoreEvent = {
  kind: EventKind.ServerInit,
  clusterID: 'test-cluster',
  discovery: '_STAN.discover.test-cluster',
  publish: '_STAN.pub.X',
  subscribe: '_STAN.sub.X',
  unsubscribe: '_STAN.unsub.X',
  close: '_STAN.close.X',
  subClose: '_STAN.subclose.X',
  acksSubs: '_STAN.subacks.X',
};

function connect(clientID: string, connByte = 1): StoreEvent {
  return {
    kind: EventKind.ClientConnected,
    clientID,
    hbInbox: `_INBOX.hb.${clientID}`,
    connID: new Uint8Array([connByte, 2, 3]),
    protocol: 1,
    pingInterval: 5,
    pingMaxOut: 3,
  };
}
const closeClient = (clientID: string): StoreEvent => ({ kind: EventKind.ClientClosed, clientID });
const channel = (channelID: number, name: string): StoreEvent => ({ kind: EventKind.ChannelCreated, channelID, name });

function sub(ID: number, patch: Partial<SubState> = {}): SubState {
  return {
    ID,
    clientID: 'c1',
    qGroup: '',
    inbox: `_INBOX.${ID}`,
    ackInbox: `_STAN.ack.${ID}`,
    maxInFlight: 100,
    ackWaitInSecs: 30,
    durableName: '',
    lastSent: 0,
    isDurable: false,
    isClosed: false,
    ...patch,
  };
}
const created = (channelID: number, s: SubState): StoreEvent => ({ kind: EventKind.SubCreated, channelID, sub: s });
const updated = (channelID: number, s: SubState): StoreEvent => ({ kind: EventKind.SubUpdated, channelID, sub: s });
const deleted = (channelID: number, subID: number): StoreEvent => ({ kind: EventKind.SubDeleted, channelID, subID });
const sent = (channelID: number, subID: number, seqs: number[]): StoreEvent => ({ kind: EventKind.MsgsSent, channelID, subID, seqs });
const acked = (channelID: number, subID: number, seqs: number[]): StoreEvent => ({ kind: EventKind.MsgsAcked, channelID, subID, seqs });
const stored = (channelID: number, seq: number, size = 10): StoreEvent => ({
  kind: EventKind.MsgStored,
  channelID,
  seq,
  timestamp: seq * 1_000_000,
  size,
});

function subOf(state: ProjectedState, channelID: number, subID: number): { state: SubState; pending: number[] } | undefined {
  const p = state.channels.get(channelID)?.subs.get(subID);
  return p && { state: p.state, pending: [...p.pending].sort((a, b) => a - b) };
}

// ------------------------------------------------------------------ basics

test('empty state', () => {
  const s = emptyState();
  assert.equal(s.serverInfo, undefined);
  assert.equal(s.clients.size, 0);
  assert.equal(s.channels.size, 0);
  assert.equal(s.nextChannelID, 1);
  assert.equal(s.nextSubID, 1);
  assert.equal(s.lastEventID, 0);
  assert.notEqual(emptyState(), s, 'a fresh object every time');
});

test('ServerInit sets the server info; eventID advances lastEventID, never backwards', () => {
  let s = evolve(emptyState(), init, 5);
  assert.deepStrictEqual(s.serverInfo, {
    ClusterID: 'test-cluster',
    Discovery: '_STAN.discover.test-cluster',
    Publish: '_STAN.pub.X',
    Subscribe: '_STAN.sub.X',
    Unsubscribe: '_STAN.unsub.X',
    Close: '_STAN.close.X',
    SubClose: '_STAN.subclose.X',
    AcksSubs: '_STAN.subacks.X',
    NodeID: '',
  });
  assert.equal(s.lastEventID, 5);
  s = evolve(s, stored(1, 1)); // MsgStored rows have no event ID
  assert.equal(s.lastEventID, 5);
  s = evolve(s, closeClient('x'), 3);
  assert.equal(s.lastEventID, 5);
  s = evolve(s, closeClient('x'), 9);
  assert.equal(s.lastEventID, 9);
});

test('clients: connect, replace, close; subscriptions are not touched by ClientClosed', () => {
  let s = fold([init, connect('c1', 1), channel(1, 'foo'), created(1, sub(1))]);
  assert.deepStrictEqual([...s.clients.keys()], ['c1']);
  assert.deepStrictEqual(Array.from(s.clients.get('c1')?.ConnID ?? []), [1, 2, 3]);
  s = evolve(s, connect('c1', 9)); // replacement by a new connection with the same ID
  assert.equal(s.clients.size, 1);
  assert.deepStrictEqual(Array.from(s.clients.get('c1')?.ConnID ?? []), [9, 2, 3]);
  s = evolve(s, connect('c2'));
  s = evolve(s, closeClient('c1'));
  assert.deepStrictEqual([...s.clients.keys()], ['c2']);
  assert.ok(s.channels.get(1)?.subs.has(1), 'the server records the subs fate with their own events');
  s = evolve(s, closeClient('c1')); // twice: harmless
  assert.deepStrictEqual([...s.clients.keys()], ['c2']);
});

test('channels: create, delete with subs, IDs never reused, re-create by name', () => {
  let s = fold([init, connect('c1'), channel(1, 'foo'), channel(4, 'bar'), created(1, sub(1)), stored(1, 1)]);
  assert.equal(s.nextChannelID, 5);
  assert.equal(s.channelIDsByName.get('foo'), 1);
  assert.equal(s.channelIDsByName.get('bar'), 4);
  s = evolve(s, { kind: EventKind.ChannelDeleted, channelID: 1 });
  assert.equal(s.channels.has(1), false);
  assert.equal(s.channelIDsByName.has('foo'), false);
  assert.equal(s.nextChannelID, 5);
  s = evolve(s, channel(5, 'foo'));
  const foo = s.channels.get(5);
  assert.equal(foo?.subs.size, 0, 'subscriptions went with the deleted channel');
  assert.equal(foo?.lastSeq, 0);
  assert.equal(s.channelIDsByName.get('foo'), 5);
  // Replaying a creation does not reset the channel.
  s = evolve(s, stored(5, 1));
  s = evolve(s, channel(5, 'foo'));
  assert.equal(s.channels.get(5)?.lastSeq, 1);
  // A creation under a name still held by another ID: the latest creation wins.
  s = evolve(s, channel(9, 'bar'));
  assert.equal(s.channels.has(4), false);
  assert.equal(s.channelIDsByName.get('bar'), 9);
  assert.equal(s.nextChannelID, 10);
});

test('messages and limits: MsgStored counts, MsgsExpired sets absolute state, pending kept', () => {
  let s = fold([init, connect('c1'), channel(1, 'foo'), created(1, sub(1))]);
  for (let seq = 1; seq <= 10; seq++) s = evolve(s, stored(1, seq, 10));
  let ch = s.channels.get(1);
  assert.deepStrictEqual([ch?.firstSeq, ch?.lastSeq, ch?.msgCount, ch?.byteCount], [1, 10, 10, 100]);
  s = evolve(s, stored(1, 7)); // replayed row at or below lastSeq: already counted
  s = evolve(s, sent(1, 1, [2, 3, 8]));
  s = evolve(s, {
    kind: EventKind.MsgsExpired,
    channelID: 1,
    firstSeq: 6,
    removedMsgs: 5,
    removedBytes: 50,
    lastSeq: 10,
    msgCount: 5,
    byteCount: 50,
  });
  ch = s.channels.get(1);
  assert.deepStrictEqual([ch?.firstSeq, ch?.lastSeq, ch?.msgCount, ch?.byteCount], [6, 10, 5, 50]);
  assert.deepStrictEqual(subOf(s, 1, 1)?.pending, [2, 3, 8], 'pending below firstSeq is acked implicitly by the server later');
  s = evolve(s, stored(1, 11, 20));
  ch = s.channels.get(1);
  assert.deepStrictEqual([ch?.firstSeq, ch?.lastSeq, ch?.msgCount, ch?.byteCount], [6, 11, 6, 70]);
  // max_age expired everything: empty channel keeps its position, next message counts from it.
  s = evolve(s, { kind: EventKind.MsgsExpired, channelID: 1, firstSeq: 12, removedMsgs: 6, removedBytes: 70, lastSeq: 11, msgCount: 0, byteCount: 0 });
  s = evolve(s, stored(1, 12, 5));
  ch = s.channels.get(1);
  assert.deepStrictEqual([ch?.firstSeq, ch?.lastSeq, ch?.msgCount, ch?.byteCount], [12, 12, 1, 5]);
});

test('recovery order: expiry events replayed before the surviving rows give the live counts', () => {
  // Live: rows 1..200 stored, then limits remove 1..150 (rows deleted). Recovery replays the
  // MsgsExpired event first, then only the rows that still exist (151..200).
  const live = fold([init, channel(1, 'foo')]);
  for (let seq = 1; seq <= 200; seq++) evolve(live, stored(1, seq, seq));
  const bytesKept = Array.from({ length: 50 }, (_, i) => 151 + i).reduce((a, b) => a + b, 0);
  const expired: StoreEvent = {
    kind: EventKind.MsgsExpired,
    channelID: 1,
    firstSeq: 151,
    removedMsgs: 150,
    removedBytes: (150 * 151) / 2,
    lastSeq: 200,
    msgCount: 50,
    byteCount: bytesKept,
  };
  evolve(live, expired);
  for (let seq = 201; seq <= 210; seq++) evolve(live, stored(1, seq, 1));

  const recovered = fold([init, channel(1, 'foo'), expired]);
  for (let seq = 151; seq <= 210; seq++) evolve(recovered, stored(1, seq, seq <= 200 ? seq : 1));
  assert.deepStrictEqual(recovered.channels.get(1), live.channels.get(1));
  assert.deepStrictEqual(
    [live.channels.get(1)?.firstSeq, live.channels.get(1)?.lastSeq, live.channels.get(1)?.msgCount, live.channels.get(1)?.byteCount],
    [151, 210, 60, bytesKept + 10],
  );
});

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

// ------------------------------------------------------------------ robustness

test('events referencing unknown channels/subs are ignored; never throws on replay', () => {
  const orphans: StoreEvent[] = [
    created(42, sub(7)),
    updated(42, sub(8)),
    updated(1, sub(9)), // known channel, unknown sub
    deleted(42, 1),
    deleted(1, 12345),
    sent(42, 1, [1]),
    sent(1, 777, [1]),
    acked(42, 1, [1]),
    acked(1, 777, [1]),
    { kind: EventKind.MsgsExpired, channelID: 42, firstSeq: 5, removedMsgs: 4, removedBytes: 4, lastSeq: 5, msgCount: 1, byteCount: 1 },
    stored(42, 1),
    { kind: EventKind.ChannelDeleted, channelID: 42 },
    closeClient('nobody'),
  ];
  const base = [init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), sent(1, 1, [1])];
  const expected = fold(base);
  const s = fold([...base, ...orphans, ...orphans]);
  // Nothing but the ID counter moved: IDs seen in SubCreated/SubUpdated are never reused.
  assert.equal(s.nextSubID, 10);
  s.nextSubID = expected.nextSubID;
  assert.deepStrictEqual(s, expected);
});

test('replaying the same deletions and progress twice is idempotent', () => {
  const events = [init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), created(1, sub(2)), sent(1, 1, [1, 2]), acked(1, 1, [1]), deleted(1, 2), stored(1, 1), stored(1, 2)];
  const tail = [sent(1, 1, [1, 2]), acked(1, 1, [1]), deleted(1, 2), stored(1, 1), stored(1, 2), closeClient('c2')];
  assert.deepStrictEqual(fold([...events, ...tail]), fold(events));
});

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

// ------------------------------------------------------------------ snapshots

/**
 * A random but protocol-shaped history: clients come and go, channels are created and
 * deleted, subscriptions of every kind are created, closed, resumed and unsubscribed, messages
 * are stored, sent, acked and expired. Also tracks the surviving message rows, to check the
 * store's recovery order (events first, then rows).
 */
function simulate(count: number, seed: number): { events: StoreEvent[]; rows: Map<number, Map<number, number>> } {
  let a = seed >>> 0;
  const r = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const events: StoreEvent[] = [init];
  const state = fold(events); // the simulator's own view, to keep events plausible
  const rows = new Map<number, Map<number, number>>();
  const emit = (e: StoreEvent): void => {
    events.push(e);
    evolve(state, e);
  };
  let nextChannel = 1;
  let nextSub = 1;
  let nextClient = 1;
  while (events.length < count) {
    const x = r();
    const clients = [...state.clients.keys()];
    const chans = [...state.channels.values()];
    if (x < 0.05 || clients.length === 0) {
      emit(connect(`c${nextClient++}`, Math.floor(r() * 255)));
    } else if (x < 0.08) {
      const c = pick(clients);
      // The server records each sub's fate, then the client's removal.
      for (const ch of chans) {
        for (const p of ch.subs.values()) {
          if (p.state.clientID !== c) continue;
          if (p.state.qGroup !== '' && p.state.isDurable) emit(updated(ch.id, { ...p.state, clientID: '' }));
          else if (p.state.isDurable) emit(updated(ch.id, { ...p.state, isClosed: true }));
          else emit(deleted(ch.id, p.state.ID));
        }
      }
      emit(closeClient(c));
    } else if (x < 0.11 || chans.length === 0) {
      const id = nextChannel++;
      emit(channel(id, `ch.${id}`));
      rows.set(id, new Map());
    } else if (x < 0.12 && chans.length > 3) {
      const ch = pick(chans);
      emit({ kind: EventKind.ChannelDeleted, channelID: ch.id });
      rows.delete(ch.id);
    } else if (x < 0.2) {
      const ch = pick(chans);
      const kind = Math.floor(r() * 4);
      emit(
        created(
          ch.id,
          sub(nextSub++, {
            clientID: pick(clients),
            qGroup: kind >= 2 ? (kind === 3 ? 'dur:g' : 'g') : '',
            durableName: kind === 1 ? 'd' : '',
            isDurable: kind === 1 || kind === 3,
            lastSent: ch.lastSeq,
          }),
        ),
      );
    } else if (x < 0.23) {
      const ch = pick(chans);
      const subs = [...ch.subs.values()];
      if (subs.length > 0) emit(deleted(ch.id, pick(subs).state.ID));
    } else if (x < 0.45) {
      const ch = pick(chans);
      const n = 1 + Math.floor(r() * 5);
      for (let i = 0; i < n; i++) {
        const seq = ch.lastSeq + 1;
        const size = 10 + Math.floor(r() * 100);
        emit({ kind: EventKind.MsgStored, channelID: ch.id, seq, timestamp: seq * 1000, size });
        rows.get(ch.id)?.set(seq, size);
      }
    } else if (x < 0.7) {
      const ch = pick(chans);
      const subs = [...ch.subs.values()];
      if (subs.length > 0 && ch.lastSeq > 0) {
        const p = pick(subs);
        const from = Math.max(1, p.state.lastSent - 3);
        const seqs: number[] = [];
        for (let q = from; q <= Math.min(ch.lastSeq, from + Math.floor(r() * 20)); q++) seqs.push(q);
        if (seqs.length > 0) emit(sent(ch.id, p.state.ID, seqs));
      }
    } else if (x < 0.93) {
      const ch = pick(chans);
      const subs = [...ch.subs.values()].filter((p) => p.pending.size > 0);
      if (subs.length > 0) {
        const p = pick(subs);
        emit(acked(ch.id, p.state.ID, [...p.pending].filter(() => r() < 0.7)));
      }
    } else {
      const ch = pick(chans);
      const chRows = rows.get(ch.id);
      if (chRows && ch.msgCount > 2) {
        const drop = 1 + Math.floor(r() * (ch.msgCount - 1));
        let removedMsgs = 0;
        let removedBytes = 0;
        let firstSeq = ch.firstSeq;
        while (removedMsgs < drop) {
          const size = chRows.get(firstSeq);
          if (size !== undefined) {
            removedMsgs++;
            removedBytes += size;
            chRows.delete(firstSeq);
          }
          firstSeq++;
        }
        emit({
          kind: EventKind.MsgsExpired,
          channelID: ch.id,
          firstSeq,
          removedMsgs,
          removedBytes,
          lastSeq: ch.lastSeq,
          msgCount: ch.msgCount - removedMsgs,
          byteCount: ch.byteCount - removedBytes,
        });
      }
    }
  }
  return { events, rows };
}

test('snapshot at event N then events N+1..M equals replaying all M events (compaction property)', () => {
  const { events } = simulate(6000, 1234);
  const all = fold(events);
  assert.ok(all.channels.size > 3 && [...all.channels.values()].some((c) => c.subs.size > 0), 'the history is not trivial');
  for (const n of [0, 1, 17, 500, 2999, 5000, events.length]) {
    const atN = fold(events.slice(0, n));
    const restored = decodeSnapshot(encodeSnapshot(atN));
    assert.deepStrictEqual(restored, atN, `snapshot round-trip at ${n}`);
    const resumed = fold(events.slice(n), restored);
    assert.deepStrictEqual(resumed, all, `snapshot at ${n} + replay`);
    assert.deepStrictEqual(encodeSnapshot(resumed), encodeSnapshot(all), `identical snapshot bytes at ${n}`);
    assert.deepStrictEqual(toRecovered(resumed), toRecovered(all));
  }
});

test('store recovery order (snapshot, events after it, then surviving rows above it) equals the live state', () => {
  const { events, rows } = simulate(6000, 99);
  const live = fold(events);
  for (const n of [0, 1000, 3000, 5999]) {
    const snap = decodeSnapshot(encodeSnapshot(fold(events.slice(0, n))));
    const lastSeqAtSnap = new Map([...snap.channels.values()].map((c) => [c.id, c.lastSeq]));
    // stan_events holds every event but MsgStored; the rows are read afterwards.
    for (const e of events.slice(n)) if (e.kind !== EventKind.MsgStored) evolve(snap, e);
    for (const ch of snap.channels.values()) {
      const above = lastSeqAtSnap.get(ch.id) ?? 0;
      const chRows = [...(rows.get(ch.id) ?? new Map<number, number>()).entries()].filter(([seq]) => seq > above).sort((x, y) => x[0] - y[0]);
      for (const [seq, size] of chRows) evolve(snap, { kind: EventKind.MsgStored, channelID: ch.id, seq, timestamp: seq * 1000, size });
    }
    assert.deepStrictEqual(snap, live, `recovery from snapshot at ${n}`);
  }
});

test('snapshot format: version byte, refusal of unknown versions and of damaged bytes', () => {
  const s = fold([init, connect('c1'), channel(1, 'foo'), created(1, sub(1)), sent(1, 1, [1, 2, 3])]);
  const bytes = encodeSnapshot(s);
  assert.equal(bytes[0], SNAPSHOT_VERSION);
  const future = Buffer.from(bytes);
  future[0] = SNAPSHOT_VERSION + 1;
  assert.throws(() => decodeSnapshot(future), (err: unknown) => err instanceof SnapshotFormatError && /format version 2 is not supported/.test(err.message));
  assert.throws(() => decodeSnapshot(new Uint8Array(0)), SnapshotFormatError);
  for (let n = 1; n < bytes.length; n++) assert.throws(() => decodeSnapshot(bytes.subarray(0, n)), SnapshotFormatError, `truncated to ${n}`);
  assert.throws(() => decodeSnapshot(Buffer.concat([bytes, Buffer.from([0])])), /trailing/);
  // Empty store state (no server info) round-trips too.
  assert.deepStrictEqual(decodeSnapshot(encodeSnapshot(emptyState())), emptyState());
});

test('snapshot scale: 100,000 subscriptions on 1,000 channels (times printed)', () => {
  const s = evolve(emptyState(), init);
  for (let c = 0; c < 500; c++) evolve(s, connect(`client-${c}`));
  let subID = 1;
  let pendingTotal = 0;
  for (let c = 1; c <= 1000; c++) {
    evolve(s, channel(c, `orders.region-${c}`));
    const ch = s.channels.get(c);
    if (ch === undefined) throw new Error('channel');
    Object.assign(ch, { firstSeq: 1, lastSeq: 1_000_000 + c, msgCount: 1_000_000 + c, byteCount: 128_000_000 });
    for (let k = 0; k < 100; k++) {
      const kind = k % 4;
      const id = subID++;
      evolve(
        s,
        created(
          c,
          sub(id, {
            clientID: `client-${id % 500}`,
            qGroup: kind >= 2 ? (kind === 3 ? 'dur:workers' : 'workers') : '',
            durableName: kind === 1 ? 'durable' : '',
            isDurable: kind === 1 || kind === 3,
            inbox: `_INBOX.${id.toString(36).padStart(22, 'x')}`,
            ackInbox: `_STAN.acks.${id.toString(36).padStart(22, 'y')}`,
          }),
        ),
      );
      // Pending lists: most subs a short run, some strided (queue members), some empty.
      const base = 1_000_000 - (id % 5000);
      const seqs: number[] = [];
      const n = id % 3 === 0 ? 0 : id % 7;
      for (let q = 0; q < n; q++) seqs.push(base + q * (kind >= 2 ? 3 : 1));
      pendingTotal += seqs.length;
      if (seqs.length > 0) evolve(s, sent(c, id, seqs));
    }
  }
  let t0 = performance.now();
  const bytes = encodeSnapshot(s);
  const encMs = performance.now() - t0;
  t0 = performance.now();
  const back = decodeSnapshot(bytes);
  const decMs = performance.now() - t0;
  console.log(
    `# snapshot of ${subID - 1} subs, ${s.channels.size} channels, ${s.clients.size} clients, ${pendingTotal} pending: ` +
      `${(bytes.length / 1e6).toFixed(2)} MB, encode ${encMs.toFixed(0)} ms, decode ${decMs.toFixed(0)} ms`,
  );
  assert.equal(back.channels.size, 1000);
  assert.deepStrictEqual(back, s);
});

test('a batch appended twice in a row (a retried commit that had landed) replays to the state of one', () => {
  const before: StoreEvent[] = [init, connect('c1'), connect('old'), channel(1, 'foo'), created(1, sub(1, { isDurable: true, durableName: 'd' })), sent(1, 1, [1, 2])];
  const batches: StoreEvent[][] = [
    // acks, new deliveries, an update
    [acked(1, 1, [1]), sent(1, 1, [3, 4]), updated(1, sub(1, { isDurable: true, durableName: 'd', lastSent: 4 }))],
    // a client leaves, its durable goes offline, another connects
    [closeClient('c1'), updated(1, sub(1, { isDurable: true, durableName: 'd', isClosed: true, lastSent: 2 })), connect('c2', 9)],
    // a channel and a subscription come and go within the batch
    [channel(2, 'bar'), created(2, sub(2)), sent(2, 2, [1]), deleted(2, 2), { kind: EventKind.ChannelDeleted, channelID: 2 }],
    // a channel replaced under the same name, a subscription deleted
    [deleted(1, 1), { kind: EventKind.ChannelDeleted, channelID: 1 }, channel(3, 'foo'), created(3, sub(3))],
    // limits
    [{ kind: EventKind.MsgsExpired, channelID: 1, firstSeq: 3, removedMsgs: 2, removedBytes: 20, lastSeq: 4, msgCount: 2, byteCount: 20 }, closeClient('old')],
  ];
  for (const [i, b] of batches.entries()) {
    const once = fold(b, fold(before));
    const twice = fold(b, fold(b, fold(before)));
    assert.deepEqual(toRecovered(twice), toRecovered(once), `batch ${i}`);
    assert.equal(twice.nextChannelID, once.nextChannelID, `batch ${i}: channel IDs`);
    assert.equal(twice.nextSubID, once.nextSubID, `batch ${i}: subscription IDs`);
  }
});

// ---- max deliveries (docs/dead-letters.md): redelivery counts survive recovery

const redelivered = (channelID: number, subID: number, seq: number, count: number): StoreEvent => ({ kind: EventKind.MsgRedelivered, channelID, subID, seq, count });

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

const deadLettered = (channelID: number, subID: number, seq: number, deliveries: number): StoreEvent => ({ kind: EventKind.MsgDeadLettered, channelID, subID, seq, deliveries });

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

test('snapshot decode: client IDs, durable names and queue groups (one shared string each) come back right', () => {
  const s = fold([
    init,
    connect('c1'),
    channel(1, 'foo'),
    created(1, sub(1, { durableName: 'dur', isDurable: true })),
    created(1, sub(2, { durableName: 'dur', isDurable: true, clientID: 'c1' })),
    created(1, sub(3, { qGroup: 'g' })),
    created(1, sub(4, { qGroup: 'g' })),
  ]);
  const r = decodeSnapshot(encodeSnapshot(s));
  const subs = [...(r.channels.get(1)?.subs.values() ?? [])].map((x) => x.state);
  assert.equal(subs.length, 4);
  assert.deepStrictEqual(
    subs.map((x) => [x.clientID, x.durableName, x.qGroup, x.inbox]),
    [
      ['c1', 'dur', '', '_INBOX.1'],
      ['c1', 'dur', '', '_INBOX.2'],
      ['c1', '', 'g', '_INBOX.3'],
      ['c1', '', 'g', '_INBOX.4'],
    ],
  );
});
