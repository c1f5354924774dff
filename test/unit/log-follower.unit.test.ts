/**
 * The warm follower's tailing rules (src/store/events/log-follower.ts) against a fake event
 * log and a fake clock: pages bounded by event ID, a takeover that replays only the tail,
 * snapshot compaction under the follower, events that become visible below its position,
 * an empty database, and the poll loop (interval, failures, stop).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve, type ProjectedState } from '../../src/store/events/projection';
import { FollowLoop, LogFollower, type EventLogSource, type LogBase, type LoggedEvent } from '../../src/store/events/log-follower';
import { FakeClock, settle } from '../helpers/fake-clock';

/** An in-memory stan_events + stan_snapshots, with commits that can become visible late. */
class FakeLog implements EventLogSource {
  private nextID = 1;
  /** Every committed event, including those a snapshot deleted (for the expected state). */
  private readonly history = new Map<number, StoreEvent>();
  private readonly visible = new Map<number, StoreEvent>();
  private readonly hidden = new Map<number, StoreEvent>();
  private snap: { mark: number } | undefined;
  initialised = true;
  failNext = 0;
  pagesRead: number[] = [];

  append(...events: StoreEvent[]): void {
    for (const e of events) {
      const id = this.nextID++;
      this.history.set(id, e);
      this.visible.set(id, e);
    }
  }

  /** Takes an ID now and commits later (a transaction that commits after a later one). */
  reserve(e: StoreEvent): () => void {
    const id = this.nextID++;
    this.hidden.set(id, e);
    return () => {
      this.hidden.delete(id);
      this.history.set(id, e);
      this.visible.set(id, e);
    };
  }

  /** writeSnapshot's effect: mark = newest event, and the events it covers are deleted. */
  snapshot(): void {
    const mark = Math.max(0, ...this.visible.keys());
    this.snap = { mark };
    for (const id of [...this.visible.keys()]) if (id <= mark) this.visible.delete(id);
  }

  /** The state a full recovery computes now: every committed event folded in ID order. */
  full(): ProjectedState {
    let s = emptyState();
    for (const id of [...this.history.keys()].sort((a, b) => a - b)) s = evolve(s, this.history.get(id) as StoreEvent, id);
    return s;
  }

  private failing(): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('connection refused');
    }
  }

  async loadBase(): Promise<LogBase | undefined> {
    this.failing();
    if (!this.initialised) return undefined;
    if (this.snap === undefined) return { state: emptyState(), mark: 0 };
    let s = emptyState();
    const mark = this.snap.mark;
    for (const id of [...this.history.keys()].sort((a, b) => a - b)) if (id <= mark) s = evolve(s, this.history.get(id) as StoreEvent, id);
    return { state: s, mark };
  }

  async snapshotMark(): Promise<number> {
    return this.snap?.mark ?? 0;
  }

  async eventsAfter(afterID: number, limit: number): Promise<LoggedEvent[]> {
    this.failing();
    const ids = [...this.visible.keys()].filter((id) => id > afterID).sort((a, b) => a - b).slice(0, limit);
    this.pagesRead.push(ids.length);
    return ids.map((id) => ({ id, event: this.visible.get(id) as StoreEvent }));
  }

  async countEvents(afterID: number, upToID: number): Promise<number> {
    return [...this.visible.keys()].filter((id) => id > afterID && id <= upToID).length;
  }
}

const init: StoreEvent = { kind: EventKind.ServerInit, clusterID: 'c', discovery: 'd', publish: 'p', subscribe: 's', unsubscribe: 'u', close: 'cl', subClose: 'sc', acksSubs: 'a' };
const channel = (id: number): StoreEvent => ({ kind: EventKind.ChannelCreated, channelID: id, name: `ch${id}` });
const client = (n: number): StoreEvent => ({ kind: EventKind.ClientConnected, clientID: `c${n}`, hbInbox: 'hb', connID: new Uint8Array([n]), protocol: 1, pingInterval: 5, pingMaxOut: 3 });
const clients = (from: number, n: number): StoreEvent[] => Array.from({ length: n }, (_, i) => client(from + i));

test('given a log of 10 events and pages of 3, when the follower polls, then it folds all of them in 4 bounded pages', async () => {
  const log = new FakeLog();
  log.append(init, channel(1), ...clients(0, 8));
  const f = new LogFollower(log, 3);
  const r = await f.poll();
  assert.equal(r.applied, 10);
  assert.deepEqual(log.pagesRead, [3, 3, 3, 1]);
  assert.deepEqual(f.progress, { followed: 10, position: 10, base: 0 });
});

test('given a follower that followed N events, when it takes over after k more, then it replays only the k and its state is the full recovery', async () => {
  const log = new FakeLog();
  log.append(init, channel(1), ...clients(0, 50));
  const f = new LogFollower(log, 7);
  await f.poll();
  log.append(...clients(100, 5));
  await f.poll();
  log.append(...clients(200, 3));
  const h = await f.handover();
  assert.equal(h.fallback, undefined);
  assert.equal(h.followed, 57);
  assert.equal(h.replayed, 3);
  assert.deepEqual(h.state, log.full());
});

test('given a snapshot that compacted events the follower never read, when it polls, then it rebuilds from the snapshot and misses nothing', async () => {
  const log = new FakeLog();
  log.append(init, channel(1), ...clients(0, 5));
  const f = new LogFollower(log, 4);
  await f.poll();
  log.append(...clients(10, 6), channel(2));
  log.snapshot(); // deletes the 7 events above before the follower saw them
  log.append(...clients(20, 2));
  const r = await f.poll();
  assert.equal(r.rebased, true);
  assert.equal(f.rebases, 1);
  assert.equal(f.progress.base, 14);
  log.append(client(30));
  const h = await f.handover();
  assert.equal(h.fallback, undefined, 'the rebuild happened while following: the takeover only replays the tail');
  assert.equal(h.replayed, 1);
  assert.deepEqual(h.state, log.full());
});

test('given a compaction between the last poll and the takeover, when it takes over, then it says it recovered from the snapshot and the state is complete', async () => {
  const log = new FakeLog();
  log.append(init, ...clients(0, 5));
  const f = new LogFollower(log);
  await f.poll();
  log.append(...clients(10, 4));
  log.snapshot();
  log.append(...clients(20, 2));
  const h = await f.handover();
  assert.match(h.fallback ?? '', /snapshot compacted/);
  assert.equal(h.replayed, 2, 'the events after the new snapshot');
  assert.deepEqual(h.state, log.full());
});

test('given an event that became visible below the follower position, when it takes over, then the count check falls back to a full recovery', async () => {
  const log = new FakeLog();
  log.append(init, channel(1));
  const commitLate = log.reserve(client(1)); // id 3, committed after id 4
  log.append(client(2));
  const f = new LogFollower(log);
  await f.poll();
  assert.equal(f.progress.position, 4);
  commitLate();
  const h = await f.handover();
  assert.match(h.fallback ?? '', /holds 4 event\(s\) from event 0 to 4, this node folded 3: some were missed/);
  assert.equal(h.replayed, 4);
  assert.deepEqual(h.state, log.full());
  assert.ok(h.state?.clients.has('c1'));
});

test('given a database without STAN data, when polled and taken over, then there is no state (first start)', async () => {
  const log = new FakeLog();
  log.initialised = false;
  const f = new LogFollower(log);
  assert.deepEqual(await f.poll(), { applied: 0, rebased: false });
  const h = await f.handover();
  assert.equal(h.state, undefined);
});

test('given a follower that never polled, when it takes over, then it recovers in full and says so', async () => {
  const log = new FakeLog();
  log.append(init, ...clients(0, 3));
  const h = await new LogFollower(log).handover();
  assert.match(h.fallback ?? '', /nothing was followed/);
  assert.equal(h.replayed, 4);
  assert.deepEqual(h.state, log.full());
});

test('given the poll loop on a fake clock, when time passes, then it polls every interval, reports a failure once and its end, and stop() ends it', async () => {
  const clock = new FakeClock();
  const log = new FakeLog();
  log.append(init);
  const f = new LogFollower(log);
  const errors: boolean[] = [];
  let recovered = 0;
  const loop = new FollowLoop(f, { intervalMs: 750, timers: clock, onError: (_e, first) => errors.push(first), onRecovered: () => recovered++ });
  loop.start();
  await clock.advance(0);
  await settle();
  assert.equal(f.progress.followed, 1);
  log.append(client(1));
  await clock.advance(749);
  await settle();
  assert.equal(f.progress.followed, 1, 'not before the interval');
  await clock.advance(1);
  await settle();
  assert.equal(f.progress.followed, 2);
  log.failNext = 2;
  await clock.advance(750);
  await settle();
  await clock.advance(750);
  await settle();
  assert.deepEqual(errors, [true, false]);
  log.append(client(2));
  await clock.advance(750);
  await settle();
  assert.equal(recovered, 1);
  assert.equal(f.progress.followed, 3);
  await loop.stop();
  assert.equal(clock.pendingTimers, 0);
  log.append(client(3));
  await clock.advance(5000);
  await settle();
  assert.equal(f.progress.followed, 3, 'no poll after stop');
});
