/**
 * The event projection (src/store/events/projection.ts), basics: server info, clients, channels,
 * messages and limits, the recovery order of expiry events; robustness of a replay. The other
 * concerns: store-projection-subs (subscription kinds, max deliveries, admin reset),
 * store-projection-recovery (clean-up rule, toRecovered), store-projection-snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve } from '../../src/store/events/projection';
import { fold, init, connect, closeClient, channel, sub, created, updated, deleted, sent, acked, stored, subOf } from '../helpers/projection-events';

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

test('a sequence without a row (refused by the database) counts: the count is the span first..last, as the stores count in memory', () => {
  let s = fold([init, channel(1, 'foo')]);
  for (const seq of [1, 2, 4, 5]) s = evolve(s, stored(1, seq, 10));
  const ch = s.channels.get(1);
  assert.deepStrictEqual([ch?.firstSeq, ch?.lastSeq, ch?.msgCount, ch?.byteCount], [1, 5, 5, 40]);
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
