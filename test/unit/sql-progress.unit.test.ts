import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve, type ProjectedState } from '../../src/store/events/projection';
import { ProgressCoalescer } from '../../src/store/sql/progress';

type Op = { ch: number; sub: number; sent: boolean; seq: number };

/** A projection with channels 1..2 and subscriptions 1..3 on each. */
function base(): ProjectedState {
  let s = emptyState();
  for (const ch of [1, 2]) {
    s = evolve(s, { kind: EventKind.ChannelCreated, channelID: ch, name: `ch${ch}` });
    for (const id of [1, 2, 3]) {
      s = evolve(s, {
        kind: EventKind.SubCreated,
        channelID: ch,
        sub: { ID: id, clientID: 'c', qGroup: '', inbox: 'i', ackInbox: `a${ch}.${id}`, maxInFlight: 100, ackWaitInSecs: 30, durableName: '', lastSent: 0, isDurable: false, isClosed: false },
      });
    }
  }
  return s;
}

/** Pending set and lastSent of every subscription, for comparison. */
function view(s: ProjectedState): string {
  const out: string[] = [];
  for (const [chID, ch] of s.channels) {
    for (const [id, sub] of ch.subs) out.push(`${chID}/${id} last=${sub.state.lastSent} pending=${[...sub.pending].sort((a, b) => a - b).join(',')}`);
  }
  return out.join('\n');
}

/** The log as it was before coalescing: one event per recorded call, in call order. */
function oneByOne(ops: Op[]): StoreEvent[] {
  return ops.map((o) => ({ kind: o.sent ? EventKind.MsgsSent : EventKind.MsgsAcked, channelID: o.ch, subID: o.sub, seqs: [o.seq] }));
}

function coalesced(ops: Op[], flushEvery: number): StoreEvent[] {
  const c = new ProgressCoalescer();
  const events: StoreEvent[] = [];
  ops.forEach((o, i) => {
    c.record(o.ch, o.sub, o.sent, o.seq);
    if ((i + 1) % flushEvery === 0) c.flushInto(events);
  });
  c.flushInto(events);
  return events;
}

function fold(events: StoreEvent[]): ProjectedState {
  let s = base();
  for (const e of events) s = evolve(s, e);
  return s;
}

/** Deterministic pseudo-random numbers (no flaky test). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

test('a catch-up batch (acks and sends alternating) becomes one MsgsSent and one MsgsAcked', () => {
  const ops: Op[] = [];
  let next = 1;
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 50; i++) ops.push({ ch: 1, sub: 1, sent: true, seq: next++ });
    for (let i = 0; i < 40; i++) ops.push({ ch: 1, sub: 1, sent: false, seq: next - 50 + i });
  }
  const events = coalesced(ops, Infinity);
  assert.deepEqual(events.map((e) => e.kind), [EventKind.MsgsSent, EventKind.MsgsAcked]);
  assert.equal(view(fold(events)), view(fold(oneByOne(ops))));
});

test('an ack followed by a re-send of the same sequence stays pending (new segment)', () => {
  const ops: Op[] = [
    { ch: 1, sub: 1, sent: true, seq: 5 },
    { ch: 1, sub: 1, sent: false, seq: 5 },
    { ch: 1, sub: 1, sent: true, seq: 5 },
  ];
  const s = fold(coalesced(ops, Infinity));
  assert.deepEqual([...(s.channels.get(1)?.subs.get(1)?.pending ?? [])], [5]);
  assert.equal(view(s), view(fold(oneByOne(ops))));
});

test('random sends, acks and re-sends over several subscriptions fold to the same state as one event per call', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rng(seed);
    const ops: Op[] = [];
    const sentSoFar = new Map<string, number[]>();
    const last = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const ch = 1 + Math.floor(r() * 2);
      const sub = 1 + Math.floor(r() * 3);
      const key = `${ch}/${sub}`;
      const list = sentSoFar.get(key) ?? [];
      const x = r();
      let seq: number;
      let sent: boolean;
      if (x < 0.45 || list.length === 0) {
        // New delivery (ascending), or a re-send of an older one (queue move, redelivery record).
        sent = true;
        if (x < 0.35 || list.length === 0) {
          seq = (last.get(key) ?? 0) + 1 + Math.floor(r() * 2);
          last.set(key, seq);
        } else seq = list[Math.floor(r() * list.length)];
        list.push(seq);
        sentSoFar.set(key, list);
      } else {
        sent = false;
        seq = list[Math.floor(r() * list.length)];
      }
      ops.push({ ch, sub, sent, seq });
    }
    const expected = view(fold(oneByOne(ops)));
    for (const every of [1, 7, 50, Infinity]) {
      assert.equal(view(fold(coalesced(ops, every))), expected, `seed ${seed}, flush every ${every}`);
    }
  }
});
