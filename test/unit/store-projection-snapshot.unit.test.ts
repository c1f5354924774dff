/**
 * Projection snapshots: compaction property, store recovery order, format, scale, retried
 * batches, and the decode of shared strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve } from '../../src/store/events/projection';
import { toRecovered } from '../../src/store/events/to-recovered';
import { SNAPSHOT_VERSION, SnapshotFormatError, decodeSnapshot, encodeSnapshot } from '../../src/store/events/snapshot';
import { fold, init, connect, closeClient, channel, sub, created, updated, deleted, sent, acked } from '../helpers/projection-events';

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

test('snapshot decode: UTF-8 names and inboxes beside ASCII ones, pending lists empty and not, come back exact', () => {
  // `n` keeps the names as they are, or makes them ASCII (the decoder's whole-body ASCII path).
  const history = (n: (s: string) => string): StoreEvent[] => [
    init,
    connect(n('clïent-ü')),
    connect('c2'),
    channel(1, n('chännel.é')),
    channel(2, 'plain'),
    created(1, sub(1, { clientID: n('clïent-ü'), durableName: n('dür'), isDurable: true, inbox: n('_INBOX.ü1'), ackInbox: n('_INBOX.äck1') })),
    created(1, sub(2, { clientID: 'c2', qGroup: n('grüppe'), inbox: '_INBOX.2', ackInbox: '_INBOX.ack2' })),
    created(2, sub(3, { clientID: 'c2', durableName: 'd', isDurable: true })),
    created(2, sub(4, { clientID: 'c2' })),
    sent(1, 2, [5, 6, 9]),
    sent(2, 4, [1]),
  ];
  const withUtf8 = fold(history((s) => s));
  const ascii = fold(history((s) => s.replace(/[^\x00-\x7f]/g, 'x')));
  for (const s of [withUtf8, ascii]) {
    const back = decodeSnapshot(encodeSnapshot(s));
    for (const [id, ch] of s.channels) {
      const got = back.channels.get(id);
      assert.equal(got?.name, ch.name);
      assert.deepStrictEqual(
        [...(got?.subs.values() ?? [])].map((x) => [x.state, [...x.pending]]),
        [...ch.subs.values()].map((x) => [x.state, [...x.pending]]),
      );
    }
    assert.deepStrictEqual([...back.clients.keys()], [...s.clients.keys()]);
  }
  assert.equal(withUtf8.channels.get(1)?.subs.get(1)?.state.durableName, 'dür', 'the fixture has non-ASCII strings');
  assert.equal(ascii.channels.get(1)?.subs.get(1)?.state.durableName, 'dxr');
});
